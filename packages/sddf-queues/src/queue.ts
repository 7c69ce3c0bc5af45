/**
 * The sDDF serial queue (reference/sddf-serial.md §2): a 12-byte shared struct
 * `{ tail @0x0, head @0x4, producer_signalled @0x8 }` (u32, little-endian) in a queue
 * region, and a separate data region of `capacity` bytes, slot of index `i` = `i mod capacity`.
 *
 * `SerialQueue` is the private per-PD handle (`serial_queue_handle_t`, §2.2): it keeps the
 * capacity itself so that a peer cannot enlarge the ring. Every method states the role that
 * may call it (§2.4). Indices are free-running u32 and wrap at 2^32 (§2.3).
 *
 * Memory ordering (§2.6): over shared memory every access to the three shared words goes
 * through `Atomics` (`SharedWords`), sequentially consistent in JavaScript: at least as strong
 * as the C library's acquire/release pairs (a consumer that loads `tail` sees the bytes stored
 * before it; a producer that loads `head` knows the freed slots were read) and its seq_cst
 * fences around `producer_signalled` (§3.3), so the queue is correct between two real threads
 * over a SharedArrayBuffer. Over an unshared buffer only one thread reaches the words, and
 * plain accesses give the same values.
 *
 * Hardening (§2.3, DESIGN.md isolation): each load of the index the *other* side writes is
 * checked against `0 <= tail - head <= capacity`. A violation is never acted on: by
 * `onCorruptIndex` the handle throws `CorruptIndexError` (the default) or stops and records
 * why in `broken` (`"break"`: every later call moves nothing). Slots are always masked into
 * the data region, so no index value can cause an out-of-bounds access.
 */

import { CorruptIndexError, QueueAssertionError, type QueueBreak } from "./errors.js";
import type {
  CorruptIndexPolicy,
  FromRegionsOptions,
  LocalHead,
  LocalTail,
  RegionLike,
  SerialQueueOptions,
} from "./layout.js";
import {
  checkGeometry,
  checkRegion,
  QUEUE_HEAD_OFFSET,
  QUEUE_PRODUCER_SIGNALLED_OFFSET,
  QUEUE_TAIL_OFFSET,
} from "./layout.js";
import { UNTAGGED } from "./provenance.js";
import { checkRange, ringRead, ringWrite } from "./ring.js";
import { provenanceShadow } from "./shadow.js";
import { SharedWords } from "./words.js";
import { Wrapping32 } from "./wrapping.js";

/** Re-exported for this package's own tests. */
export type { SerialQueueOptions } from "./layout.js";
export { MAX_CAPACITY } from "./layout.js";

const TAIL = QUEUE_TAIL_OFFSET >> 2;
const HEAD = QUEUE_HEAD_OFFSET >> 2;
const SIGNALLED = QUEUE_PRODUCER_SIGNALLED_OFFSET >> 2;

/** Handle on one sDDF serial queue: shared struct + data region + private capacity (§2.2). */
export class SerialQueue {
  readonly capacity: number;
  /** The data region (one byte per slot). */
  readonly data: Uint8Array;
  /** The provenance shadow of the data region, if any. */
  readonly tags: Uint32Array | undefined;
  readonly checked: boolean;
  readonly onCorruptIndex: CorruptIndexPolicy;
  private readonly shared: SharedWords;
  private readonly mask: number;
  private lastTagValue = UNTAGGED;
  /** Set once a corrupt index was seen under `"break"`: every call is then a no-op. */
  private breakRecord: QueueBreak | undefined = undefined;

