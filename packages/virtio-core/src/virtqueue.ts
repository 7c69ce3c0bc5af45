/**
 * Device side of a split virtqueue (VirtIO 1.2 §2.7): pop available chains with every
 * validation of reference virtio §1.8–§1.10, add used elements, and both directions of
 * notification suppression including `VIRTIO_F_EVENT_IDX` (§2.7.7, §2.7.10).
 *
 * Under `hardened` switches the first violation breaks the queue (sticky): the caller gets
 * the error once per call and the transport sets DEVICE_NEEDS_RESET (§2.1.2). Under the
 * `reference` switches the queue walks chains the way libvmm's virtio.c does (§4.6).
 */
import { type BufferSegment, type DescriptorChain, makeChain } from "./chain.js";
import {
  DESCRIPTOR_SIZE,
  MAX_QUEUE_SIZE,
  USED_ELEMENT_SIZE,
  VIRTQ_AVAIL_F_NO_INTERRUPT,
  VIRTQ_DESC_F_INDIRECT,
  VIRTQ_DESC_F_NEXT,
  VIRTQ_DESC_F_WRITE,
  VIRTQ_USED_F_NO_NOTIFY,
} from "./constants.js";
import { ChainError, QueueConfigError } from "./errors.js";
import type { GuestMemory } from "./guest-memory.js";
import { type DefectFinding, type DefectSwitches, defectsFor, finding } from "./profile.js";
import { needEvent, Wrapping16 } from "./wrapping.js";

/** Where the three areas of a queue are, and its size (§2.7, §4.2.2 queue registers). */
export interface QueueGeometry {
  readonly size: number;
  readonly descAddr: number;
  readonly availAddr: number;
  readonly usedAddr: number;
}

/** Negotiated features that change the ring format (§2.7.5.3, §2.7.10). */
export interface QueueFeatures {
  readonly eventIdx: boolean;
  readonly indirect: boolean;
}

export interface SplitVirtqueueOptions {
  readonly memory: GuestMemory;
  readonly geometry: QueueGeometry;
  /** QueueNumMax of this queue; sizes above it are invalid. Default 32768. */
  readonly maxSize?: number;
  readonly features?: Partial<QueueFeatures>;
  /** Defect switches; default all off (hardened). */
  readonly defects?: DefectSwitches;
  /** Called for each defect the queue exercises under `reference` switches. */
  readonly onFinding?: (finding: DefectFinding) => void;
  /**
   * Start both indices at this value instead of 0, as if that many chains had already passed
   * (tests of the 16-bit wrap; the driver side must use the same value).
   */
  readonly initialIndex?: number;
  /** Called when libvmm would have crashed (L2): the transport stops answering. */
  readonly onCrash?: (finding: DefectFinding) => void;
  /** Called once when the queue breaks (hardened): the transport sets DEVICE_NEEDS_RESET. */
  readonly onBroken?: (error: ChainError | QueueConfigError) => void;
}

/** Why a queue operation did not complete. */
export type QueueFault =
  | { readonly kind: "error"; readonly error: ChainError | QueueConfigError }
  /** libvmm would dereference an unmapped guest address here and the VMM PD would die (L2). */
  | { readonly kind: "crash"; readonly finding: DefectFinding };

export type PopResult =
  | { readonly kind: "empty" }
  | { readonly kind: "chain"; readonly chain: DescriptorChain }
  | QueueFault;

/** Size, alignment and RAM checks of a queue about to be enabled (§2.7, §2.7.1, RVMM). */
export function validateGeometry(
  memory: GuestMemory,
  g: QueueGeometry,
  maxSize = MAX_QUEUE_SIZE,
): QueueConfigError | undefined {
  const n = g.size;
  if (!Number.isInteger(n) || n <= 0 || n > MAX_QUEUE_SIZE || (n & (n - 1)) !== 0) {
    return new QueueConfigError(
      "queue-size-invalid",
      `queue size ${n} is not a power of two in 1..32768`,
    );
  }
  if (n > maxSize) {
    return new QueueConfigError(
      "queue-size-above-max",
      `queue size ${n} exceeds QueueNumMax ${maxSize}`,
    );
  }
  const areas: [string, number, number, number][] = [
    ["descriptor area", g.descAddr, 16, DESCRIPTOR_SIZE * n],
    ["driver area", g.availAddr, 2, 6 + 2 * n],
    ["device area", g.usedAddr, 4, 6 + USED_ELEMENT_SIZE * n],
  ];
  for (const [name, addr, align, len] of areas) {
    if (addr % align !== 0) {
      return new QueueConfigError(
        "queue-misaligned",
        `${name} at 0x${addr.toString(16)} is not ${align}-byte aligned`,
      );
    }
    if (!memory.contains(addr, len)) {
      return new QueueConfigError(
        "queue-area-outside-ram",
        `${name} at 0x${addr.toString(16)} (${len} bytes) is not inside guest ram`,
      );
    }
  }
  return undefined;
}

