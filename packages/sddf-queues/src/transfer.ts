/**
 * `serial_transfer_all` and `serial_transfer_all_colour` (reference/sddf-serial.md §2.4):
 * move everything the source holds into the destination, one contiguous source chunk at a
 * time (one destination-tail publish and one source-head publish per chunk, §2.6), re-reading
 * the source tail each round so bytes published meanwhile move too. Provenance tags travel
 * with the bytes.
 *
 * `ChunkTransfer` is the loop itself, one chunk per `step()`, for a PD that must be
 * preemptible between the chunks (virt_tx); `transferAll` runs it to the end.
 */

import { QueueAssertionError } from "./errors.js";
import { UNTAGGED } from "./provenance.js";
import type { SerialQueue } from "./queue.js";
import { Wrapping32 } from "./wrapping.js";

/**
 * What happens to source bytes that do not fit the destination (§10 T7).
 * - `"drop"`: the release-build C behaviour: the failed assert is ignored and the source
 *   head advances by the whole chunk, so the bytes that did not fit are lost (and counted).
 * - `"keep"`: the hardened fix: the source head advances only by what was copied; the rest
 *   stays in the source for the next transfer.
 * Checked mode throws `QueueAssertionError` before either happens.
 */
export type TransferOverflow = "drop" | "keep";

/**
 * How many source bytes one transfer may consume.
 * - a number: at most that many (a PD moving one measured unit passes the unit's length);
 * - `"none"`: no bound, as the C loop, which runs until it finds the source empty, so a
 *   producer that keeps publishing can hold its consumer in the loop (§2.4).
 * The default is one source capacity: the producer's notification is pending, so whatever
 * it publishes beyond that moves on the next call.
 */
export type TransferBound = number | "none";

export interface TransferOptions {
  overflow?: TransferOverflow;
  bound?: TransferBound;
}

export interface TransferResult {
  /** Source bytes now in the destination. */
  moved: number;
  /** Source bytes consumed but not copied (`overflow: "drop"` only). */
  dropped: number;
}

export interface ColourTransferResult extends TransferResult {
  /** Colour-string bytes that did not fit the destination. */
  colourDropped: number;
}

/**
 * One `serial_transfer_all` (consumer of `src`, producer of `dst`), advanced one contiguous
 * source chunk per `step()`. Reusable: `begin` starts the next transfer, so a PD keeps one
 * and allocates nothing per transfer.
 */
export class ChunkTransfer {
  /** The source's head as this transfer has advanced and published it. */
  head = 0;
  /** Source bytes this transfer may still consume (`Infinity` without a bound). */
  remaining = 0;
  /** Source bytes now in the destination, over all steps. */
  moved = 0;
  /** Source bytes consumed but not copied, over all steps (`overflow: "drop"`). */
  dropped = 0;
  /** Source bytes the last step consumed, and how many of them it copied. */
  chunk = 0;
  copied = 0;
  private dst: SerialQueue | undefined;
  private src: SerialQueue | undefined;
  private overflow: TransferOverflow = "drop";

  /**
   * Start a transfer from `src` to `dst`: take the source's head, reset the counts.
   * `bound` defaults to one source capacity, `overflow` to `"drop"` (see `TransferOptions`).
   */
  begin(
    dst: SerialQueue,
    src: SerialQueue,
    bound: TransferBound = src.capacity,
    overflow: TransferOverflow = "drop",
  ): this {
    this.dst = dst;
    this.src = src;
    this.overflow = overflow;
    this.head = src.head;
    this.remaining = bound === "none" ? Number.POSITIVE_INFINITY : bound;
    this.moved = 0;
    this.dropped = 0;
    this.chunk = 0;
    this.copied = 0;
    return this;
  }

  /**
   * Move the next contiguous chunk: `min(length, bytes to the ring's end, remaining)`, then
   * publish the source head. False when nothing moved: the bound is used up, the source is
   * empty, a `"keep"` transfer was cut short, or either queue is broken (a broken queue
   * never loses the other's bytes: the source head stays put).
   */
  step(): boolean {
    const dst = this.dst as SerialQueue;
    const src = this.src as SerialQueue;
    this.chunk = 0;
    this.copied = 0;
    if (this.remaining <= 0) return false;
    const length = src.lengthConsumer();
    if (length === 0) return false;
    const slot = src.slot(this.head);
    const chunk = Math.min(length, src.capacity - slot, this.remaining);
    const copied = dst.enqueueBatch(src.data, src.tags ?? UNTAGGED, slot, chunk);
    if (copied < chunk) {
      if (dst.checked || src.checked) {
        throw new QueueAssertionError(
          "transfer_all: batch truncated",
          `${copied} of ${chunk} bytes copied`,
        );
      }
      if (dst.broken !== undefined) return false;
    }
    const consumed = copied < chunk && this.overflow === "keep" ? copied : chunk;
    this.head = Wrapping32.add(this.head, consumed);
    src.updateSharedHead(this.head);
    this.moved += copied;
    this.dropped += consumed - copied;
    this.chunk = consumed;
    this.copied = copied;
    this.remaining = consumed < chunk ? 0 : this.remaining - chunk;
    return consumed > 0;
  }
}

/** Consumer of `src`, producer of `dst`: `serial_transfer_all`. */
export function transferAll(
  dst: SerialQueue,
  src: SerialQueue,
  options: TransferOptions = {},
): TransferResult {
  if (dst.checked || src.checked) {
    const length = src.lengthConsumer();
    const free = dst.free();
    if (length > free) {
      throw new QueueAssertionError(
        "transfer_all: source does not fit destination",
        `length ${length} > free ${free}`,
      );
    }
  }
  return runToEnd(dst, src, options);
}

/**
 * Consumer of `src`, producer of `dst`: `serial_transfer_all_colour`: `start`, then all of
 * `src`, then `end`, each published separately. Colour bytes carry `colourTag`.
 */
export function transferAllColour(
  dst: SerialQueue,
  src: SerialQueue,
  start: Uint8Array,
  end: Uint8Array,
  colourTag: number = UNTAGGED,
  options: TransferOptions = {},
): ColourTransferResult {
  const checked = dst.checked || src.checked;
  if (checked) {
    const length = src.lengthConsumer();
    const free = dst.free();
    if (length + start.length + end.length > free) {
      throw new QueueAssertionError(
        "transfer_all_colour: source and colour do not fit destination",
        `length ${length} + colour ${start.length + end.length} > free ${free}`,
      );
    }
  }
  let colourDropped = start.length - dst.enqueueBatch(start, colourTag);
  if (checked && colourDropped > 0) {
    throw new QueueAssertionError(
      "transfer_all_colour: colour string truncated",
      `${colourDropped} of ${start.length} start bytes did not fit`,
    );
  }
  const result = runToEnd(dst, src, options);
  const endDropped = end.length - dst.enqueueBatch(end, colourTag);
  if (checked && endDropped > 0) {
    throw new QueueAssertionError(
      "transfer_all_colour: colour string truncated",
      `${endDropped} of ${end.length} end bytes did not fit`,
    );
  }
  colourDropped += endDropped;
  return { ...result, colourDropped };
}

function runToEnd(dst: SerialQueue, src: SerialQueue, options: TransferOptions): TransferResult {
  const transfer = new ChunkTransfer().begin(dst, src, options.bound, options.overflow);
  while (transfer.step()) {}
  return { moved: transfer.moved, dropped: transfer.dropped };
}
