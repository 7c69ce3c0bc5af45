/**
 * The VirtIO console device back end (VirtIO 1.2 §5.3) bridging each port to a pair of
 * sDDF serial queues: TX = guest transmitq → the port's sDDF TX queue (the device is its
 * producer), RX = the port's sDDF RX queue → guest receiveq buffers (the device is its
 * consumer). It plugs into @vmmux/virtio-core's `VirtioMmioTransport` as a `VirtioDevice`.
 *
 * `reference` switches reproduce libvmm's `console.c` (reference virtio §4.5, §4.8–§4.10,
 * sddf-serial §9). `hardened` transfers oversize TX chains in parts with the double check,
 * resumes TX on virt_tx's signal, back-pressures RX and keeps input that arrives before the
 * guest is ready; it also offers F_SIZE, F_EMERG_WRITE and F_MULTIPORT.
 *
 * Everything a guest or a peer PD can do is contained: findings and counters, never a throw.
 */

import { isSddfQueueError, type SerialQueue } from "@vmmux/sddf-queues";
import {
  type BufferSegment,
  ChainError,
  type ConfigWidth,
  finding as coreFinding,
  type DefectFinding,
  type DescriptorChain,
  deviceFinding,
  Feature,
  featureBit,
  forEachSegmentSpan,
  hasFeature,
  type Profile,
  type SplitVirtqueue,
  type VirtioDevice,
  type VirtioDeviceHost,
} from "@vmmux/virtio-core";
import { isEmergencyWrite, readConfigBytes } from "./config.js";
import {
  BAD_PORT_ID,
  CONSOLE_DEVICE_ID,
  CONTROL_RX_QUEUE,
  CONTROL_TX_QUEUE,
  ConsoleFeature,
  ControlEvent,
  DEFAULT_QUEUE_SIZE,
  LIBVMM_VENDOR_ID,
  queueCount,
  queueRole,
  rxQueueOf,
  txQueueOf,
} from "./constants.js";
import { type ControlMessage, decodeControl, encodeControl } from "./control.js";
import { ConsoleError } from "./errors.js";
import {
  type ConsoleDefectName,
  type ConsoleDefectSwitches,
  type ConsoleFinding,
  type ConsoleImpact,
  consoleDefectsFor,
  consoleFinding,
} from "./profile.js";

/** One console port and the sDDF client queue pair it is bridged to. */
export interface ConsolePortSpec {
  /** The port's sDDF TX queue (this device is the producer, virt_tx the consumer). */
  readonly tx: SerialQueue;
  /** The port's sDDF RX queue (virt_rx the producer, this device the consumer). */
  readonly rx: SerialQueue;
  /** Announced with PORT_NAME under MULTIPORT. */
  readonly name?: string;
  /** Announced with CONSOLE_PORT under MULTIPORT; port 0 defaults to a console. */
  readonly console?: boolean;
}

/** What the hosting VMM does for the device: plain callbacks, no runtime dependency. */
export interface ConsoleHooks {
  /** `microkit_notify` on the port's channel to virt_tx. */
  notifyTx(port: number): void;
  /** `microkit_notify` on the port's channel to virt_rx. */
  notifyRx(port: number): void;
}

export interface VirtioConsoleOptions {
  readonly profile?: Profile;
  /** Per-defect overrides of the profile's console switches. */
  readonly defects?: Partial<ConsoleDefectSwitches>;
  /** The ports; `reference` (libvmm) supports exactly one. */
  readonly ports: readonly ConsolePortSpec[];
  readonly hooks: ConsoleHooks;
  /** QueueNumMax of every queue (libvmm: 128). */
  readonly queueSize?: number;
  /** libvmm build: a failed `assert` traps in `debug`, is evaluated and ignored in `release`. */
  readonly build?: "debug" | "release";
  /** Hardened feature offer; defaults: SIZE and EMERG_WRITE on, MULTIPORT when ports > 1. */
  readonly features?: {
    readonly size?: boolean;
    readonly emergWrite?: boolean;
    readonly multiport?: boolean;
  };
  /** Initial console size (F_SIZE). */
  readonly size?: { readonly cols: number; readonly rows: number };
  /** Hardened: bytes of input kept while the guest's RX queue is not ready (default 4096). */
  readonly preReadyLimit?: number;
  /** Provenance tag of F_EMERG_WRITE bytes (they come from a register, not guest memory). */
  readonly emergencyTag?: number;
  /**
   * Called where the real C code can be preempted between shared-memory steps that matter
   * (reference virtio §6.1 item 11): after seeing the sDDF TX queue full and before
   * requesting a signal, and after publishing the tail and before notifying virt_tx. A VMM
   * can charge time here; a test can run virt_tx here to explore the interleaving. It must
   * not call back into the device (signals to the VMM are delivered after it returns).
   */
  readonly preemptionPoint?: (site: ConsolePreemptionSite, port: number) => void;
}

