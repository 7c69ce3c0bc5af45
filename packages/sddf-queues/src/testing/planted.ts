/**
 * Planted bugs: deliberately broken variants kept so that each property suite keeps proving
 * it can fail (COMMON conventions; DESIGN.md oracle 7). Never use them outside tests.
 */

import { UNTAGGED } from "../provenance.js";
import { SerialQueue } from "../queue.js";
import type { ProtocolCase } from "./protocol.js";

/**
 * The enqueue_batch of the sDDF queue before its rewrite (reference/sddf-serial.md §0,
 * commit "serial: fix queue implementation"): it copies only up to the end of the ring and
 * returns that short count, so a batch that wraps is truncated although space is free.
 */
export class TruncatingBatchQueue extends SerialQueue {
  override enqueueBatch(
    src: Uint8Array,
    srcTags?: Uint32Array | number,
    from = 0,
    count = src.length - from,
  ): number {
    const tail = this.tail;
    const n = Math.min(count, this.contiguousFree());
    const slot = this.slot(tail);
    this.data.set(src.subarray(from, from + n), slot);
    if (this.tags !== undefined) {
      for (let i = 0; i < n; i++) {
        this.tags[slot + i] =
          typeof srcTags === "object" ? srcTags[from + i]! : (srcTags ?? UNTAGGED);
      }
    }
    this.updateSharedTail((tail + n) >>> 0);
    return n;
  }
}

/**
 * Index arithmetic in plain JavaScript numbers instead of u32: `tail - head` is negative
 * once the tail has wrapped past 2^32 and the head has not (§2.3 "Width").
 */
export class UnwrappedLengthQueue extends SerialQueue {
  override lengthConsumer(): number {
    return this.tail - this.head;
  }
  override lengthProducer(): number {
    return this.tail - this.head;
  }
  override free(): number {
    return this.capacity - (this.tail - this.head);
  }
}

/**
 * A queue that trusts its peer: sizes come from unvalidated index loads, so a corrupt head
 * or tail turns into huge or negative lengths and out-of-range copies (§2.2: the reason the
 * capacity is kept private, which alone is not enough).
 */
export class TrustingQueue extends SerialQueue {
  override lengthConsumer(): number {
    return (this.tail - this.head) >>> 0;
  }
  override lengthProducer(): number {
    return (this.tail - this.head) >>> 0;
  }
  override free(): number {
    return this.capacity - ((this.tail - this.head) >>> 0);
  }
  override contiguousLength(): number {
    return Math.min(this.capacity - this.slot(this.head), this.lengthConsumer());
  }
  override enqueueBatch(
    src: Uint8Array,
    srcTags?: Uint32Array | number,
    from = 0,
    count = src.length - from,
  ): number {
    const tail = this.tail;
    const n = Math.min(count, this.free());
    const slot = this.slot(tail);
    const first = Math.min(n, this.capacity - slot);
    this.data.set(src.subarray(from, from + first), slot);
    if (first < n) this.data.set(src.subarray(from + first, from + n), 0);
    if (this.tags !== undefined && typeof srcTags !== "object") {
      this.tags.fill(srcTags ?? UNTAGGED, slot, slot + n);
    }
    this.updateSharedTail((tail + n) >>> 0);
    return n;
  }
  override dequeue(): number | undefined {
    const head = this.head;
    if (this.tail === head) return undefined;
    const byte = this.data[this.slot(head)];
    this.updateSharedHead((head + 1) >>> 0);
    return byte;
  }
}

/**
 * The producer of reference/sddf-serial.md §3.3 without the re-check after its request (as
 * virt_tx before sDDF 334e9be8, and libvmm's console TX path today): it can wait forever for
 * a signal the consumer decided not to send.
 */
export function withoutDoubleCheck(spec: Omit<ProtocolCase, "doubleCheck">): ProtocolCase {
  return { ...spec, doubleCheck: false };
}
