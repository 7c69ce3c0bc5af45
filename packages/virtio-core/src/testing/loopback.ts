/**
 * A trivial device for tests: queue 0 carries bytes from the driver (device-readable
 * buffers), queue 1 returns them (device-writable buffers), so a driver/device queue pair can
 * be exercised end to end through the transport. Everything the device takes from the guest
 * is logged with its provenance tags, which lets a fuzzer check that only bytes of valid
 * chains ever leave the guest.
 *
 * Back-pressure: the device holds at most `capacity` bytes between the queues, and takes a
 * transmit chain only when `accepts(readableLength)` says so — the one statement of the rule,
 * which oracles read too. Notifications are only hints (reference virtio §1.6), so a chain
 * the device refuses stays available; the device retries transmit as soon as it has freed
 * space by filling receive buffers in the same notification.
 */

import type { DescriptorChain } from "../chain.js";
import { copyFromSegments, copyToSegments } from "../chain.js";
import { Feature, featureBit } from "../constants.js";
import type { ConfigWidth, VirtioDevice, VirtioDeviceHost } from "../device.js";
import { finding } from "../profile.js";
import type { SplitVirtqueue } from "../virtqueue.js";

export interface LoopbackDeviceOptions {
  /** DeviceID to report; default 0x3fff (not a real device type). */
  readonly deviceId?: number;
  /** Offered features; default VERSION_1 | INDIRECT_DESC | EVENT_IDX. */
  readonly features?: bigint;
  /** QueueNumMax of both queues; default 256. */
  readonly queueMaxSize?: number;
  /** Bytes the device may hold between queue 0 and queue 1; default 1 MiB. */
  readonly capacity?: number;
  /**
   * A transmit chain larger than `capacity`, which can never fit: `"when-idle"` (default) takes
   * it once nothing is held, as a device transmitting in parts would (reference virtio §6.3
   * "TX chain larger than the serial queue: accept"); `"never"` refuses it for good, libvmm's
   * release-build L4 stall, so transmit wedges on it.
   */
  readonly oversizeChains?: OversizeRule;
  /** Called with each chain just before the device reads or writes its buffers (test oracles). */
  readonly onTake?: (queueIndex: number, chain: DescriptorChain, queue: SplitVirtqueue) => void;
}

/** What the device does with a transmit chain larger than its capacity. */
export type OversizeRule = "when-idle" | "never";

/** Queue indices of the loopback device. */
export const LOOPBACK_TX = 0;
export const LOOPBACK_RX = 1;

export class LoopbackDevice implements VirtioDevice {
  readonly deviceId: number;
  readonly vendorId = 0x554d4d56;
  readonly features: bigint;
  readonly queueMaxSizes: readonly number[];
  readonly capacity: number;
  readonly oversizeChains: OversizeRule;
  private readonly onTake: LoopbackDeviceOptions["onTake"];
  private hostRef: VirtioDeviceHost | undefined;
  private pending: number[] = [];
  private pendingTags: number[] = [];
  /** Every byte taken from a chain, in order, and its tag. */
  readonly taken: number[] = [];
  readonly takenTags: number[] = [];
  /** Chains consumed from queue 0 and filled on queue 1. */
  txChains = 0;
  rxChains = 0;
  /** Config space: word 0 = bytes looped (read-only), word 1 = scratch (read/write). */
  private scratch = 0;
  resets = 0;

  constructor(options: LoopbackDeviceOptions = {}) {
    this.deviceId = options.deviceId ?? 0x3fff;
    this.features =
      options.features ??
      featureBit(Feature.VERSION_1) |
        featureBit(Feature.INDIRECT_DESC) |
        featureBit(Feature.EVENT_IDX);
    const max = options.queueMaxSize ?? 256;
    this.queueMaxSizes = [max, max];
    this.capacity = options.capacity ?? 1 << 20;
    this.oversizeChains = options.oversizeChains ?? "when-idle";
    this.onTake = options.onTake;
  }

  get host(): VirtioDeviceHost {
    if (this.hostRef === undefined) throw new Error("loopback device is not attached");
    return this.hostRef;
  }

  attach(host: VirtioDeviceHost): void {
    this.hostRef = host;
  }

  readConfig(offset: number, width: ConfigWidth): number | undefined {
    if (offset + width > 8) return undefined;
    const bytes = new Uint8Array(8);
    const view = new DataView(bytes.buffer);
    view.setUint32(0, this.taken.length >>> 0, true);
    view.setUint32(4, this.scratch, true);
    let value = 0;
    for (let i = width - 1; i >= 0; i--) value = value * 256 + bytes[offset + i]!;
    return value;
  }

