/**
 * Driver side of a split virtqueue, for guest models and tests (VirtIO 1.2 §2.7.13, shaped
 * like Linux `virtio_ring.c`): a descriptor free list, `addChain`, the kick decision
 * (`kickPrepare`, §2.7.10 incl. EVENT_IDX) and `collectUsed` with the checks Linux applies to
 * a device's answers ("id out of range", "id is not a head" ⇒ queue broken).
 */
import {
  DESCRIPTOR_SIZE,
  USED_ELEMENT_SIZE,
  VIRTQ_AVAIL_F_NO_INTERRUPT,
  VIRTQ_DESC_F_INDIRECT,
  VIRTQ_DESC_F_NEXT,
  VIRTQ_DESC_F_WRITE,
  VIRTQ_USED_F_NO_NOTIFY,
} from "./constants.js";
import { writeDescriptor } from "./descriptor.js";
import { DriverQueueError } from "./errors.js";
import type { GuestMemory } from "./guest-memory.js";
import type { QueueFeatures, QueueGeometry } from "./virtqueue.js";
import { needEvent, Wrapping16 } from "./wrapping.js";

/** A guest buffer. */
export interface GuestBuffer {
  readonly addr: number;
  readonly len: number;
}

/** A chain the device returned. */
export interface UsedBuffer {
  readonly head: number;
  /** Bytes the device says it wrote (§2.7.8). */
  readonly len: number;
}

export interface DriverVirtqueueOptions {
  readonly memory: GuestMemory;
  readonly geometry: QueueGeometry;
  readonly features?: Partial<QueueFeatures>;
  /**
   * Guest RAM for indirect tables: one slot of `16 · size` bytes per head, so it must hold
   * `16 · size²` bytes. Required to add indirect chains.
   */
  readonly indirectArea?: number;
  /** Start the indices here instead of 0 (wrap tests; the device side must agree). */
  readonly initialIndex?: number;
}

export interface AddChainOptions {
  /** Put the chain in an indirect table (needs `features.indirect` and `indirectArea`). */
  readonly indirect?: boolean;
}

export class DriverVirtqueue {
  readonly memory: GuestMemory;
  readonly geometry: QueueGeometry;
  private readonly features: QueueFeatures;
  private readonly indirectArea: number | undefined;
  /** Free descriptor indices (Linux keeps them linked through `next`; a stack suffices). */
  private readonly free: number[] = [];
  /** Descriptors of each outstanding chain, by head (Linux `desc_state`). */
  private readonly chains = new Map<number, number[]>();
  private availIdx = Wrapping16.ZERO;
  /** avail.idx at the last kick decision: the `old` of vring_need_event. */
  private kickedIdx = Wrapping16.ZERO;
  private lastUsed = Wrapping16.ZERO;
  private brokenBy: DriverQueueError | undefined;

  /** Lay the queue out in guest RAM: areas zeroed, as Linux `vring_create_virtqueue` does. */
  constructor(options: DriverVirtqueueOptions) {
    this.memory = options.memory;
    this.geometry = options.geometry;
    this.features = {
      eventIdx: options.features?.eventIdx ?? false,
      indirect: options.features?.indirect ?? false,
    };
    this.indirectArea = options.indirectArea;
    const n = this.geometry.size;
    for (let i = n - 1; i >= 0; i--) this.free.push(i);
    this.memory.fill(this.geometry.descAddr, DESCRIPTOR_SIZE * n);
    this.memory.fill(this.geometry.availAddr, 6 + 2 * n);
    this.memory.fill(this.geometry.usedAddr, 6 + USED_ELEMENT_SIZE * n);
    if (options.initialIndex !== undefined) {
      const start = Wrapping16.of(options.initialIndex);
      this.availIdx = start;
      this.kickedIdx = start;
      this.lastUsed = start;
      this.memory.write16(this.geometry.availAddr + 2, start.value);
      this.memory.write16(this.geometry.usedAddr + 2, start.value);
    }
  }

  get size(): number {
    return this.geometry.size;
  }

  /** Free descriptors. */
  get numFree(): number {
    return this.free.length;
  }

  /** Set when the device returned a bad used element (Linux `BAD_RING`). */
  get broken(): DriverQueueError | undefined {
    return this.brokenBy;
  }

  /** The driver's avail.idx shadow. */
  get availIndex(): Wrapping16 {
    return this.availIdx;
  }