const HARDENED = defectsFor("hardened");
const U32_LIMIT = 0x1_0000_0000;

export class SplitVirtqueue {
  readonly memory: GuestMemory;
  private g: QueueGeometry;
  private readonly features: QueueFeatures;
  private readonly defects: DefectSwitches;
  private readonly onFinding: ((f: DefectFinding) => void) | undefined;
  private readonly onBroken: ((e: ChainError | QueueConfigError) => void) | undefined;
  private readonly onCrash: ((f: DefectFinding) => void) | undefined;
  private lastAvail = Wrapping16.ZERO;
  private nextUsed = Wrapping16.ZERO;
  /** used.idx when `needsInterrupt` last ran: the `old` of vring_need_event. */
  private signalledUsed = Wrapping16.ZERO;
  private brokenBy: ChainError | QueueConfigError | undefined;
  /** False between `disableNotification` and `enableNotification`. */
  private notifyWanted = true;

  constructor(options: SplitVirtqueueOptions) {
    this.memory = options.memory;
    this.g = options.geometry;
    this.features = {
      eventIdx: options.features?.eventIdx ?? false,
      indirect: options.features?.indirect ?? false,
    };
    this.defects = options.defects ?? HARDENED;
    this.onFinding = options.onFinding;
    this.onBroken = options.onBroken;
    this.onCrash = options.onCrash;
    const start = Wrapping16.of(options.initialIndex ?? 0);
    this.lastAvail = start;
    this.nextUsed = start;
    this.signalledUsed = start;
  }

  /** Validate the geometry first (hardened queue enable), then build the queue. */
  static configure(options: SplitVirtqueueOptions): SplitVirtqueue | QueueConfigError {
    const problem = validateGeometry(options.memory, options.geometry, options.maxSize);
    return problem ?? new SplitVirtqueue(options);
  }

  get geometry(): QueueGeometry {
    return this.g;
  }

  get size(): number {
    return this.g.size;
  }

  /** The device's shadow of the next avail entry to consume (libvmm `last_idx`). */
  get lastAvailIdx(): Wrapping16 {
    return this.lastAvail;
  }

  /** The device's shadow of used.idx. */
  get nextUsedIdx(): Wrapping16 {
    return this.nextUsed;
  }

  /** The violation that broke the queue, if any (hardened). */
  get broken(): ChainError | QueueConfigError | undefined {
    return this.brokenBy;
  }

  /**
   * Replace the geometry of a live queue. Only libvmm does this (OR-ed address registers
   * and QueueNum written while ready, §4.2); indices are kept.
   */
  setGeometry(geometry: QueueGeometry): void {
    this.g = geometry;
  }

  /** The driver's avail.idx, read from guest memory. */
  availIdx(): Wrapping16 | QueueFault {
    // Each area is used only if it lies whole in RAM (libvmm maps `4 + 2·num` bytes; a NULL
    // mapping is its L2 crash). This also bounds every walk by what RAM can hold.
    if (!this.memory.contains(this.g.availAddr, 4 + 2 * this.g.size)) {
      return this.crashOrError("driver area", this.g.availAddr);
    }
    return Wrapping16.of(this.memory.read16(this.g.availAddr + 2));
  }

  /** True when the driver has published entries the device has not consumed. */
  hasAvailable(): boolean {
    if (this.brokenBy !== undefined) return false;
    const idx = this.availIdx();
    return idx instanceof Wrapping16 && !idx.equals(this.lastAvail);
  }

  /** Pop the next available chain, validated (hardened) or walked as libvmm does (reference). */
  popAvailable(): PopResult {
    const peeked = this.peekAvailable();
    if (peeked.kind === "chain") this.consumed();
    return peeked;
  }

  /**
   * Consume the next available entry without walking it again, after a `peekAvailable` that
   * returned a chain (libvmm's `pop_avail` after `add_used`). Returns false when none is
   * available or the queue is broken.
   */
  skipAvailable(): boolean {
    if (!this.hasAvailable()) return false;
    this.consumed();
    return true;
  }