/** Where {@link VirtioConsoleOptions.preemptionPoint} is called. */
export type ConsolePreemptionSite = "tx-full" | "tx-published";

/** Counters per port; every byte that is not delivered is counted somewhere here. */
export interface PortCounters {
  /** Bytes moved from guest TX chains into the sDDF TX queue. */
  txBytes: number;
  /** TX chains completed (returned used). */
  txChains: number;
  /** Times TX stopped because the sDDF TX queue was full. */
  txBlocked: number;
  /** Times a double-check re-check found space after the signal request. */
  txRecheckHits: number;
  /** Bytes delivered into guest RX buffers. */
  rxBytes: number;
  /** RX buffers returned used. */
  rxChains: number;
  /** Bytes discarded because the RX queue was not ready (reference, L14). */
  rxDiscardedNotReady: number;
  /** Bytes kept while the RX queue was not ready (hardened). */
  rxHeldBeforeReady: number;
  /** Bytes dropped because the pre-ready buffer was full (hardened). */
  rxOverflowBeforeReady: number;
  /** Emergency-write bytes (F_EMERG_WRITE) and those dropped on a full TX queue. */
  emergBytes: number;
  emergDropped: number;
}

interface PartialTx {
  readonly head: number;
  readonly segments: readonly BufferSegment[];
  readonly total: number;
  offset: number;
}

interface PortState {
  readonly spec: ConsolePortSpec;
  readonly counters: PortCounters;
  /** Hardened: the chain being transferred in parts. */
  txChain: PartialTx | undefined;
  /** Hardened: TX waits for virt_tx's signal. */
  txWaiting: boolean;
  /** Hardened: input kept before the guest was ready (bytes and their provenance tags). */
  held: number[];
  heldTags: number[];
  /** MULTIPORT: PORT_ADD sent / PORT_READY received / guest has it open. */
  added: boolean;
  guestReady: boolean;
  guestOpen: boolean;
}

/** Largest control message the device reads from a control buffer (a PORT_NAME is small). */
const CONTROL_READ_LIMIT = 4096;
/** Bound on chains handled per call: libvmm may reprocess up to 65535 stale slots (L15). */
const MAX_CHAINS_PER_CALL = 65536;

function emptyCounters(): PortCounters {
  return {
    txBytes: 0,
    txChains: 0,
    txBlocked: 0,
    txRecheckHits: 0,
    rxBytes: 0,
    rxChains: 0,
    rxDiscardedNotReady: 0,
    rxHeldBeforeReady: 0,
    rxOverflowBeforeReady: 0,
    emergBytes: 0,
    emergDropped: 0,
  };
}

/**
 * Consumer side of the sDDF RX queue, in bulk: copy up to `dst.length - at` bytes (and
 * their tags) from the slots `[head, tail)`, then publish the new head once per
 * contiguous run (sddf-serial §2.4 `serial_update_shared_head`).
 */
function dequeueInto(q: SerialQueue, dst: Uint8Array, dstTags: Uint32Array, at: number): number {
  let done = 0;
  const want = dst.length - at;
  while (done < want) {
    const n = Math.min(q.contiguousLength(), want - done);
    if (n === 0) break;
    const head = q.head;
    const slot = head & (q.capacity - 1);
    dst.set(q.data.subarray(slot, slot + n), at + done);
    if (q.tags !== undefined) dstTags.set(q.tags.subarray(slot, slot + n), at + done);
    q.updateSharedHead((head + n) >>> 0);
    done += n;
  }
  return done;
}

/** Sum of the lengths of `segments`. */
function lengthOf(segments: readonly BufferSegment[]): number {
  let n = 0;
  for (const s of segments) n += s.len;
  return n;
}

