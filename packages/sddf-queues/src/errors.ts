/**
 * The one error family of @vmmux/sddf-queues. Every class carries a stable `code`;
 * `SddfQueueError` is the discriminated union over them.
 *
 * Configuration mistakes (bad capacity, region too small) are made by whoever builds the
 * system and throw at construction. A corrupt index written by the peer is detected on the
 * load that reads it (reference/sddf-serial.md §2.3: "a model should assert"). Checked mode
 * turns the C library's debug-build `assert`s (§2.4) into `QueueAssertionError`.
 */

/** Stable codes of the family. */
export type SddfQueueErrorCode =
  | "BAD_CAPACITY"
  | "BAD_QUEUE_REGION"
  | "BAD_TAGS"
  | "BAD_RANGE"
  | "CORRUPT_PEER_INDEX"
  | "ASSERTION_FAILED";

/** Base class of every error this package throws. */
export abstract class SerialQueueErrorBase extends Error {
  abstract readonly code: SddfQueueErrorCode;
}

/**
 * The queue was configured with regions or a capacity the sDDF queue cannot use (§2.2, §2.3),
 * or a batch call was given a range outside the caller's own array (`BAD_RANGE`).
 */
export class QueueConfigError extends SerialQueueErrorBase {
  constructor(
    readonly code: "BAD_CAPACITY" | "BAD_QUEUE_REGION" | "BAD_TAGS" | "BAD_RANGE",
    message: string,
  ) {
    super(message);
    this.name = "QueueConfigError";
  }
}

/** Which shared index a peer corrupted: the producer writes `tail`, the consumer `head` (§2.5). */
export type QueueIndexField = "tail" | "head";

/**
 * Why a queue handle is broken (`SerialQueue.broken`): the first peer index found outside
 * the invariant `0 <= tail - head <= capacity` (§2.3), with the values compared.
 */
export interface QueueBreak {
  readonly code: "CORRUPT_PEER_INDEX";
  /** The index the peer writes that was found inconsistent. */
  readonly field: QueueIndexField;
  /** Value loaded for `field`. */
  readonly value: number;
  /** The handle's own index it was compared against. */
  readonly against: number;
  readonly capacity: number;
  /** A one-line human description. */
  readonly message: string;
}

/**
 * A shared index read from the queue region puts the queue outside its invariant
 * `0 <= tail - head <= capacity` (mod 2^32, §2.3): length above capacity, or head past tail.
 */
export class CorruptIndexError extends SerialQueueErrorBase implements QueueBreak {
  readonly code = "CORRUPT_PEER_INDEX" as const;
  constructor(
    /** The index that was just loaded and found inconsistent (the one the peer writes). */
    readonly field: QueueIndexField,
    /** Value loaded for `field`. */
    readonly value: number,
    /** The index it was compared against (own shared or local index). */
    readonly against: number,
    readonly capacity: number,
  ) {
    const length = field === "tail" ? (value - against) >>> 0 : (against - value) >>> 0;
    const problem =
      length >= 2 ** 31
        ? `head passes tail (length ${length - 2 ** 32})`
        : `length ${length} exceeds capacity ${capacity}`;
    super(
      `serial queue: corrupt ${field} 0x${value.toString(16)} at queue offset ` +
        `0x${(field === "tail" ? 0 : 4).toString(16)}: ${problem}`,
    );
    this.name = "CorruptIndexError";
  }
}

/** Names of the C library's debug-build checks (§2.4). */
export type QueueAssertion =
  | "update_shared_tail: tail moves backwards"
  | "update_shared_tail: length exceeds capacity"
  | "update_shared_head: head moves backwards or past tail"
  | "transfer_all: source does not fit destination"
  | "transfer_all: batch truncated"
  | "transfer_all_colour: source and colour do not fit destination"
  | "transfer_all_colour: colour string truncated";

/** A debug-build `assert` of the C library failed (checked mode only). */
export class QueueAssertionError extends SerialQueueErrorBase {
  readonly code = "ASSERTION_FAILED" as const;
  constructor(
    readonly assertion: QueueAssertion,
    detail: string,
  ) {
    super(`serial queue assertion failed: ${assertion} (${detail})`);
    this.name = "QueueAssertionError";
  }
}

/** Every error this package throws, discriminated by `code`. */
export type SddfQueueError = QueueConfigError | CorruptIndexError | QueueAssertionError;

/** True for any error of this package's family. */
export function isSddfQueueError(e: unknown): e is SddfQueueError {
  return e instanceof SerialQueueErrorBase;
}