  /**
   * Advance past one avail entry. With EVENT_IDX and notifications wanted, move avail_event
   * along (§2.7.10): a device that left it behind would get no further kick until the
   * driver's index wrapped past it.
   */
  private consumed(): void {
    this.lastAvail = this.lastAvail.add(1);
    if (this.features.eventIdx && this.notifyWanted) this.writeAvailEvent();
  }

  private writeAvailEvent(): void {
    if (this.defects.noNotificationSuppression) return;
    const at = this.g.usedAddr + 4 + USED_ELEMENT_SIZE * this.g.size;
    if (this.memory.contains(at, 2)) this.memory.write16(at, this.lastAvail.value);
  }

  /** The next available chain without consuming it. */
  peekAvailable(): PopResult {
    if (this.brokenBy !== undefined) return { kind: "error", error: this.brokenBy };
    const availIdx = this.availIdx();
    if (!(availIdx instanceof Wrapping16)) return availIdx;
    if (availIdx.equals(this.lastAvail)) return { kind: "empty" };
    const n = this.g.size;
    const pending = availIdx.since(this.lastAvail);
    const findings: DefectFinding[] = [];
    if (pending > n) {
      // A driver never has more than N entries outstanding (§2.7.13); without this check a
      // jump makes the device reprocess up to 65535 stale slots.
      if (!this.defects.availIndexUnchecked) {
        return this.fail(
          new ChainError(
            "avail-index-jump",
            `avail.idx moved from ${this.lastAvail} to ${availIdx}, more than queue size ${n}`,
          ),
        );
      }
      findings.push(
        this.report(
          finding(
            "availIndexUnchecked",
            "deviation",
            `avail.idx ${availIdx} is ${pending} entries ahead of ${this.lastAvail} (queue size ${n})`,
          ),
        ),
      );
    }
    const slotAddr = this.g.availAddr + 4 + 2 * this.lastAvail.slot(n);
    if (!this.memory.contains(slotAddr, 2)) return this.crashOrError("avail ring slot", slotAddr);
    const head = this.memory.read16(slotAddr);
    return this.walk(head, findings);
  }

  /**
   * Return chain `head` to the driver with `len` bytes written (§2.7.8). The element is
   * written before used.idx is published (§2.7.13: barrier between them in real code).
   */
  addUsed(head: number, len: number): QueueFault | undefined {
    const n = this.g.size;
    if (this.brokenBy !== undefined) return { kind: "error", error: this.brokenBy };
    if (!this.defects.headIndexUnchecked && (head >= n || head < 0)) {
      return this.fail(
        new ChainError("used-head-out-of-range", `used id ${head} is not below queue size ${n}`),
      );
    }
    const idxAddr = this.g.usedAddr + 2;
    if (!this.memory.contains(this.g.usedAddr, 4 + USED_ELEMENT_SIZE * n)) {
      return this.crashOrError("device area", this.g.usedAddr);
    }
    let usedIdx = this.nextUsed;
    if (this.defects.usedIdxFromGuest) {
      // libvmm keeps no shadow: a driver that scribbles on used.idx steers the device.
      usedIdx = Wrapping16.of(this.memory.read16(idxAddr));
      if (!usedIdx.equals(this.nextUsed)) {
        this.report(
          finding(
            "usedIdxFromGuest",
            "deviation",
            `used.idx in guest memory is ${usedIdx}, device shadow is ${this.nextUsed}`,
          ),
        );
      }
    }
    const elem = this.g.usedAddr + 4 + USED_ELEMENT_SIZE * usedIdx.slot(n);
    if (!this.memory.contains(elem, USED_ELEMENT_SIZE)) {
      return this.crashOrError("used ring element", elem);
    }
    this.memory.write32(elem, head >>> 0);
    this.memory.write32(elem + 4, len >>> 0);
    this.nextUsed = usedIdx.add(1);
    this.memory.write16(idxAddr, this.nextUsed.value);
    return undefined;
  }