  /**
   * Expose a chain: readable buffers first, then writable (§2.7.4.2), then publish it in the
   * avail ring and bump avail.idx (§2.7.13: ring entry written before the index). Returns
   * the head index.
   */
  addChain(
    readable: readonly GuestBuffer[],
    writable: readonly GuestBuffer[],
    options: AddChainOptions = {},
  ): number | DriverQueueError {
    if (this.brokenBy !== undefined) return this.brokenBy;
    const count = readable.length + writable.length;
    const n = this.geometry.size;
    if (count === 0) {
      return new DriverQueueError("driver-chain-empty", "a chain needs at least one buffer");
    }
    const indirect = options.indirect === true;
    if (indirect && (!this.features.indirect || this.indirectArea === undefined)) {
      return new DriverQueueError(
        "driver-indirect-unavailable",
        "indirect chain requested without VIRTIO_F_INDIRECT_DESC or an indirect area",
      );
    }
    const needed = indirect ? 1 : count;
    if (count > n || needed > this.free.length) {
      return new DriverQueueError(
        "driver-queue-full",
        `chain of ${count} buffers needs ${needed} descriptors, ${this.free.length} free`,
      );
    }
    const taken: number[] = [];
    for (let i = 0; i < needed; i++) taken.push(this.free.pop()!);
    const head = taken[0]!;
    const table = indirect
      ? this.indirectArea! + head * DESCRIPTOR_SIZE * n
      : this.geometry.descAddr;
    for (let i = 0; i < count; i++) {
      const b = i < readable.length ? readable[i]! : writable[i - readable.length]!;
      const last = i === count - 1;
      const slot = indirect ? i : taken[i]!;
      const next = last ? 0 : indirect ? i + 1 : taken[i + 1]!;
      const flags = (i < readable.length ? 0 : VIRTQ_DESC_F_WRITE) | (last ? 0 : VIRTQ_DESC_F_NEXT);
      writeDescriptor(this.memory, table + DESCRIPTOR_SIZE * slot, {
        addr: b.addr,
        len: b.len,
        flags,
        next,
      });
    }
    if (indirect) {
      writeDescriptor(this.memory, this.geometry.descAddr + DESCRIPTOR_SIZE * head, {
        addr: table,
        len: DESCRIPTOR_SIZE * count,
        flags: VIRTQ_DESC_F_INDIRECT,
        next: 0,
      });
    }
    this.chains.set(head, taken);
    this.memory.write16(this.geometry.availAddr + 4 + 2 * this.availIdx.slot(n), head);
    this.availIdx = this.availIdx.add(1);
    this.memory.write16(this.geometry.availAddr + 2, this.availIdx.value);
    return head;
  }

  /**
   * Whether to notify the device for the chains added since the last call (Linux
   * `virtqueue_kick_prepare`, §2.7.10): with EVENT_IDX `vring_need_event(avail_event, new,
   * old)`, otherwise unless the device set `VIRTQ_USED_F_NO_NOTIFY`.
   */
  kickPrepare(): boolean {
    const old = this.kickedIdx;
    const next = this.availIdx;
    this.kickedIdx = next;
    if (this.features.eventIdx) {
      const event = this.memory.read16(
        this.geometry.usedAddr + 4 + USED_ELEMENT_SIZE * this.geometry.size,
      );
      return needEvent(Wrapping16.of(event), next, old);
    }
    return (this.memory.read16(this.geometry.usedAddr) & VIRTQ_USED_F_NO_NOTIFY) === 0;
  }

  /** True when the device has returned chains not yet collected. */
  hasUsed(): boolean {
    return this.memory.read16(this.geometry.usedAddr + 2) !== this.lastUsed.value;
  }

  /** Take one returned chain, checking the device's answer as Linux does. */
  getUsed(): UsedBuffer | DriverQueueError | undefined {
    if (this.brokenBy !== undefined) return this.brokenBy;
    if (!this.hasUsed()) return undefined;
    const n = this.geometry.size;
    const elem = this.geometry.usedAddr + 4 + USED_ELEMENT_SIZE * this.lastUsed.slot(n);
    const head = this.memory.read32(elem);
    const len = this.memory.read32(elem + 4);
    if (head >= n) {
      return this.breakQueue(
        new DriverQueueError("driver-used-id-out-of-range", `used id ${head} out of range`),
      );
    }
    const taken = this.chains.get(head);
    if (taken === undefined) {
      return this.breakQueue(
        new DriverQueueError("driver-used-id-not-head", `used id ${head} is not a head`),
      );
    }
    this.chains.delete(head);
    for (let i = taken.length - 1; i >= 0; i--) this.free.push(taken[i]!);
    this.lastUsed = this.lastUsed.add(1);
    return { head, len };
  }

  /**
   * Take every returned chain (stops at the first bad element, which breaks the queue). A
   * device that jumps used.idx ahead cannot make this spin: each element must name an
   * outstanding head, so at most `size` iterations succeed before the queue breaks.
   */
  collectUsed(): UsedBuffer[] | DriverQueueError {
    const out: UsedBuffer[] = [];
    for (;;) {
      const used = this.getUsed();
      if (used === undefined) return out;
      if (used instanceof DriverQueueError) return used;
      out.push(used);
    }
  }

  /**
   * Ask the device not to interrupt (§2.7.7): `avail.flags = NO_INTERRUPT`; with EVENT_IDX
   * Linux leaves `used_event` where it is.
   */
  disableInterrupts(): void {
    if (!this.features.eventIdx)
      this.memory.write16(this.geometry.availAddr, VIRTQ_AVAIL_F_NO_INTERRUPT);
  }

  /**
   * Re-enable used-buffer notifications and re-check (Linux `virtqueue_enable_cb`): true when
   * used chains are already waiting, which the device may not interrupt for.
   */
  enableInterrupts(): boolean {
    if (this.features.eventIdx) {
      this.memory.write16(
        this.geometry.availAddr + 4 + 2 * this.geometry.size,
        this.lastUsed.value,
      );
    } else {
      this.memory.write16(this.geometry.availAddr, 0);
    }
    return this.hasUsed();
  }

  private breakQueue(error: DriverQueueError): DriverQueueError {
    this.brokenBy = error;
    return error;
  }
}
