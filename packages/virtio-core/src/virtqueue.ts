/**
 * Device side of a split virtqueue (VirtIO 1.2 §2.7): pop available chains with every
 * validation of reference virtio §1.8–§1.10, add used elements, and both directions of
 * notification suppression including `VIRTIO_F_EVENT_IDX` (§2.7.7, §2.7.10).
 *
 * Under `hardened` switches the first violation breaks the queue (sticky): the caller gets
 * the error once per call and the transport sets DEVICE_NEEDS_RESET (§2.1.2). Under the
 * `reference` switches the queue walks chains the way libvmm's virtio.c does (§4.6).
 */
import { type WalkContext, walkChain } from "./chain-walk.js";
import {
  DESCRIPTOR_SIZE,
  MAX_QUEUE_SIZE,
  USED_ELEMENT_SIZE,
  VIRTQ_USED_F_NO_NOTIFY,
} from "./constants.js";
import { type ChainError, QueueConfigError } from "./errors.js";
import type { GuestMemory } from "./guest-memory.js";
import { type DefectFinding, type DefectSwitches, defectsFor } from "./profile.js";
import {
  availEventAddr,
  type PopResult,
  type QueueFault,
  type QueueRules,
  queueRulesFor,
} from "./virtqueue-rules.js";
import { Wrapping16 } from "./wrapping.js";

export type { PopResult, QueueFault } from "./virtqueue-rules.js";

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

/**
 * A queue's configuration, its defect rules and its broken state: what the rules and the
 * chain walk may touch. Methods live on the prototype, so building a queue allocates no
 * closures.
 */
class QueueContext implements WalkContext {
  /** The violation that broke the queue (sticky, first one wins). */
  brokenBy: ChainError | QueueConfigError | undefined;

  constructor(
    readonly memory: GuestMemory,
    public geometry: QueueGeometry,
    readonly indirect: boolean,
    readonly rules: QueueRules,
    private readonly callbacks: Pick<SplitVirtqueueOptions, "onFinding" | "onBroken" | "onCrash">,
  ) {}

  report(f: DefectFinding): DefectFinding {
    this.callbacks.onFinding?.(f);
    return f;
  }

  fail(error: ChainError | QueueConfigError): QueueFault {
    if (this.brokenBy === undefined) {
      this.brokenBy = error;
      this.callbacks.onBroken?.(error);
    }
    return { kind: "error", error };
  }

  crash(f: DefectFinding): void {
    const { onCrash, onFinding } = this.callbacks;
    if (onCrash !== undefined) onCrash(f);
    else onFinding?.(f);
  }

  outsideRam(what: string, addr: number): QueueFault {
    return this.rules.areaOutsideRam(
      this,
      `${what} at 0x${addr.toString(16)} is outside guest ram`,
    );
  }
}

export class SplitVirtqueue {
  readonly memory: GuestMemory;
  private readonly features: QueueFeatures;
  /** Geometry, defect rules and broken state, shared with the chain walk. */
  private readonly ctx: QueueContext;
  private lastAvail = Wrapping16.ZERO;
  private nextUsed = Wrapping16.ZERO;
  /** used.idx when `needsInterrupt` last ran: the `old` of vring_need_event. */
  private signalledUsed = Wrapping16.ZERO;
  /** False between `disableNotification` and `enableNotification`. */
  private notifyWanted = true;

  constructor(options: SplitVirtqueueOptions) {
    this.memory = options.memory;
    this.features = {
      eventIdx: options.features?.eventIdx ?? false,
      indirect: options.features?.indirect ?? false,
    };
    this.ctx = new QueueContext(
      options.memory,
      options.geometry,
      this.features.indirect,
      queueRulesFor(options.defects ?? HARDENED),
      options,
    );
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
    return this.ctx.geometry;
  }

  get size(): number {
    return this.ctx.geometry.size;
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
    return this.ctx.brokenBy;
  }

  /**
   * Replace the geometry of a live queue. Only libvmm does this (OR-ed address registers
   * and QueueNum written while ready, §4.2); indices are kept.
   */
  setGeometry(geometry: QueueGeometry): void {
    this.ctx.geometry = geometry;
  }

  /** The driver's avail.idx, read from guest memory. */
  availIdx(): Wrapping16 | QueueFault {
    // Each area is used only if it lies whole in RAM (libvmm maps `4 + 2·num` bytes; a NULL
    // mapping is its L2 crash). This also bounds every walk by what RAM can hold.
    if (!this.memory.contains(this.ctx.geometry.availAddr, 4 + 2 * this.ctx.geometry.size)) {
      return this.ctx.outsideRam("driver area", this.ctx.geometry.availAddr);
    }
    return Wrapping16.of(this.memory.read16(this.ctx.geometry.availAddr + 2));
  }

