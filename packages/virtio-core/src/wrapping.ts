/**
 * Free-running 16-bit ring index (VirtIO 1.2 §2.7.13.3): `avail.idx` and `used.idx` only
 * increase and wrap at 65536. Keeping them in a type stops anyone forgetting the mask.
 */
export class Wrapping16 {
  /** The index value, always in 0..65535. */
  readonly value: number;

  private constructor(value: number) {
    this.value = value;
  }

  /** The index for any integer, reduced modulo 65536. */
  static of(value: number): Wrapping16 {
    return new Wrapping16(value & 0xffff);
  }

  static readonly ZERO = new Wrapping16(0);

  /** This index advanced by `n` (may be negative), wrapping. */
  add(n: number): Wrapping16 {
    return new Wrapping16((this.value + n) & 0xffff);
  }

  /** `(u16)(this − earlier)`: how far this index is ahead of `earlier`. */
  since(earlier: Wrapping16): number {
    return (this.value - earlier.value) & 0xffff;
  }

  /** Ring slot for a queue of `size` entries. Size 0 yields the unreduced index (AArch64 UDIV). */
  slot(size: number): number {
    return size === 0 ? this.value : this.value % size;
  }

  equals(other: Wrapping16): boolean {
    return this.value === other.value;
  }

  toString(): string {
    return String(this.value);
  }
}

/**
 * `vring_need_event` (VirtIO 1.2 §2.7.10, virtio_queue.h): after moving an index from `old`
 * to `next`, notify iff `event` lies in `[old, next)` modulo 2^16.
 */
export function needEvent(event: Wrapping16, next: Wrapping16, old: Wrapping16): boolean {
  return next.add(-event.value - 1).value < next.since(old);
}