  /**
   * Whether the used entries added since the last call warrant a used-buffer notification
   * (§2.7.7): with EVENT_IDX `vring_need_event(used_event, new, old)`, otherwise the
   * avail ring's NO_INTERRUPT flag. Call after publishing a batch.
   */
  needsInterrupt(): boolean {
    const old = this.signalledUsed;
    const next = this.nextUsed;
    this.signalledUsed = next;
    if (next.equals(old)) return false;
    if (this.defects.noNotificationSuppression) return true;
    const n = this.g.size;
    if (this.features.eventIdx) {
      const at = this.g.availAddr + 4 + 2 * n;
      if (!this.memory.contains(at, 2)) return true;
      return needEvent(Wrapping16.of(this.memory.read16(at)), next, old);
    }
    if (!this.memory.contains(this.g.availAddr, 2)) return true;
    return (this.memory.read16(this.g.availAddr) & VIRTQ_AVAIL_F_NO_INTERRUPT) === 0;
  }

  /**
   * Ask the driver not to notify (§2.7.10): `used.flags = NO_NOTIFY`; with EVENT_IDX the
   * device stops moving avail_event (which pops otherwise keep at the next entry).
   */
  disableNotification(): void {
    this.notifyWanted = false;
    if (this.defects.noNotificationSuppression || this.features.eventIdx) return;
    this.writeUsedFlags(VIRTQ_USED_F_NO_NOTIFY);
  }

  /**
   * Ask the driver to notify again and re-check for work. Returns true when entries are
   * already available: the driver may have published them after the device last looked
   * but before it re-enabled, and will not notify for them ("re-enable, fence, re-check").
   */
  enableNotification(): boolean {
    this.notifyWanted = true;
    if (this.features.eventIdx) this.writeAvailEvent();
    else if (!this.defects.noNotificationSuppression) this.writeUsedFlags(0);
    return this.hasAvailable();
  }

  private writeUsedFlags(flags: number): void {
    if (this.memory.contains(this.g.usedAddr, 2)) this.memory.write16(this.g.usedAddr, flags);
  }

  /** Walk the chain from `head` (§2.7.5, §2.7.5.3, §2.7.4.2). */
  private walk(head: number, findings: DefectFinding[]): PopResult {
    const d = this.defects;
    const n = this.g.size;
    const segments: BufferSegment[] = [];
    if (!this.memory.contains(this.g.descAddr, DESCRIPTOR_SIZE * n)) {
      return this.crashOrError("descriptor area", this.g.descAddr);
    }
    if (head >= n) {
      if (!d.headIndexUnchecked) {
        return this.fail(
          new ChainError(
            "head-index-out-of-range",
            `avail ring head ${head} is not below queue size ${n}`,
          ),
        );
      }
      findings.push(
        this.report(
          finding("headIndexUnchecked", "deviation", `avail ring head ${head} >= queue size ${n}`),
        ),
      );
      return { kind: "chain", chain: makeChain(head, segments, 0, true, findings) };
    }
    let table = this.g.descAddr;
    let tableSize = n;
    let index = head;
    // Time-to-live: a loop or an over-long chain ends after N descriptors (§2.7.5.2);
    // libvmm tolerates N + 1 steps before calling the chain bad.
    let ttl = d.badChainConsumed ? n + 1 : n;
    let inIndirect = false;
    let seenWritable = false;
    let total = 0;
    let count = 0;
    for (;;) {
      if (ttl-- === 0) {
        const error = new ChainError(
          "chain-too-long",
          `chain from head ${head} is longer than ${inIndirect ? "its indirect table" : `queue size ${n}`} (loop?)`,
        );
        return this.badChain(head, error, findings);
      }
      const at = table + DESCRIPTOR_SIZE * index;
      if (!this.memory.contains(at, DESCRIPTOR_SIZE)) return this.crashOrError("descriptor", at);
      const addr = this.memory.read64AsNumber(at);
      const len = this.memory.read32(at + 8);
      const flags = this.memory.read16(at + 12);
      const next = this.memory.read16(at + 14);
      count++;
      if ((flags & VIRTQ_DESC_F_INDIRECT) !== 0 && !d.indirectAsData) {
        const error = this.checkIndirect(index, inIndirect, flags, len, addr);
        if (error !== undefined) return this.fail(error);
        inIndirect = true;
        table = addr!;
        tableSize = len / DESCRIPTOR_SIZE;
        index = 0;
        ttl = tableSize;
        continue;
      }
      if ((flags & VIRTQ_DESC_F_INDIRECT) !== 0) {
        findings.push(
          this.report(
            finding(
              "indirectAsData",
              "deviation",
              `descriptor ${index} INDIRECT treated as a plain buffer`,
            ),
          ),
        );
      }
      const writable = (flags & VIRTQ_DESC_F_WRITE) !== 0;
      if (writable) {
        seenWritable = true;
      } else if (seenWritable) {
        const message = `readable descriptor ${index} follows a writable one in chain ${head}`;
        if (!d.orderUnchecked) return this.fail(new ChainError("readable-after-writable", message));
        findings.push(this.report(finding("orderUnchecked", "deviation", message)));
      }
      const inRam = addr !== undefined && this.memory.contains(addr, len);
      if (!inRam) {
        const message = `descriptor ${index} buffer 0x${(addr ?? Number.NaN).toString(16)}+${len} is outside guest ram`;
        if (!d.uncheckedGuestAddresses)
          return this.fail(new ChainError("descriptor-outside-ram", message));
        findings.push(this.report(finding("uncheckedGuestAddresses", "vmm-crash", message)));
      }
      total += len;
      if (total >= U32_LIMIT && !d.badChainConsumed) {
        return this.fail(
          new ChainError(
            "chain-length-overflow",
            `chain from head ${head} totals ${total} bytes, not below 2^32`,
          ),
        );
      }
      segments.push({ addr: addr ?? Number.MAX_SAFE_INTEGER, len, writable, inRam });
      if ((flags & VIRTQ_DESC_F_NEXT) === 0) break;
      if (next >= tableSize) {
        const error = new ChainError(
          "next-index-out-of-range",
          `descriptor ${index} next ${next} is not below ${inIndirect ? "indirect table size" : "queue size"} ${tableSize}`,
        );
        return this.badChain(head, error, findings);
      }
      index = next;
    }
    return { kind: "chain", chain: makeChain(head, segments, count, false, findings) };
  }

