/**
 * The sDDF serial queue (reference/sddf-serial.md §2): a 12-byte shared struct
 * `{ tail @0x0, head @0x4, producer_signalled @0x8 }` (u32, little-endian) in a queue
 * region, and a separate data region of `capacity` bytes, slot of index `i` = `i mod capacity`.
 *
 * `SerialQueue` is the private per-PD handle (`serial_queue_handle_t`, §2.2): it keeps the
 * capacity itself so that a peer cannot enlarge the ring. Every method states the role that
 * may call it (§2.4). Indices are free-running u32 and wrap at 2^32 (§2.3).
 *
 * Memory ordering (§2.6): every access to the three shared words goes through `Atomics`,
 * which are sequentially consistent in the JavaScript memory model. That is at least as strong
 * as the C library's acquire/release pairs (a consumer that loads `tail` sees the bytes the
 * producer wrote before storing it; a producer that loads `head` knows the consumer finished
 * reading the freed slots) and as its seq_cst fences around `producer_signalled` (§3.3).
 * So the queue is correct between two real threads over a SharedArrayBuffer.
 *
 * Hardening (§2.3, DESIGN.md isolation): each load of the index the *other* side writes is
 * checked against `0 <= tail - head <= capacity`; a violation throws `CorruptIndexError`
 * instead of overwriting unread data or reading garbage. Slots are always masked into the
 * data region, so no index value can cause an out-of-bounds access.
 */

import { CorruptIndexError, QueueAssertionError, QueueConfigError } from "./errors.js";
import { UNTAGGED } from "./provenance.js";
import { provenanceShadow } from "./shadow.js";

/** Byte offsets of the fields of `serial_queue_t` (§2.1). */
export const QUEUE_TAIL_OFFSET = 0x0;
export const QUEUE_HEAD_OFFSET = 0x4;
export const QUEUE_PRODUCER_SIGNALLED_OFFSET = 0x8;
/** Size of `serial_queue_t` in bytes (§2.1). */
export const QUEUE_STRUCT_SIZE = 12;

const TAIL = QUEUE_TAIL_OFFSET >> 2;
const HEAD = QUEUE_HEAD_OFFSET >> 2;
const SIGNALLED = QUEUE_PRODUCER_SIGNALLED_OFFSET >> 2;

/** Largest capacity: a power of two whose slot mask still fits a positive int32. */
export const MAX_CAPACITY = 2 ** 30;

const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

export interface SerialQueueOptions {
  /** Ring size in bytes (power of two); defaults to the data region's length. */
  capacity?: number;
  /**
   * Provenance shadow: one u32 tag per slot (length >= capacity), moved with the bytes by
   * every operation that moves data. Without it, tags read as `UNTAGGED` and writes drop them.
   */
  tags?: Uint32Array;
  /** Debug-build mode: the C library's `assert`s (§2.4) throw `QueueAssertionError`. */
  checked?: boolean;
}

/** A mapped memory region as the runtime describes it. */
export interface RegionLike {
  buffer: ArrayBufferLike;
  byteOffset: number;
  size: number;
}

/** Options of `SerialQueue.fromRegions`. */
export interface FromRegionsOptions {
  capacity?: number;
  checked?: boolean;
  /** Attach the shared provenance shadow of the data region (default true). */
  provenance?: boolean;
}

/** A producer's unpublished tail (`enqueueLocal`, then `updateSharedTail`). */
export interface LocalTail {
  tail: number;
}

/** A consumer's unpublished head (`dequeueLocal`, then `updateSharedHead`). */
export interface LocalHead {
  head: number;
}

/** A mapped region must lie inside its buffer; a bad one is a system-building mistake. */
function checkRegion(what: "queue" | "data", region: RegionLike): void {
  const { byteOffset, size } = region;
  if (
    !Number.isSafeInteger(byteOffset) ||
    !Number.isSafeInteger(size) ||
    byteOffset < 0 ||
    size < 0 ||
    byteOffset + size > region.buffer.byteLength
  ) {
    throw new QueueConfigError(
      what === "queue" ? "BAD_QUEUE_REGION" : "BAD_CAPACITY",
      `serial queue: ${what} region of ${size} bytes at byte offset ${byteOffset} does not ` +
        `fit its buffer of ${region.buffer.byteLength} bytes`,
    );
  }
}

/** Handle on one sDDF serial queue: shared struct + data region + private capacity (§2.2). */
export class SerialQueue {
  readonly capacity: number;
  /** The data region (one byte per slot). */
  readonly data: Uint8Array;
  /** The provenance shadow of the data region, if any. */
  readonly tags: Uint32Array | undefined;
  readonly checked: boolean;
  private readonly shared: Uint32Array;
  private readonly mask: number;
  private lastTagValue = UNTAGGED;