  writeConfig(offset: number, width: ConfigWidth, value: number): boolean {
    if (offset !== 4 || width !== 4) return false;
    this.scratch = value >>> 0;
    return true;
  }

  reset(): void {
    this.resets++;
    this.pending = [];
    this.pendingTags = [];
    this.txBlocked = undefined;
  }

  queueNotify(_index: number): boolean {
    let used = false;
    // Transmit, then receive; transmit again only if it was refused and receive freed space.
    // Bounded: each retry follows a pass that used at least one of the ≤ N receive chains.
    for (let round = 0; ; round++) {
      const tx = this.host.queue(LOOPBACK_TX);
      this.txBlocked = undefined;
      if (tx !== undefined) used = this.drainTx(tx) || used;
      const held = this.pending.length;
      const rx = this.host.queue(LOOPBACK_RX);
      if (rx !== undefined) used = this.fillRx(rx) || used;
      const freed = this.pending.length < held;
      if (!freed || this.txBlocked === undefined || round >= (rx?.size ?? 0)) break;
    }
    let injected = true;
    if (used) injected = this.host.signalUsedBuffer();
    return injected;
  }

  /** Bytes waiting for receive buffers. */
  get backlog(): number {
    return this.pending.length;
  }

  /**
   * The back-pressure rule: whether the device takes a transmit chain of `bytes` readable
   * bytes now. Reads state only. A chain that fits beside the backlog is taken; one larger
   * than the capacity follows `oversizeChains`.
   */
  accepts(bytes: number): boolean {
    if (this.pending.length + bytes <= this.capacity) return true;
    return (
      bytes > this.capacity && this.oversizeChains === "when-idle" && this.pending.length === 0
    );
  }

  /** The readable length of the transmit chain the last transmit pass refused, if it did. */
  txBlocked: number | undefined;

  private drainTx(q: SplitVirtqueue): boolean {
    let used = false;
    // Bounded: at most one pass over the ring per notification (a notify storm costs O(N)).
    for (let budget = Math.max(q.size, 1); budget > 0; budget--) {
      const result = q.peekAvailable();
      if (result.kind !== "chain") {
        if (result.kind === "crash") this.host.crash(result.finding);
        break;
      }
      const chain = result.chain;
      if (!this.accepts(chain.readableLength)) {
        this.txBlocked = chain.readableLength;
        break;
      }
      this.onTake?.(LOOPBACK_TX, chain, q);
      if (!this.take(chain)) return used;
      q.skipAvailable();
      if (q.addUsed(chain.head, 0) !== undefined) return used;
      this.txChains++;
      used = q.needsInterrupt() || used;
    }
    return used;
  }

  private take(chain: DescriptorChain): boolean {
    for (const s of chain.readable) {
      if (!s.inRam) {
        this.host.crash(
          finding(
            "uncheckedGuestAddresses",
            "vmm-crash",
            `loopback read of buffer 0x${s.addr.toString(16)}`,
          ),
        );
        return false;
      }
    }
    const bytes = new Uint8Array(chain.readableLength);
    const tags = new Uint32Array(chain.readableLength);
    copyFromSegments(this.host.memory, chain.readable, 0, bytes, tags);
    for (let i = 0; i < bytes.length; i++) {
      this.pending.push(bytes[i]!);
      this.pendingTags.push(tags[i]!);
      this.taken.push(bytes[i]!);
      this.takenTags.push(tags[i]!);
    }
    return true;
  }

  private fillRx(q: SplitVirtqueue): boolean {
    let used = false;
    for (let budget = Math.max(q.size, 1); budget > 0 && this.pending.length > 0; budget--) {
      const result = q.peekAvailable();
      if (result.kind !== "chain") {
        if (result.kind === "crash") this.host.crash(result.finding);
        break;
      }
      const chain = result.chain;
      this.onTake?.(LOOPBACK_RX, chain, q);
      q.skipAvailable();
      if (chain.writable.some((s) => !s.inRam)) {
        this.host.crash(
          finding("uncheckedGuestAddresses", "vmm-crash", "loopback write outside ram"),
        );
        return used;
      }
      const n = Math.min(chain.writableLength, this.pending.length);
      const bytes = Uint8Array.from(this.pending.slice(0, n));
      const tags = Uint32Array.from(this.pendingTags.slice(0, n));
      copyToSegments(this.host.memory, chain.writable, 0, bytes, tags);
      this.pending.splice(0, n);
      this.pendingTags.splice(0, n);
      if (q.addUsed(chain.head, n) !== undefined) return used;
      this.rxChains++;
      used = q.needsInterrupt() || used;
    }
    return used;
  }
}
