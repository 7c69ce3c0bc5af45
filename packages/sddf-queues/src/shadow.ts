/**
 * One provenance shadow per data region, shared by every PD that maps it: two PDs that see
 * the same bytes (same buffer, same offset) must see the same tags, or a tag written by the
 * producer would be invisible to the consumer.
 */

import { QueueConfigError } from "./errors.js";

const shadows = new WeakMap<ArrayBufferLike, Map<number, Uint32Array>>();

/**
 * The tag array for `length` bytes at `byteOffset` of `buffer`, created zero-filled
 * (= UNTAGGED) on first use and returned again for the same buffer and offset (a later
 * request may be shorter, not longer). A shadow over
 * a SharedArrayBuffer is itself shared memory, but the registry is per thread: hand the
 * returned array to other workers explicitly.
 */
export function provenanceShadow(
  buffer: ArrayBufferLike,
  byteOffset: number,
  length: number,
): Uint32Array {
  if (!Number.isSafeInteger(byteOffset) || byteOffset < 0) {
    throw new QueueConfigError(
      "BAD_TAGS",
      `provenance shadow: byte offset ${byteOffset} is not a non-negative integer`,
    );
  }
  if (!Number.isSafeInteger(length) || length < 0 || byteOffset + length > buffer.byteLength) {
    throw new QueueConfigError(
      "BAD_TAGS",
      `provenance shadow: ${length} bytes at byte offset 0x${byteOffset.toString(16)} do not ` +
        `fit a buffer of ${buffer.byteLength} bytes`,
    );
  }
  let byOffset = shadows.get(buffer);
  if (byOffset === undefined) {
    byOffset = new Map();
    shadows.set(buffer, byOffset);
  }
  const existing = byOffset.get(byteOffset);
  if (existing !== undefined) {
    // Growing would hand later callers a different array than earlier ones.
    if (existing.length < length) {
      throw new QueueConfigError(
        "BAD_TAGS",
        `provenance shadow at byte offset 0x${byteOffset.toString(16)} already exists with ` +
          `${existing.length} tags; ${length} requested`,
      );
    }
    return existing;
  }
  const shared = typeof SharedArrayBuffer !== "undefined" && buffer instanceof SharedArrayBuffer;
  const fresh = new Uint32Array(
    shared ? new SharedArrayBuffer(length * 4) : new ArrayBuffer(length * 4),
  );
  byOffset.set(byteOffset, fresh);
  return fresh;
}