  constructor(queueRegion: Uint8Array, data: Uint8Array, options: SerialQueueOptions = {}) {
    if (!HOST_LITTLE_ENDIAN) {
      throw new QueueConfigError("BAD_QUEUE_REGION", "serial queue: host is not little-endian");
    }
    if (queueRegion.byteLength < QUEUE_STRUCT_SIZE) {
      throw new QueueConfigError(
        "BAD_QUEUE_REGION",
        `serial queue: queue region of ${queueRegion.byteLength} bytes is smaller than ` +
          `serial_queue_t (${QUEUE_STRUCT_SIZE} bytes)`,
      );
    }
    if (queueRegion.byteOffset % 4 !== 0) {
      throw new QueueConfigError(
        "BAD_QUEUE_REGION",
        `serial queue: queue region at byte offset 0x${queueRegion.byteOffset.toString(16)} ` +
          "is not 4-byte aligned",
      );
    }
    const capacity = options.capacity ?? data.length;
    if (
      !Number.isInteger(capacity) ||
      capacity <= 0 ||
      capacity > MAX_CAPACITY ||
      (capacity & (capacity - 1)) !== 0
    ) {
      throw new QueueConfigError(
        "BAD_CAPACITY",
        `serial queue: capacity ${capacity} is not a power of two in [1, 2^30]`,
      );
    }
    if (data.length < capacity) {
      throw new QueueConfigError(
        "BAD_CAPACITY",
        `serial queue: data region of ${data.length} bytes is smaller than capacity ${capacity}`,
      );
    }
    if (options.tags !== undefined && options.tags.length < capacity) {
      throw new QueueConfigError(
        "BAD_TAGS",
        `serial queue: provenance shadow of ${options.tags.length} tags is shorter than ` +
          `capacity ${capacity}`,
      );
    }
    this.shared = new Uint32Array(queueRegion.buffer, queueRegion.byteOffset, 3);
    this.data = data;
    this.tags = options.tags;
    this.capacity = capacity;
    this.mask = capacity - 1;
    this.checked = options.checked ?? false;
  }

  /**
   * A handle over two mapped regions, with the data region's shared provenance shadow
   * (`provenanceShadow`) attached so that both ends of a connection see the same tags.
   */
  static fromRegions(
    queueRegion: RegionLike,
    dataRegion: RegionLike,
    options: FromRegionsOptions = {},
  ): SerialQueue {
    const capacity = options.capacity ?? dataRegion.size;
    checkRegion("queue", queueRegion);
    checkRegion("data", dataRegion);
    const queueBytes = new Uint8Array(queueRegion.buffer, queueRegion.byteOffset, queueRegion.size);
    const data = new Uint8Array(dataRegion.buffer, dataRegion.byteOffset, dataRegion.size);
    const tags =
      options.provenance === false
        ? undefined
        : provenanceShadow(dataRegion.buffer, dataRegion.byteOffset, dataRegion.size);
    return new SerialQueue(queueBytes, data, {
      capacity,
      checked: options.checked ?? false,
      ...(tags === undefined ? {} : { tags }),
    });
  }

  /** Shared `tail` (offset 0x0), written by the producer. */
  get tail(): number {
    return Atomics.load(this.shared, TAIL);
  }

  /** Shared `head` (offset 0x4), written by the consumer. */
  get head(): number {
    return Atomics.load(this.shared, HEAD);
  }

  /** Shared `producer_signalled` (offset 0x8): 0 = the producer wants a signal (§3.1). */
  get producerSignalled(): number {
    return Atomics.load(this.shared, SIGNALLED);
  }

  /** Provenance tag of the byte the last `dequeue`/`dequeueLocal` returned. */
  get lastTag(): number {
    return this.lastTagValue;
  }

  /** Slot (offset in the data region) of free-running index `index`. */
  slot(index: number): number {
    return index & this.mask;
  }

  /** Consumer: the byte at free-running index `index`, without dequeuing it. */
  byteAt(index: number): number {
    return this.data[index & this.mask]!;
  }

  /** Consumer: the provenance tag at free-running index `index`. */
  tagAt(index: number): number {
    return this.tags === undefined ? UNTAGGED : this.tags[index & this.mask]!;
  }

  /** Consumer: `tail - head` (`serial_queue_length_consumer`). */
  lengthConsumer(): number {
    const head = Atomics.load(this.shared, HEAD);
    return (this.loadTail(head) - head) >>> 0;
  }

