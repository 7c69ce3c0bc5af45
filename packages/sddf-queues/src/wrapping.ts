/**
 * Free-running 32-bit queue index (reference/sddf-serial.md §2.3 "Width"): `head`, `tail`
 * and every local copy are `uint32_t`, incremented without bound and wrapping at 2^32.
 *
 * A branded number rather than an object (virtio-core's `Wrapping16` is the model): the
 * index moves once per byte on the serial path, so the type must cost no allocation.
 * A `Wrapping32` is always an integer in `[0, 2^32)`; it is still a `number`, so it can be
 * passed wherever the queue takes an index.
 */
export type Wrapping32 = number & { readonly __wrapping32: unique symbol };

/** Index arithmetic modulo 2^32, so that callers never write `>>> 0` themselves. */
export const Wrapping32 = {
  /** The index for any integer, reduced modulo 2^32. */
  of(value: number): Wrapping32 {
    return (value >>> 0) as Wrapping32;
  },

  /** Index zero. */
  ZERO: 0 as Wrapping32,

  /** `index + n` modulo 2^32 (`n` may be negative). */
  add(index: number, n: number): Wrapping32 {
    return ((index + n) >>> 0) as Wrapping32;
  },

  /** `(u32)(later − earlier)`: how far `later` is ahead of `earlier` (a queue length). */
  since(later: number, earlier: number): number {
    return (later - earlier) >>> 0;
  },
} as const;