export class VirtioConsoleDevice implements VirtioDevice {
  readonly deviceId = CONSOLE_DEVICE_ID;
  readonly vendorId = LIBVMM_VENDOR_ID;
  readonly features: bigint;
  readonly queueMaxSizes: readonly number[];
  readonly profile: Profile;
  readonly defects: ConsoleDefectSwitches;
  readonly build: "debug" | "release";
  /** Findings of console defects, in order (bounded). */
  readonly findings: ConsoleFinding[] = [];
  readonly findingCounts = new Map<ConsoleDefectName, number>();
  /** Control messages from the guest that could not be decoded or made no sense. */
  controlMalformed = 0;
  /** sDDF queue errors caused by a peer PD (corrupt shared indices), contained. */
  peerErrors = 0;
  lastPeerError: string | undefined;
  /** Control messages the device decoded from the guest, in order (bounded). */
  readonly controlLog: ControlMessage[] = [];
  private readonly hooks: ConsoleHooks;
  private readonly ports: PortState[];
  private readonly multiport: boolean;
  private readonly preReadyLimit: number;
  private readonly emergencyTag: number;
  private readonly preemptionPoint:
    | ((site: ConsolePreemptionSite, port: number) => void)
    | undefined;
  private host: VirtioDeviceHost | undefined;
  private cols: number;
  private rows: number;
  /** Control messages waiting for a control receiveq buffer. */
  private readonly controlOut: Uint8Array[] = [];
  private crashedBy: ConsoleFinding | DefectFinding | undefined;

  constructor(options: VirtioConsoleOptions) {
    this.profile = options.profile ?? "hardened";
    this.defects = consoleDefectsFor(this.profile, options.defects);
    this.build = options.build ?? "release";
    this.hooks = options.hooks;
    if (options.ports.length === 0) {
      throw new ConsoleError("options-invalid", "a console needs at least one port");
    }
    const libvmm = this.defects.featuresLibvmm;
    if (libvmm && options.ports.length > 1) {
      throw new ConsoleError(
        "options-invalid",
        `libvmm's console has one port; ${options.ports.length} given`,
      );
    }
    const offer = options.features ?? {};
    this.multiport = !libvmm && (offer.multiport ?? options.ports.length > 1);
    if (!this.multiport && options.ports.length > 1) {
      throw new ConsoleError("options-invalid", "several ports need VIRTIO_CONSOLE_F_MULTIPORT");
    }
    let features = featureBit(Feature.VERSION_1);
    if (!libvmm) {
      if (offer.size ?? true) features |= featureBit(ConsoleFeature.SIZE);
      if (offer.emergWrite ?? true) features |= featureBit(ConsoleFeature.EMERG_WRITE);
      if (this.multiport) features |= featureBit(ConsoleFeature.MULTIPORT);
    }
    this.features = features;
    const size = options.queueSize ?? DEFAULT_QUEUE_SIZE;
    this.queueMaxSizes = new Array<number>(queueCount(options.ports.length, this.multiport)).fill(
      size,
    );
    this.ports = options.ports.map((spec) => ({
      spec,
      counters: emptyCounters(),
      txChain: undefined,
      txWaiting: false,
      held: [],
      heldTags: [],
      added: false,
      guestReady: false,
      guestOpen: false,
    }));
    this.cols = options.size?.cols ?? 80;
    this.rows = options.size?.rows ?? 24;
    this.preReadyLimit = options.preReadyLimit ?? 4096;
    this.emergencyTag = options.emergencyTag ?? 0;
    this.preemptionPoint = options.preemptionPoint;
  }

  /** Counters of port `port`. */
  counters(port = 0): Readonly<PortCounters> {
    return this.portState(port).counters;
  }

  /** The finding that would have killed the VMM, if any; the device then does nothing. */
  get crashed(): ConsoleFinding | DefectFinding | undefined {
    return this.crashedBy;
  }

  /** Bytes held for port `port` while its guest RX queue is not ready (hardened). */
  heldInput(port = 0): number {
    return this.portState(port).held.length;
  }

  /** Whether TX of `port` waits for virt_tx's signal (hardened) or for a kick (reference). */
  txWaiting(port = 0): boolean {
    const state = this.portState(port);
    return state.txWaiting;
  }

  /** MULTIPORT state of a port as the guest reported it. */
  portStatus(port: number): { added: boolean; guestReady: boolean; guestOpen: boolean } {
    const s = this.portState(port);
    return { added: s.added, guestReady: s.guestReady, guestOpen: s.guestOpen };
  }

  // ---- VirtioDevice ----------------------------------------------------------------------

  attach(host: VirtioDeviceHost): void {
    this.host = host;
  }

  readConfig(offset: number, width: ConfigWidth): number | undefined {
    // libvmm's get_device_config returns false: the access FAILs (L8).
    if (this.defects.featuresLibvmm) return undefined;
    return readConfigBytes(
      { cols: this.cols, rows: this.rows, maxNrPorts: this.ports.length },
      offset,
      width,
    );
  }

  writeConfig(offset: number, width: ConfigWidth, value: number): boolean {
    if (this.defects.featuresLibvmm) return false;
    // §5.3.5.1: accept emerg_wr at any time, even before feature negotiation; output the low byte.
    if (isEmergencyWrite(offset, width) && hasFeature(this.features, ConsoleFeature.EMERG_WRITE)) {
      this.emergencyWrite(value & 0xff);
      return true;
    }
    return false;
  }