  /** Producer: `tail - head` (`serial_queue_length_producer`). */
  lengthProducer(): number {
    const tail = Atomics.load(this.shared, TAIL);
    return (tail - this.loadHead(tail)) >>> 0;
  }

  /** Consumer: `localHead == tail`; without a local head, the shared head is used. */
  empty(localHead?: number): boolean {
    const head = localHead === undefined ? Atomics.load(this.shared, HEAD) : localHead >>> 0;
    return this.loadTail(head) === head;
  }

  /** Producer: `localTail - head == capacity`; without a local tail, the shared tail is used. */
  full(localTail?: number): boolean {
    const tail = localTail === undefined ? Atomics.load(this.shared, TAIL) : localTail >>> 0;
    return (tail - this.loadHead(tail)) >>> 0 === this.capacity;
  }

  /** Producer: store `byte` (and `tag`) at slot `tail`, then publish `tail + 1`; false if full. */
  enqueue(byte: number, tag: number = UNTAGGED): boolean {
    const tail = Atomics.load(this.shared, TAIL);
    if ((tail - this.loadHead(tail)) >>> 0 === this.capacity) return false;
    const slot = tail & this.mask;
    this.data[slot] = byte;
    if (this.tags !== undefined) this.tags[slot] = tag;
    Atomics.store(this.shared, TAIL, (tail + 1) >>> 0);
    return true;
  }

  /** Producer: store at slot `local.tail` and advance it; nothing is published. */
  enqueueLocal(local: LocalTail, byte: number, tag: number = UNTAGGED): boolean {
    const tail = local.tail >>> 0;
    if ((tail - this.loadHead(tail)) >>> 0 === this.capacity) return false;
    const slot = tail & this.mask;
    this.data[slot] = byte;
    if (this.tags !== undefined) this.tags[slot] = tag;
    local.tail = (tail + 1) >>> 0;
    return true;
  }

  /** Consumer: read slot `head`, then publish `head + 1`; `undefined` if empty. Tag: `lastTag`. */
  dequeue(): number | undefined {
    const head = Atomics.load(this.shared, HEAD);
    if (this.loadTail(head) === head) return undefined;
    const slot = head & this.mask;
    const byte = this.data[slot]!;
    this.lastTagValue = this.tags === undefined ? UNTAGGED : this.tags[slot]!;
    Atomics.store(this.shared, HEAD, (head + 1) >>> 0);
    return byte;
  }

  /** Consumer: read slot `local.head` and advance it; nothing is published. Tag: `lastTag`. */
  dequeueLocal(local: LocalHead): number | undefined {
    const head = local.head >>> 0;
    if (this.loadTail(head) === head) return undefined;
    const slot = head & this.mask;
    const byte = this.data[slot]!;
    this.lastTagValue = this.tags === undefined ? UNTAGGED : this.tags[slot]!;
    local.head = (head + 1) >>> 0;
    return byte;
  }

  /**
   * Producer: publish `tail = localTail`. Checked mode first asserts, as debug builds do,
   * that the tail does not move backwards and the length stays within capacity.
   */
  updateSharedTail(localTail: number): void {
    const next = localTail >>> 0;
    if (this.checked) {
      const tail = Atomics.load(this.shared, TAIL);
      const head = this.loadHead(tail);
      const before = (tail - head) >>> 0;
      const after = (next - head) >>> 0;
      if (after < before) {
        throw new QueueAssertionError(
          "update_shared_tail: tail moves backwards",
          `tail 0x${tail.toString(16)} -> 0x${next.toString(16)}, head 0x${head.toString(16)}`,
        );
      }
      if (after > this.capacity) {
        throw new QueueAssertionError(
          "update_shared_tail: length exceeds capacity",
          `length ${after} > capacity ${this.capacity}`,
        );
      }
    }
    Atomics.store(this.shared, TAIL, next);
  }

  /**
   * Consumer: publish `head = localHead`. Checked mode first asserts, as debug builds do,
   * that the head does not move backwards (nor past the tail).
   */
  updateSharedHead(localHead: number): void {
    const next = localHead >>> 0;
    if (this.checked) {
      const head = Atomics.load(this.shared, HEAD);
      const tail = this.loadTail(head);
      if ((tail - next) >>> 0 > (tail - head) >>> 0) {
        throw new QueueAssertionError(
          "update_shared_head: head moves backwards or past tail",
          `head 0x${head.toString(16)} -> 0x${next.toString(16)}, tail 0x${tail.toString(16)}`,
        );
      }
    }
    Atomics.store(this.shared, HEAD, next);
  }

