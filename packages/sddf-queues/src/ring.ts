import { QueueConfigError } from "./errors.js";
import { UNTAGGED } from "./provenance.js";

/**
 * Copies between a ring and a caller's array, and the range check of the batch calls.
 * No allocation: a typed-array `subarray` is a new object, so short
 * runs (the common case on a serial line) are copied by a loop and only long runs go through
 * `set`. Both give the same elements.
 */

/** Runs up to this length are copied element by element. */
const SHORT_RUN = 32;

/** `dst[dstAt .. dstAt+n) = src[srcAt .. srcAt+n)`, for ring bytes or their tags. */
function copyRun<T extends Uint8Array | Uint32Array>(
  dst: T,
  dstAt: number,
  src: T,
  srcAt: number,
  n: number,
): void {
  if (n <= SHORT_RUN) {
    for (let i = 0; i < n; i++) dst[dstAt + i] = src[srcAt + i]!;
  } else if (srcAt === 0 && n === src.length) {
    dst.set(src, dstAt);
  } else {
    dst.set(src.subarray(srcAt, srcAt + n), dstAt);
  }
}

/** The parts of a queue handle a copy touches. */
interface Ring {
  readonly capacity: number;
  readonly data: Uint8Array;
  readonly tags: Uint32Array | undefined;
}

/** Write `n` bytes of `src[from ..]` (and their tags) at `slot`, wrapping to slot 0. */
export function ringWrite(
  ring: Ring,
  slot: number,
  n: number,
  src: Uint8Array,
  srcTags: Uint32Array | number | undefined,
  from: number,
): void {
  const first = Math.min(n, ring.capacity - slot);
  copyRun(ring.data, slot, src, from, first);
  if (first < n) copyRun(ring.data, 0, src, from + first, n - first);
  const tags = ring.tags;
  if (tags === undefined) return;
  if (typeof srcTags === "object") {
    copyRun(tags, slot, srcTags, from, first);
    if (first < n) copyRun(tags, 0, srcTags, from + first, n - first);
  } else {
    const tag = srcTags ?? UNTAGGED;
    tags.fill(tag, slot, slot + first);
    if (first < n) tags.fill(tag, 0, n - first);
  }
}

/** Read `n` bytes from `slot` (wrapping) into `dst[at ..]`, tags into `dstTags[at ..]`. */
export function ringRead(
  ring: Ring,
  slot: number,
  n: number,
  dst: Uint8Array,
  dstTags: Uint32Array | undefined,
  at: number,
): void {
  const first = Math.min(n, ring.capacity - slot);
  copyRun(dst, at, ring.data, slot, first);
  if (first < n) copyRun(dst, at + first, ring.data, 0, n - first);
  if (dstTags === undefined) return;
  if (ring.tags === undefined) {
    dstTags.fill(UNTAGGED, at, at + n);
  } else {
    copyRun(dstTags, at, ring.tags, slot, first);
    if (first < n) copyRun(dstTags, at + first, ring.tags, 0, n - first);
  }
}

/**
 * A batch's `[start, start + n)` must lie inside the caller's array (and its tag array, when
 * one is given per byte); a bad range is the caller's mistake, never the peer's.
 */
export function checkRange(
  length: number,
  start: number,
  n: number,
  tags: Uint32Array | number | undefined,
): void {
  if (!Number.isInteger(start) || !Number.isInteger(n) || start < 0 || n < 0) {
    throw new QueueConfigError("BAD_RANGE", `serial queue: bad batch range ${start}+${n}`);
  }
  if (start + n > length) {
    throw new QueueConfigError(
      "BAD_RANGE",
      `serial queue: batch range ${start}+${n} exceeds an array of ${length}`,
    );
  }
  if (typeof tags === "object" && tags.length < start + n) {
    throw new QueueConfigError(
      "BAD_TAGS",
      `serial queue: batch given ${tags.length} tags for range ${start}+${n}`,
    );
  }
}