  validateFeatures(features: bigint): boolean {
    return (features & ~this.features) === 0n;
  }

  queueNotify(index: number): boolean {
    return this.contained(() => {
      if (this.defects.notifyRunsBoth) return this.rxThenTx();
      const role = queueRole(index, this.ports.length, this.multiportNegotiated());
      switch (role.kind) {
        case "rx":
          return this.handleRx(role.port);
        case "tx":
          return this.handleTx(role.port);
        case "control-tx":
          return this.handleControlTx();
        case "control-rx":
          return this.flushControl();
        case "none":
          return true;
      }
    });
  }

  reset(): void {
    for (const state of this.ports) {
      state.txChain = undefined;
      state.txWaiting = false;
      state.added = false;
      state.guestReady = false;
      state.guestOpen = false;
      // Held input survives: Linux resets the device at probe, after early input arrived.
    }
    this.controlOut.length = 0;
  }

  // ---- entry points for the hosting VMM --------------------------------------------------

  /** virt_rx signalled the port's RX channel (libvmm: `virtio_console_queue_notify`). */
  serialRxSignalled(port = 0): boolean {
    return this.contained(() =>
      this.defects.notifyRunsBoth ? this.rxThenTx() : this.handleRx(port),
    );
  }

  /** virt_tx signalled the port's TX channel: it drained the queue and we asked for it. */
  serialTxSignalled(port = 0): boolean {
    return this.contained(() => {
      if (this.defects.txSignalIgnored) {
        // libvmm's example VMM: "Nothing to do" (reference §4.5).
        if (this.portState(port).txWaiting) {
          this.found("txSignalIgnored", "stall", `port ${port}: tx wake-up from virt_tx ignored`);
        }
        return true;
      }
      return this.handleTx(port);
    });
  }

  /**
   * The host terminal changed size (F_SIZE). Without MULTIPORT the config fields change and
   * a configuration-change notification follows (§5.3.6); with MULTIPORT a RESIZE control
   * message goes to each console port. Returns false when nothing could be announced.
   */
  resize(cols: number, rows: number): boolean {
    this.cols = cols & 0xffff;
    this.rows = rows & 0xffff;
    const host = this.host;
    if (host === undefined || this.crashedBy !== undefined) return false;
    if (!hasFeature(host.negotiatedFeatures, ConsoleFeature.SIZE)) return false;
    if (this.multiportNegotiated()) {
      this.ports.forEach((state, id) => {
        if (this.isConsolePort(id) && state.guestReady) {
          this.queueControl({
            id,
            event: ControlEvent.RESIZE,
            value: 0,
            size: { cols: this.cols, rows: this.rows },
          });
        }
      });
      return this.contained(() => this.flushControl());
    }
    return host.signalConfigChange();
  }

  // ---- TX --------------------------------------------------------------------------------

  private handleTx(port: number): boolean {
    return this.defects.txWholeChain ? this.txWhole(port) : this.txInParts(port);
  }

  /** libvmm `virtio_console_handle_tx` (reference §4.8). */
  private txWhole(port: number): boolean {
    const host = this.requireHost();
    const state = this.portState(port);
    if (this.defects.txQueueSelGate && host.queueSel !== txQueueOf(port)) return true;
    const q = host.queue(txQueueOf(port));
    if (q === undefined) return true;
    const txq = state.spec.tx;
    let transferred = false;
    for (let n = 0; n < MAX_CHAINS_PER_CALL; n++) {
      const peeked = q.peekAvailable();
      if (peeked.kind === "crash") return this.transportCrashed(peeked.finding);
      if (peeked.kind !== "chain") break;
      const chain = peeked.chain;
      if (chain.head >= q.size && this.defects.txBadHeadAssert) {
        // assert(read_data(...)) fails on the head itself (L5).
        const message = `port ${port}: tx head ${chain.head} is not below queue size ${q.size}`;
        if (this.build === "debug") return this.crash("txBadHeadAssert", message);
        this.found("txBadHeadAssert", "deviation", `${message}; returned with len 0`);
      }
      if (this.wrongDirection(port, chain, "transmit")) break;
      const segments = this.txSegments(chain.segments, chain.readable, chain.bad);
      const payload = lengthOf(segments);
      if (payload > txq.capacity && this.defects.txOversizeAssert) {
        const message = `port ${port}: tx chain ${chain.head} of ${payload} bytes exceeds the serial queue capacity ${txq.capacity}`;
        if (this.build === "debug") return this.crash("txOversizeAssert", message);
        // Release build: the assert is evaluated and ignored; the free-space check below
        // always fails, so this chain never leaves and TX is stalled for good.
        this.found("txOversizeAssert", "stall", message);
      }
      if (payload > txq.free()) {
        this.preemptionPoint?.("tx-full", port);
        txq.requestConsumerSignal();
        if (this.defects.txNoRecheck) {
          // libvmm stops here. Observing (not acting on) the space shows the lost wake-up.
          if (payload <= txq.free()) {
            this.found(
              "txNoRecheck",
              "stall",
              `port ${port}: virt_tx freed space before the signal request; tx waits anyway`,
            );
          }
        } else if (payload <= txq.free()) {
          txq.cancelConsumerSignal();
          state.counters.txRecheckHits++;
          continue;
        }
        state.txWaiting = true;
        state.counters.txBlocked++;
        break;
      }
      state.txWaiting = false;
      if (!this.copyTx(port, segments, 0, payload)) return false;
      if (this.crashedBy !== undefined) return false;
      q.addUsed(chain.head, 0);
      q.skipAvailable();
      state.counters.txChains++;
      transferred = true;
    }
    if (!transferred) return true;
    const injected = host.signalUsedBuffer();
    this.preemptionPoint?.("tx-published", port);
    this.hooks.notifyTx(port);
    return injected;
  }