  constructor(queueRegion: Uint8Array, data: Uint8Array, options: SerialQueueOptions = {}) {
    const capacity = checkGeometry(queueRegion, data, options);
    this.shared = new SharedWords(queueRegion.buffer, queueRegion.byteOffset);
    this.data = data;
    this.tags = options.tags;
    this.capacity = capacity;
    this.mask = capacity - 1;
    this.checked = options.checked ?? false;
    this.onCorruptIndex = options.onCorruptIndex ?? "throw";
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
      onCorruptIndex: options.onCorruptIndex ?? "throw",
      ...(tags === undefined ? {} : { tags }),
    });
  }

  /**
   * Either side, under `onCorruptIndex: "break"`: why this handle stopped (the corrupt peer
   * index it loaded, §2.3), or `undefined` while it works. Sticky until `recover()`.
   * Always `undefined` under `"throw"`, where the error carries the same record.
   */
  get broken(): QueueBreak | undefined {
    return this.breakRecord;
  }

  /**
   * Either side: clear `broken`, so the next call loads and validates the peer's index
   * afresh. For a PD that contains a peer for one operation rather than for good (the
   * virtualisers give their driver another try on its next notification).
   */
  recover(): void {
    this.breakRecord = undefined;
  }

  /** Shared `tail` (offset 0x0), written by the producer. */
  get tail(): number {
    return this.shared.load(TAIL);
  }

  /** Shared `head` (offset 0x4), written by the consumer. */
  get head(): number {
    return this.shared.load(HEAD);
  }

  /** Shared `producer_signalled` (offset 0x8): 0 = the producer wants a signal (§3.1). */
  get producerSignalled(): number {
    return this.shared.load(SIGNALLED);
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
    if (this.breakRecord !== undefined) return 0;
    const head = this.shared.load(HEAD);
    const tail = this.peerTail(head);
    return tail < 0 ? 0 : Wrapping32.since(tail, head);
  }

  /** Producer: `tail - head` (`serial_queue_length_producer`). */
  lengthProducer(): number {
    if (this.breakRecord !== undefined) return 0;
    const tail = this.shared.load(TAIL);
    const head = this.peerHead(tail);
    return head < 0 ? 0 : Wrapping32.since(tail, head);
  }

  /** Consumer: `localHead == tail`; without a local head, the shared head is used. */
  empty(localHead?: number): boolean {
    if (this.breakRecord !== undefined) return true;
    const head = localHead === undefined ? this.shared.load(HEAD) : Wrapping32.of(localHead);
    const tail = this.peerTail(head);
    return tail < 0 || tail === head;
  }

  /** Producer: `localTail - head == capacity`; without a local tail, the shared tail is used. */
  full(localTail?: number): boolean {
    if (this.breakRecord !== undefined) return true;
    const tail = localTail === undefined ? this.shared.load(TAIL) : Wrapping32.of(localTail);
    const head = this.peerHead(tail);
    return head < 0 || Wrapping32.since(tail, head) === this.capacity;
  }

  /** Producer: store `byte` (and `tag`) at slot `tail`, then publish `tail + 1`; false if full. */
  enqueue(byte: number, tag: number = UNTAGGED): boolean {
    if (this.breakRecord !== undefined) return false;
    const tail = this.shared.load(TAIL);
    if (!this.storeAt(tail, byte, tag)) return false;
    this.shared.store(TAIL, Wrapping32.add(tail, 1));
    return true;
  }

  /** Producer: store at slot `local.tail` and advance it; nothing is published. */
  enqueueLocal(local: LocalTail, byte: number, tag: number = UNTAGGED): boolean {
    if (this.breakRecord !== undefined) return false;
    const tail = Wrapping32.of(local.tail);
    if (!this.storeAt(tail, byte, tag)) return false;
    local.tail = Wrapping32.add(tail, 1);
    return true;
  }

  /** Consumer: read slot `head`, then publish `head + 1`; `undefined` if empty. Tag: `lastTag`. */
  dequeue(): number | undefined {
    if (this.breakRecord !== undefined) return undefined;
    const head = this.shared.load(HEAD);
    const byte = this.loadAt(head);
    if (byte !== undefined) this.shared.store(HEAD, Wrapping32.add(head, 1));
    return byte;
  }

  /** Consumer: read slot `local.head` and advance it; nothing is published. Tag: `lastTag`. */
  dequeueLocal(local: LocalHead): number | undefined {
    if (this.breakRecord !== undefined) return undefined;
    const head = Wrapping32.of(local.head);
    const byte = this.loadAt(head);
    if (byte !== undefined) local.head = Wrapping32.add(head, 1);
    return byte;
  }

  /**
   * Producer: publish `tail = localTail`. Checked mode first asserts, as debug builds do,
   * that the tail does not move backwards and the length stays within capacity.
   */
  updateSharedTail(localTail: number): void {
    if (this.breakRecord !== undefined) return;
    const next = Wrapping32.of(localTail);
    if (this.checked) {
      const tail = this.shared.load(TAIL);
      const head = this.peerHead(tail);
      if (head < 0) return;
      const before = Wrapping32.since(tail, head);
      const after = Wrapping32.since(next, head);
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
    this.shared.store(TAIL, next);
  }

  /**
   * Consumer: publish `head = localHead`. Checked mode first asserts, as debug builds do,
   * that the head does not move backwards (nor past the tail).
   */
  updateSharedHead(localHead: number): void {
    if (this.breakRecord !== undefined) return;
    const next = Wrapping32.of(localHead);
    if (this.checked) {
      const head = this.shared.load(HEAD);
      const tail = this.peerTail(head);
      if (tail < 0) return;
      if (Wrapping32.since(tail, next) > Wrapping32.since(tail, head)) {
        throw new QueueAssertionError(
          "update_shared_head: head moves backwards or past tail",
          `head 0x${head.toString(16)} -> 0x${next.toString(16)}, tail 0x${tail.toString(16)}`,
        );
      }
    }
    this.shared.store(HEAD, next);
  }

  /** Consumer: bytes readable from slot `head` without wrapping. */
  contiguousLength(): number {
    if (this.breakRecord !== undefined) return 0;
    const head = this.shared.load(HEAD);
    const tail = this.peerTail(head);
    if (tail < 0) return 0;
    return Math.min(this.capacity - (head & this.mask), Wrapping32.since(tail, head));
  }

  /** Producer: `capacity - length`. */
  free(): number {
    if (this.breakRecord !== undefined) return 0;
    const tail = this.shared.load(TAIL);
    const head = this.peerHead(tail);
    return head < 0 ? 0 : this.capacity - Wrapping32.since(tail, head);
  }

  /** Producer: bytes writable from slot `tail` (shared) without wrapping. */
  contiguousFree(): number {
    if (this.breakRecord !== undefined) return 0;
    const tail = this.shared.load(TAIL);
    const head = this.peerHead(tail);
    if (head < 0) return 0;
    return Math.min(
      this.capacity - (tail & this.mask),
      this.capacity - Wrapping32.since(tail, head),
    );
  }

  /**
   * Producer: copy `min(count, free)` bytes of `src[from ..]` at slot `tail` (splitting at
   * the end of the ring) and publish the new tail once (`serial_enqueue_batch`, §2.4).
   * Silently truncates, like the C call. Works from the shared tail: do not mix with
   * unpublished `enqueueLocal`s. `srcTags` gives one tag per byte (indexed like `src`), or
   * one tag for all of them; default `UNTAGGED`. Returns the number of bytes copied.
   */
  enqueueBatch(
    src: Uint8Array,
    srcTags?: Uint32Array | number,
    from = 0,
    count: number = src.length - from,
  ): number {
    const tail = this.shared.load(TAIL);
    const n = this.copyIn(tail, src, srcTags, from, count);
    if (n > 0) this.publishTail(Wrapping32.add(tail, n));
    return n;
  }

  /**
   * Producer: `enqueueBatch` at `local.tail`, advancing it; nothing is published (the batch
   * mirror of `enqueueLocal`; publish with `updateSharedTail`). Returns the count copied.
   */
  enqueueBatchLocal(
    local: LocalTail,
    src: Uint8Array,
    srcTags?: Uint32Array | number,
    from = 0,
    count: number = src.length - from,
  ): number {
    const n = this.copyIn(Wrapping32.of(local.tail), src, srcTags, from, count);
    local.tail = Wrapping32.add(local.tail, n);
    return n;
  }

  /**
   * Consumer: copy up to `max` bytes from slots `[head, tail)` into `dst[at ..]` (and their
   * provenance tags into `dstTags[at ..]`, `UNTAGGED` without a shadow), then publish the
   * new head once: the consumer mirror of `serial_enqueue_batch` (§2.4), equal to that many
   * `serial_dequeue`s. Returns the number of bytes copied; 0 when empty.
   */
  dequeueBatch(
    dst: Uint8Array,
    dstTags?: Uint32Array,
    at = 0,
    max: number = dst.length - at,
  ): number {
    const head = this.shared.load(HEAD);
    const n = this.copyOut(head, dst, dstTags, at, max);
    if (n > 0) this.publishHead(Wrapping32.add(head, n));
    return n;
  }

  /**
   * Consumer: `dequeueBatch` from `local.head`, advancing it; nothing is published (the
   * batch mirror of `dequeueLocal`; publish with `updateSharedHead`).
   */
  dequeueBatchLocal(
    local: LocalHead,
    dst: Uint8Array,
    dstTags?: Uint32Array,
    at = 0,
    max: number = dst.length - at,
  ): number {
    const n = this.copyOut(Wrapping32.of(local.head), dst, dstTags, at, max);
    local.head = Wrapping32.add(local.head, n);
    return n;
  }

  /**
   * Producer: ask the consumer for a signal when it frees space: store 0 to
   * `producer_signalled`. The seq_cst store stands for the C store + seq_cst fence (§3.3).
   */
  requestConsumerSignal(): void {
    if (this.breakRecord !== undefined) return;
    this.shared.store(SIGNALLED, 0);
  }

  /** Consumer (right before notifying), or producer whose re-check succeeded: store 1. */
  cancelConsumerSignal(): void {
    if (this.breakRecord !== undefined) return;
    this.shared.store(SIGNALLED, 1);
  }

  /**
   * Consumer: does the producer want a signal (`producer_signalled == 0`)? The seq_cst load
   * stands for the C seq_cst fence + load; with the producer's request it forms the
   * store-buffering pair that forbids a lost wake-up (§3.3).
   */
  requireConsumerSignal(): boolean {
    if (this.breakRecord !== undefined) return false;
    return this.shared.load(SIGNALLED) === 0;
  }

  /** Store one byte at free-running `tail` unless full; false if full or broken. */
  private storeAt(tail: number, byte: number, tag: number): boolean {
    const head = this.peerHead(tail);
    if (head < 0 || Wrapping32.since(tail, head) === this.capacity) return false;
    const slot = tail & this.mask;
    this.data[slot] = byte;
    if (this.tags !== undefined) this.tags[slot] = tag;
    return true;
  }

  /** Read the byte at free-running `head` unless empty, setting `lastTag`. */
  private loadAt(head: number): number | undefined {
    const tail = this.peerTail(head);
    if (tail < 0 || tail === head) return undefined;
    const slot = head & this.mask;
    this.lastTagValue = this.tags === undefined ? UNTAGGED : this.tags[slot]!;
    return this.data[slot]!;
  }

  /** Copy up to `count` bytes in at free-running `tail` (wrapping); returns the count. */
  private copyIn(
    tail: number,
    src: Uint8Array,
    srcTags: Uint32Array | number | undefined,
    from: number,
    count: number,
  ): number {
    checkRange(src.length, from, count, srcTags);
    if (this.breakRecord !== undefined) return 0;
    const head = this.peerHead(tail);
    if (head < 0) return 0;
    const n = Math.min(count, this.capacity - Wrapping32.since(tail, head));
    if (n > 0) ringWrite(this, tail & this.mask, n, src, srcTags, from);
    return Math.max(n, 0);
  }

  /** Copy up to `max` bytes out from free-running `head` (wrapping); returns the count. */
  private copyOut(
    head: number,
    dst: Uint8Array,
    dstTags: Uint32Array | undefined,
    at: number,
    max: number,
  ): number {
    checkRange(dst.length, at, max, dstTags);
    if (this.breakRecord !== undefined) return 0;
    const tail = this.peerTail(head);
    if (tail < 0) return 0;
    const n = Math.min(max, Wrapping32.since(tail, head));
    if (n > 0) ringRead(this, head & this.mask, n, dst, dstTags, at);
    return Math.max(n, 0);
  }

  /** Publish a tail computed from free space; checked mode runs the debug asserts. */
  private publishTail(next: number): void {
    if (this.checked) this.updateSharedTail(next);
    else this.shared.store(TAIL, next);
  }

  /** Publish a head computed from the length; checked mode runs the debug asserts. */
  private publishHead(next: number): void {
    if (this.checked) this.updateSharedHead(next);
    else this.shared.store(HEAD, next);
  }

  /**
   * Consumer-side load of the producer's `tail`, validated against the consumer's head;
   * -1 when it is corrupt and the handle breaks instead of throwing.
   */
  private peerTail(ownHead: number): number {
    const tail = this.shared.load(TAIL);
    if (Wrapping32.since(tail, ownHead) > this.capacity) return this.corrupt("tail", tail, ownHead);
    return tail;
  }

  /** Producer-side load of the consumer's `head`, validated against the producer's tail. */
  private peerHead(ownTail: number): number {
    const head = this.shared.load(HEAD);
    if (Wrapping32.since(ownTail, head) > this.capacity) return this.corrupt("head", head, ownTail);
    return head;
  }

  /** Throw, or record the violation, halt the handle and return -1. */
  private corrupt(field: "tail" | "head", value: number, against: number): number {
    const error = new CorruptIndexError(field, value, against, this.capacity);
    if (this.onCorruptIndex === "throw") throw error;
    this.breakRecord = error;
    return -1;
  }
}
