/**
 * The layout of `serial_queue_t` (reference/sddf-serial.md §2.1), the options and region
 * shapes of a `SerialQueue` handle (§2.2) and their validation, done once at construction.
 */

import { QueueConfigError } from "./errors.js";

/** Byte offsets of the fields of `serial_queue_t` (§2.1). */
export const QUEUE_TAIL_OFFSET = 0x0;
export const QUEUE_HEAD_OFFSET = 0x4;
export const QUEUE_PRODUCER_SIGNALLED_OFFSET = 0x8;
/** Size of `serial_queue_t` in bytes (§2.1). */
export const QUEUE_STRUCT_SIZE = 12;

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
  /** What a corrupt peer index does (default `"throw"`); see `CorruptIndexPolicy`. */
  onCorruptIndex?: CorruptIndexPolicy;
}

/**
 * What a handle does when it loads a peer index outside `0 <= tail - head <= capacity`
 * (§2.3 "a model should assert").
 * - `"throw"`: every load that sees a corrupt index throws `CorruptIndexError`.
 * - `"break"`: the handle records why in `broken` and stops: from then on (until `recover()`)
 *   every call is a no-op that moves nothing (lengths and free space 0, `empty` and `full`
 *   true, no publish, no signal), and callers test `broken` instead of catching.
 */
export type CorruptIndexPolicy = "throw" | "break";

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
  onCorruptIndex?: CorruptIndexPolicy;
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
export function checkRegion(what: "queue" | "data", region: RegionLike): void {
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

/**
 * Validate a handle's geometry once (§2.2, §2.3): a 4-byte aligned queue region holding
 * `serial_queue_t`, a power-of-two capacity the data region and the shadow can hold.
 * Returns the capacity.
 */
export function checkGeometry(
  queueRegion: Uint8Array,
  data: Uint8Array,
  options: SerialQueueOptions,
): number {
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
  return capacity;
}