  /**
   * Hardened TX: chains of any size move in parts as space allows. When the sDDF queue is
   * full the device requests a signal, then re-checks the free space (sddf-serial §3.2): a
   * consumer that drained the queue between our check and our request saw the old flag and
   * will not signal, so without the re-check TX would wait forever (§3.3).
   */
  private txInParts(port: number): boolean {
    const host = this.requireHost();
    const state = this.portState(port);
    const q = host.queue(txQueueOf(port));
    if (q === undefined) return true;
    const txq = state.spec.tx;
    let moved = 0;
    let used = false;
    state.txWaiting = false;
    for (let n = 0; n < MAX_CHAINS_PER_CALL; ) {
      if (state.txChain === undefined) {
        const popped = q.popAvailable();
        if (popped.kind === "crash") return this.transportCrashed(popped.finding);
        if (popped.kind !== "chain") break;
        n++;
        const chain = popped.chain;
        if (this.wrongDirection(port, chain, "transmit")) break;
        const segments = this.txSegments(chain.segments, chain.readable, chain.bad);
        state.txChain = { head: chain.head, segments, total: lengthOf(segments), offset: 0 };
      }
      const part = state.txChain;
      if (part.offset < part.total) {
        let free = txq.free();
        if (free === 0) {
          // virt_tx may run between the check and the request (another core, or a
          // preemption): it then sees no request and will not signal.
          this.preemptionPoint?.("tx-full", port);
          txq.requestConsumerSignal();
          if (!this.defects.txNoRecheck) free = txq.free();
          if (free === 0) {
            state.txWaiting = true;
            state.counters.txBlocked++;
            break;
          }
          txq.cancelConsumerSignal();
          state.counters.txRecheckHits++;
        }
        const count = Math.min(part.total - part.offset, free);
        if (!this.copyTx(port, part.segments, part.offset, count)) return false;
        part.offset += count;
        moved += count;
        continue;
      }
      q.addUsed(part.head, 0);
      state.txChain = undefined;
      state.counters.txChains++;
      used = true;
    }
    // Producer → consumer notifications are unconditional (sddf-serial §1).
    if (moved > 0) {
      this.preemptionPoint?.("tx-published", port);
      this.hooks.notifyTx(port);
    }
    if (used && q.needsInterrupt()) return host.signalUsedBuffer();
    return true;
  }

  /** Which buffers of a TX chain carry payload: all of them for libvmm, the readable ones otherwise. */
  private txSegments(
    all: readonly BufferSegment[],
    readable: readonly BufferSegment[],
    bad: boolean,
  ): readonly BufferSegment[] {
    if (bad) return [];
    return this.defects.directionUnchecked ? all : readable;
  }

  /**
   * Copy `count` bytes from logical offset `offset` of `segments` into the port's sDDF TX
   * queue, provenance tags included. Touching a buffer outside guest RAM is libvmm's L2 crash
   * (only `reference` queues hand such buffers out).
   */
  private copyTx(
    port: number,
    segments: readonly BufferSegment[],
    offset: number,
    count: number,
  ): boolean {
    const memory = this.requireHost().memory;
    const txq = this.portState(port).spec.tx;
    const bytes = new Uint8Array(count);
    const tags = new Uint32Array(count);
    let unmapped: BufferSegment | undefined;
    const done = forEachSegmentSpan(segments, offset, count, (s, skip, n, at) => {
      if (!s.inRam) {
        unmapped = s;
        return false;
      }
      memory.readInto(s.addr + skip, bytes.subarray(at, at + n), tags.subarray(at, at + n));
      return true;
    });
    if (unmapped !== undefined) return this.crashUnmapped(`port ${port}`, unmapped);
    const copied = txq.enqueueBatch(bytes.subarray(0, done), tags.subarray(0, done));
    this.portState(port).counters.txBytes += copied;
    return true;
  }