  /** True when the driver has published entries the device has not consumed. */
  hasAvailable(): boolean {
    if (this.ctx.brokenBy !== undefined) return false;
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
    const at = availEventAddr(this.ctx.geometry.usedAddr, this.ctx.geometry.size);
    this.ctx.rules.suppression.writeAvailEvent(this.memory, at, this.lastAvail.value);
  }

  /** The next available chain without consuming it. */
  peekAvailable(): PopResult {
    if (this.ctx.brokenBy !== undefined) return { kind: "error", error: this.ctx.brokenBy };
    const availIdx = this.availIdx();
    if (!(availIdx instanceof Wrapping16)) return availIdx;
    if (availIdx.equals(this.lastAvail)) return { kind: "empty" };
    const n = this.ctx.geometry.size;
    const pending = availIdx.since(this.lastAvail);
    const findings: DefectFinding[] = [];
    if (pending > n) {
      // A driver never has more than N entries outstanding (§2.7.13); without this check a
      // jump makes the device reprocess up to 65535 stale slots.
      const fault = this.ctx.rules.availJump(
        this.ctx,
        {
          refused: `avail.idx moved from ${this.lastAvail} to ${availIdx}, more than queue size ${n}`,
          accepted: `avail.idx ${availIdx} is ${pending} entries ahead of ${this.lastAvail} (queue size ${n})`,
        },
        findings,
      );
      if (fault !== undefined) return fault;
    }
    const slotAddr = this.ctx.geometry.availAddr + 4 + 2 * this.lastAvail.slot(n);
    if (!this.memory.contains(slotAddr, 2)) return this.ctx.outsideRam("avail ring slot", slotAddr);
    const head = this.memory.read16(slotAddr);
    return walkChain(this.ctx, head, findings);
  }

  /**
   * Return chain `head` to the driver with `len` bytes written (§2.7.8). The element is
   * written before used.idx is published (§2.7.13: barrier between them in real code).
   */
  addUsed(head: number, len: number): QueueFault | undefined {
    const n = this.ctx.geometry.size;
    if (this.ctx.brokenBy !== undefined) return { kind: "error", error: this.ctx.brokenBy };
    const refused = this.ctx.rules.usedHead(this.ctx, head, n);
    if (refused !== undefined) return refused;
    const idxAddr = this.ctx.geometry.usedAddr + 2;
    if (!this.memory.contains(this.ctx.geometry.usedAddr, 4 + USED_ELEMENT_SIZE * n)) {
      return this.ctx.outsideRam("device area", this.ctx.geometry.usedAddr);
    }
    const usedIdx = this.ctx.rules.usedIndex(this.ctx, idxAddr, this.nextUsed);
    const elem = this.ctx.geometry.usedAddr + 4 + USED_ELEMENT_SIZE * usedIdx.slot(n);
    if (!this.memory.contains(elem, USED_ELEMENT_SIZE)) {
      return this.ctx.outsideRam("used ring element", elem);
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
    return this.ctx.rules.suppression.needsInterrupt(
      this.memory,
      this.ctx.geometry.availAddr,
      this.ctx.geometry.size,
      this.features.eventIdx,
      next,
      old,
    );
  }

  /**
   * Ask the driver not to notify (§2.7.10): `used.flags = NO_NOTIFY`; with EVENT_IDX the
   * device stops moving avail_event (which pops otherwise keep at the next entry).
   */
  disableNotification(): void {
    this.notifyWanted = false;
    if (this.features.eventIdx) return;
    this.ctx.rules.suppression.writeUsedFlags(
      this.memory,
      this.ctx.geometry.usedAddr,
      VIRTQ_USED_F_NO_NOTIFY,
    );
  }

  /**
   * Ask the driver to notify again and re-check for work. Returns true when entries are
   * already available: the driver may have published them after the device last looked
   * but before it re-enabled, and will not notify for them ("re-enable, fence, re-check").
   */
  enableNotification(): boolean {
    this.notifyWanted = true;
    if (this.features.eventIdx) this.writeAvailEvent();
    else this.ctx.rules.suppression.writeUsedFlags(this.memory, this.ctx.geometry.usedAddr, 0);
    return this.hasAvailable();
  }
}