  /** The rules an INDIRECT descriptor must meet (§2.7.5.3.1). */
  private checkIndirect(
    index: number,
    inIndirect: boolean,
    flags: number,
    len: number,
    addr: number | undefined,
  ): ChainError | undefined {
    if (!this.features.indirect) {
      return new ChainError(
        "indirect-not-negotiated",
        `descriptor ${index} is INDIRECT but VIRTIO_F_INDIRECT_DESC was not negotiated`,
      );
    }
    if (inIndirect) {
      return new ChainError("indirect-nested", `indirect table entry ${index} is itself INDIRECT`);
    }
    if ((flags & VIRTQ_DESC_F_NEXT) !== 0) {
      return new ChainError("indirect-with-next", `descriptor ${index} has both INDIRECT and NEXT`);
    }
    if (len === 0 || len % DESCRIPTOR_SIZE !== 0) {
      return new ChainError(
        "indirect-table-size",
        `descriptor ${index} indirect table length ${len} is not a non-zero multiple of 16`,
      );
    }
    if (len / DESCRIPTOR_SIZE > this.g.size) {
      return new ChainError(
        "chain-too-long",
        `descriptor ${index} indirect table of ${len / DESCRIPTOR_SIZE} entries exceeds queue size ${this.g.size}`,
      );
    }
    if (addr === undefined || addr % DESCRIPTOR_SIZE !== 0 || !this.memory.contains(addr, len)) {
      return new ChainError(
        "descriptor-outside-ram",
        `descriptor ${index} indirect table 0x${(addr ?? Number.NaN).toString(16)}+${len} is misaligned or outside guest ram`,
      );
    }
    return undefined;
  }

  /** A broken chain: an error (hardened) or libvmm's "bad descriptor chain" (payload 0). */
  private badChain(head: number, error: ChainError, findings: DefectFinding[]): PopResult {
    if (!this.defects.badChainConsumed) return this.fail(error);
    findings.push(this.report(finding("badChainConsumed", "deviation", error.message)));
    return { kind: "chain", chain: makeChain(head, [], 0, true, findings) };
  }

  private crashOrError(what: string, addr: number): QueueFault {
    const message = `${what} at 0x${addr.toString(16)} is outside guest ram`;
    if (this.defects.uncheckedGuestAddresses) {
      const f = finding("uncheckedGuestAddresses", "vmm-crash", message);
      if (this.onCrash !== undefined) this.onCrash(f);
      else this.onFinding?.(f);
      return { kind: "crash", finding: f };
    }
    // Reachable only for a queue built without `configure` (unvalidated geometry).
    return this.fail(new QueueConfigError("queue-area-outside-ram", message));
  }

  private fail(error: ChainError | QueueConfigError): QueueFault {
    if (this.brokenBy === undefined) {
      this.brokenBy = error;
      this.onBroken?.(error);
    }
    return { kind: "error", error };
  }

  private report(f: DefectFinding): DefectFinding {
    this.onFinding?.(f);
    return f;
  }
}