  // ---- RX --------------------------------------------------------------------------------

  /** libvmm `virtio_console_queue_notify`: RX, then TX (reference §4.5). */
  private rxThenTx(): boolean {
    const rxOk = this.handleRx(0);
    if (this.crashedBy !== undefined) return false;
    const txOk = this.handleTx(0);
    return rxOk && txOk;
  }

  /** Whether the guest can take input on `port` now (hardened adds MULTIPORT's PORT_READY). */
  private rxQueueFor(port: number): SplitVirtqueue | undefined {
    const host = this.requireHost();
    const q = host.queue(rxQueueOf(port));
    if (q === undefined) return undefined;
    if (this.multiportNegotiated() && !this.portState(port).guestReady) return undefined;
    return q;
  }

  /** libvmm `virtio_console_handle_rx` (reference §4.9) or its hardened counterpart. */
  private handleRx(port: number): boolean {
    const host = this.requireHost();
    const state = this.portState(port);
    const rxq = state.spec.rx;
    const q = this.rxQueueFor(port);
    let used = false;
    if (q === undefined) {
      this.inputWhileNotReady(port);
    } else {
      for (let n = 0; n < MAX_CHAINS_PER_CALL; n++) {
        if (state.held.length === 0 && rxq.empty()) break;
        const popped = q.popAvailable();
        if (popped.kind === "crash") return this.transportCrashed(popped.finding);
        if (popped.kind !== "chain") break;
        const chain = popped.chain;
        if (this.wrongDirection(port, chain, "receive")) break;
        const segments = chain.bad
          ? []
          : this.defects.directionUnchecked
            ? chain.segments
            : chain.writable;
        const written = this.fillRx(port, segments);
        if (written < 0) return false;
        q.addUsed(chain.head, written);
        state.counters.rxChains++;
        used = true;
      }
    }
    // Consumer side of the signalling protocol: wake virt_rx if it asked (sddf-serial §3.1).
    if (rxq.requireConsumerSignal()) {
      rxq.cancelConsumerSignal();
      this.hooks.notifyRx(port);
    }
    if (!used || q === undefined) return true;
    if (this.defects.notifyRunsBoth || q.needsInterrupt()) return host.signalUsedBuffer();
    return true;
  }

  /** Input arrives while the guest cannot take it: discard (libvmm L14) or keep, bounded. */
  private inputWhileNotReady(port: number): void {
    const state = this.portState(port);
    const rxq = state.spec.rx;
    let discarded = 0;
    for (let byte = rxq.dequeue(); byte !== undefined; byte = rxq.dequeue()) {
      if (this.defects.rxDiscardBeforeReady) {
        discarded++;
      } else if (state.held.length < this.preReadyLimit) {
        state.held.push(byte);
        state.heldTags.push(rxq.lastTag);
        state.counters.rxHeldBeforeReady++;
      } else {
        state.counters.rxOverflowBeforeReady++;
      }
    }
    if (discarded > 0) {
      state.counters.rxDiscardedNotReady += discarded;
      this.found(
        "rxDiscardBeforeReady",
        "loss",
        `port ${port}: ${discarded} input bytes discarded, receive queue not ready`,
      );
    }
  }

  /**
   * Fill one RX buffer greedily: held input first, then the sDDF RX queue, up to the
   * buffer's size. Returns the bytes written, or -1 when libvmm would have crashed.
   */
  private fillRx(port: number, segments: readonly BufferSegment[]): number {
    const state = this.portState(port);
    const rxq = state.spec.rx;
    // Never allocate more than there is to deliver: a hostile chain may claim gigabytes.
    const count = Math.min(lengthOf(segments), state.held.length + rxq.lengthConsumer());
    const bytes = new Uint8Array(count);
    const tags = new Uint32Array(count);
    const fromHeld = Math.min(count, state.held.length);
    if (fromHeld > 0) {
      bytes.set(state.held.splice(0, fromHeld));
      tags.set(state.heldTags.splice(0, fromHeld));
    }
    const filled = fromHeld + dequeueInto(rxq, bytes, tags, fromHeld);
    const memory = this.requireHost().memory;
    let done = 0;
    for (const s of segments) {
      if (done >= filled) break;
      const n = Math.min(s.len, filled - done);
      if (n === 0) continue;
      if (!s.inRam) {
        this.crashUnmapped(`port ${port}`, s);
        return -1;
      }
      memory.write(s.addr, bytes.subarray(done, done + n), tags.subarray(done, done + n));
      done += n;
    }
    state.counters.rxBytes += done;
    return done;
  }