  /** Consumer: bytes readable from slot `head` without wrapping. */
  contiguousLength(): number {
    const head = Atomics.load(this.shared, HEAD);
    const length = (this.loadTail(head) - head) >>> 0;
    return Math.min(this.capacity - (head & this.mask), length);
  }

  /** Producer: `capacity - length`. */
  free(): number {
    const tail = Atomics.load(this.shared, TAIL);
    return this.capacity - ((tail - this.loadHead(tail)) >>> 0);
  }

  /** Producer: bytes writable from slot `tail` (shared) without wrapping. */
  contiguousFree(): number {
    const tail = Atomics.load(this.shared, TAIL);
    const free = this.capacity - ((tail - this.loadHead(tail)) >>> 0);
    return Math.min(this.capacity - (tail & this.mask), free);
  }

  /**
   * Producer: copy `min(src.length, free)` bytes at slot `tail` (splitting at the end of the
   * ring) and publish the new tail once. Silently truncates, like `serial_enqueue_batch`.
   * Works from the shared tail: do not mix with unpublished `enqueueLocal`s.
   * `srcTags` gives one tag per byte, or one tag for all of them; default `UNTAGGED`.
   * Returns the number of bytes copied.
   */
  enqueueBatch(src: Uint8Array, srcTags?: Uint32Array | number): number {
    if (typeof srcTags === "object" && srcTags.length < src.length) {
      throw new QueueConfigError(
        "BAD_TAGS",
        `serial queue: enqueue_batch given ${srcTags.length} tags for ${src.length} bytes`,
      );
    }
    const tail = Atomics.load(this.shared, TAIL);
    const free = this.capacity - ((tail - this.loadHead(tail)) >>> 0);
    const n = Math.min(src.length, free);
    if (n === 0) return 0;
    const slot = tail & this.mask;
    const first = Math.min(n, this.capacity - slot);
    if (first === src.length) this.data.set(src, slot);
    else this.data.set(src.subarray(0, first), slot);
    if (first < n) this.data.set(src.subarray(first, n), 0);
    if (this.tags !== undefined) this.copyTagsIn(slot, first, n, srcTags);
    this.publishTail((tail + n) >>> 0);
    return n;
  }

  /**
   * Producer: ask the consumer for a signal when it frees space: store 0 to
   * `producer_signalled`. The seq_cst store stands for the C store + seq_cst fence (§3.3).
   */
  requestConsumerSignal(): void {
    Atomics.store(this.shared, SIGNALLED, 0);
  }

  /** Consumer (right before notifying), or producer whose re-check succeeded: store 1. */
  cancelConsumerSignal(): void {
    Atomics.store(this.shared, SIGNALLED, 1);
  }

  /**
   * Consumer: does the producer want a signal (`producer_signalled == 0`)? The seq_cst load
   * stands for the C seq_cst fence + load; with the producer's request it forms the
   * store-buffering pair that forbids a lost wake-up (§3.3).
   */
  requireConsumerSignal(): boolean {
    return Atomics.load(this.shared, SIGNALLED) === 0;
  }

  private copyTagsIn(
    slot: number,
    first: number,
    n: number,
    srcTags: Uint32Array | number | undefined,
  ): void {
    const tags = this.tags!;
    if (typeof srcTags === "object") {
      tags.set(srcTags.subarray(0, first), slot);
      if (first < n) tags.set(srcTags.subarray(first, n), 0);
    } else {
      const tag = srcTags ?? UNTAGGED;
      tags.fill(tag, slot, slot + first);
      if (first < n) tags.fill(tag, 0, n - first);
    }
  }

  /** Publish a tail computed from free space; checked mode runs the debug asserts. */
  private publishTail(next: number): void {
    if (this.checked) this.updateSharedTail(next);
    else Atomics.store(this.shared, TAIL, next);
  }

  /** Consumer-side load of the producer's `tail`, validated against the consumer's head. */
  private loadTail(ownHead: number): number {
    const tail = Atomics.load(this.shared, TAIL);
    if ((tail - ownHead) >>> 0 > this.capacity) {
      throw new CorruptIndexError("tail", tail, ownHead, this.capacity);
    }
    return tail;
  }

  /** Producer-side load of the consumer's `head`, validated against the producer's tail. */
  private loadHead(ownTail: number): number {
    const head = Atomics.load(this.shared, HEAD);
    if ((ownTail - head) >>> 0 > this.capacity) {
      throw new CorruptIndexError("head", head, ownTail, this.capacity);
    }
    return head;
  }
}
