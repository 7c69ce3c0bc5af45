/**
 * A plain-array model of one sDDF serial queue (reference/sddf-serial.md §2.3–§2.4): the
 * published bytes in order, the producer's unpublished local enqueues and the consumer's
 * unpublished local dequeues, and the u32 indices they imply. Used by the model-based suite
 * and reusable by packages above.
 */

import { UNTAGGED } from "../provenance.js";

/** One byte in the model, with its provenance tag. */
export interface ModelByte {
  byte: number;
  tag: number;
}

export class QueueModel {
  /** Published bytes, oldest first (`[head, tail)`). */
  readonly items: ModelByte[] = [];
  /** Bytes written by `enqueueLocal` but not yet published. */
  readonly pending: ModelByte[] = [];
  /** How many of `items` the consumer has taken with `dequeueLocal` but not published. */
  localConsumed = 0;
  /** Shared head and tail (u32). */
  head: number;
  tail: number;
  producerSignalled = 0;

  constructor(
    readonly capacity: number,
    start: number,
    /** Whether the real queue has a provenance shadow (otherwise tags read UNTAGGED). */
    readonly tagged: boolean,
  ) {
    this.head = start >>> 0;
    this.tail = start >>> 0;
  }

  get length(): number {
    return this.items.length;
  }

  get free(): number {
    return this.capacity - this.items.length;
  }

  get localTail(): number {
    return (this.tail + this.pending.length) >>> 0;
  }

  get localHead(): number {
    return (this.head + this.localConsumed) >>> 0;
  }

  contiguousLength(): number {
    return Math.min(this.capacity - (this.head % this.capacity), this.length);
  }

  contiguousFree(): number {
    return Math.min(this.capacity - (this.tail % this.capacity), this.free);
  }

  /** The tag as the real queue would report it. */
  seenTag(tag: number): number {
    return this.tagged ? tag >>> 0 : UNTAGGED;
  }

  /** Append published bytes (at most `free`), returning how many fit. */
  push(bytes: readonly ModelByte[]): number {
    const n = Math.min(bytes.length, this.free);
    for (let i = 0; i < n; i++) this.items.push(bytes[i]!);
    this.tail = (this.tail + n) >>> 0;
    return n;
  }

  /** Remove and return the `n` oldest published bytes. */
  take(n: number): ModelByte[] {
    const taken = this.items.splice(0, n);
    this.head = (this.head + taken.length) >>> 0;
    return taken;
  }
}