  // ---- F_EMERG_WRITE ---------------------------------------------------------------------

  private emergencyWrite(byte: number): void {
    const state = this.portState(0);
    this.contained(() => {
      if (state.spec.tx.enqueue(byte, this.emergencyTag)) {
        state.counters.emergBytes++;
        this.hooks.notifyTx(0);
      } else {
        state.counters.emergDropped++;
      }
      return true;
    });
  }

  // ---- F_MULTIPORT control queues (§5.3.6.2, reference §3.4–§3.5) ------------------------

  private multiportNegotiated(): boolean {
    const host = this.host;
    return (
      this.multiport &&
      host !== undefined &&
      hasFeature(host.negotiatedFeatures, ConsoleFeature.MULTIPORT)
    );
  }

  private isConsolePort(id: number): boolean {
    return this.ports[id]?.spec.console ?? id === 0;
  }

  private handleControlTx(): boolean {
    const host = this.requireHost();
    const q = host.queue(CONTROL_TX_QUEUE);
    if (q === undefined) return true;
    let used = false;
    for (let n = 0; n < MAX_CHAINS_PER_CALL; n++) {
      const popped = q.popAvailable();
      if (popped.kind === "crash") return this.transportCrashed(popped.finding);
      if (popped.kind !== "chain") break;
      const chain = popped.chain;
      const length = Math.min(chain.readableLength, CONTROL_READ_LIMIT);
      const bytes = new Uint8Array(length);
      let done = 0;
      for (const s of chain.readable) {
        if (done >= length) break;
        const take = Math.min(s.len, length - done);
        // Only a transport with libvmm's unchecked addresses hands out such a buffer (L2).
        if (!s.inRam) return this.crashUnmapped("control transmitq", s);
        host.memory.readInto(s.addr, bytes.subarray(done, done + take));
        done += take;
      }
      q.addUsed(chain.head, 0);
      used = true;
      this.controlFromGuest(bytes);
    }
    if (used && q.needsInterrupt()) host.signalUsedBuffer();
    return this.flushControl();
  }

  /** Act on one control message from the driver (reference §3.5 steps 2, 4 and 6). */
  private controlFromGuest(bytes: Uint8Array): void {
    let message: ControlMessage;
    try {
      message = decodeControl(bytes);
    } catch {
      this.controlMalformed++;
      return;
    }
    if (this.controlLog.length < 1024) this.controlLog.push(message);
    switch (message.event) {
      case ControlEvent.DEVICE_READY:
        if (message.value !== 1) return;
        this.ports.forEach((state, id) => {
          if (state.added) return;
          state.added = true;
          this.queueControl({ id, event: ControlEvent.DEVICE_ADD, value: 0 });
        });
        return;
      case ControlEvent.PORT_READY: {
        const state = this.ports[message.id];
        if (state === undefined || !state.added) {
          this.controlMalformed++;
          return;
        }
        if (message.value !== 1 || state.guestReady) return;
        state.guestReady = true;
        const id = message.id;
        if (this.isConsolePort(id)) {
          this.queueControl({ id, event: ControlEvent.CONSOLE_PORT, value: 1 });
        }
        if (state.spec.name !== undefined) {
          this.queueControl({ id, event: ControlEvent.PORT_NAME, value: 1, name: state.spec.name });
        }
        this.queueControl({ id, event: ControlEvent.PORT_OPEN, value: 1 });
        return;
      }
      case ControlEvent.PORT_OPEN: {
        const state = this.ports[message.id];
        if (state === undefined || message.id === BAD_PORT_ID) {
          this.controlMalformed++;
          return;
        }
        state.guestOpen = message.value === 1;
        return;
      }
      default:
        // DEVICE_ADD, REMOVE, CONSOLE_PORT, RESIZE, PORT_NAME are device → driver only.
        this.controlMalformed++;
    }
  }

  private queueControl(message: ControlMessage): void {
    // Bounded: at most a handful per port, and a guest cannot make the device queue more.
    if (this.controlOut.length < 64 * this.ports.length)
      this.controlOut.push(encodeControl(message));
  }

  /** Deliver pending control messages into control receiveq buffers; then serve held input. */
  private flushControl(): boolean {
    const host = this.requireHost();
    const q = host.queue(CONTROL_RX_QUEUE);
    let ok = true;
    if (q !== undefined) {
      let used = false;
      while (this.controlOut.length > 0) {
        const popped = q.popAvailable();
        if (popped.kind === "crash") return this.transportCrashed(popped.finding);
        if (popped.kind !== "chain") break;
        const chain = popped.chain;
        const message = this.controlOut.shift()!;
        let done = 0;
        for (const s of chain.writable) {
          if (done >= message.length) break;
          const n = Math.min(s.len, message.length - done);
          if (!s.inRam) return this.crashUnmapped("control receiveq", s);
          host.memory.write(s.addr, message.subarray(done, done + n));
          done += n;
        }
        q.addUsed(chain.head, done);
        used = true;
      }
      if (used && q.needsInterrupt()) ok = host.signalUsedBuffer();
    }
    // A port that just became ready may have input waiting.
    this.ports.forEach((state, id) => {
      if (state.guestReady && (state.held.length > 0 || !state.spec.rx.empty())) {
        ok = this.handleRx(id) && ok;
      }
    });
    return ok;
  }

  // ---- containment and reporting ---------------------------------------------------------

  /**
   * §5.3.6.1: a transmitq holds device-readable buffers only and a receiveq device-writable
   * ones. A chain that breaks this puts the device in DEVICE_NEEDS_RESET (true: stop), or,
   * under libvmm's `directionUnchecked` (L15), is reported and used anyway (false).
   */
  private wrongDirection(
    port: number,
    chain: DescriptorChain,
    queue: "transmit" | "receive",
  ): boolean {
    const wrong = queue === "transmit" ? chain.writable.length : chain.readable.length;
    if (wrong === 0) return false;
    const kind = queue === "transmit" ? "device-writable" : "device-readable";
    const what = `port ${port}: ${queue} chain ${chain.head} has ${wrong} ${kind} buffers`;
    if (!this.defects.directionUnchecked) {
      this.requireHost().needsReset(new ChainError("chain-direction", what));
      return true;
    }
    const fate = queue === "transmit" ? "sent as data" : "written anyway";
    this.found("directionUnchecked", "deviation", `${what}, ${fate}`);
    return false;
  }

  private portState(port: number): PortState {
    const state = this.ports[port];
    if (state === undefined) {
      throw new ConsoleError("port-out-of-range", `port ${port} does not exist`);
    }
    return state;
  }

  private requireHost(): VirtioDeviceHost {
    if (this.host === undefined) {
      throw new ConsoleError("options-invalid", "console device is not attached to a transport");
    }
    return this.host;
  }

  /**
   * Run an entry point so that nothing a guest or peer does escapes as an exception: a
   * corrupt sDDF index from a peer PD is reported and the work stops.
   */
  private contained(work: () => boolean): boolean {
    if (this.crashedBy !== undefined) return false;
    try {
      return work();
    } catch (error) {
      if (isSddfQueueError(error)) {
        this.peerErrors++;
        this.lastPeerError = error.message;
        return true;
      }
      throw error;
    }
  }

  /** Record a console finding here and in the transport's log (one list for the VMM). */
  private found(defect: ConsoleDefectName, impact: ConsoleImpact, message: string): void {
    const f = consoleFinding(defect, impact, message);
    this.findingCounts.set(defect, (this.findingCounts.get(defect) ?? 0) + 1);
    if (this.findings.length < 256) this.findings.push(f);
    if (impact !== "vmm-crash") {
      this.host?.report(deviceFinding(defect, f.ref, "deviation", `console: ${message}`));
    }
  }

  /** A debug-build assert fired: the VMM PD traps, so the transport stops answering too. */
  private crash(defect: ConsoleDefectName, message: string): boolean {
    this.found(defect, "vmm-crash", message);
    const f = consoleFinding(defect, "vmm-crash", message);
    this.crashedBy ??= f;
    this.host?.crash(deviceFinding(defect, f.ref, "vmm-crash", `console: ${message}`));
    return false;
  }

  private crashUnmapped(place: string, s: BufferSegment): boolean {
    const f = coreFinding(
      "uncheckedGuestAddresses",
      "vmm-crash",
      `${place}: buffer 0x${s.addr.toString(16)}+${s.len} is outside guest ram`,
    );
    this.requireHost().crash(f);
    return this.transportCrashed(f);
  }

  /** libvmm dereferenced an unmapped address (L2): the VMM is dead, so is this device. */
  private transportCrashed(f: DefectFinding): boolean {
    this.crashedBy ??= f;
    return false;
  }
}
