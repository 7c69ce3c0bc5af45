/**
 * `serial_transfer_all` and `serial_transfer_all_colour` (reference/sddf-serial.md §2.4):
 * move everything the source holds into the destination, one contiguous source chunk at a
 * time (one destination-tail publish and one source-head publish per chunk, §2.6), re-reading
 * the source tail each round so bytes published meanwhile move too. Provenance tags travel
 * with the bytes.
 */

import { QueueAssertionError } from "./errors.js";
import { UNTAGGED } from "./provenance.js";
import type { SerialQueue } from "./queue.js";

/**
 * What happens to source bytes that do not fit the destination (§10 T7).
 * - `"drop"`: the release-build C behaviour: the failed assert is ignored and the source
 *   head advances by the whole chunk, so the bytes that did not fit are lost (and counted).
 * - `"keep"`: the hardened fix: the source head advances only by what was copied; the rest
 *   stays in the source for the next transfer.
 * Checked mode throws `QueueAssertionError` before either happens.
 */
export type TransferOverflow = "drop" | "keep";

export interface TransferOptions {
  overflow?: TransferOverflow;
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
  return moveChunks(dst, src, options.overflow ?? "drop");
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
  const result = moveChunks(dst, src, options.overflow ?? "drop");
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

function moveChunks(
  dst: SerialQueue,
  src: SerialQueue,
  overflow: TransferOverflow,
): TransferResult {
  let moved = 0;
  let dropped = 0;
  // A producer that keeps publishing could hold its consumer here forever; one source
  // capacity per call bounds the loop. Its notification is pending, so the rest moves on
  // the next call. In a single-threaded simulation the bound never bites.
  let budget = src.capacity;
  let head = src.head;
  for (;;) {
    const length = src.lengthConsumer();
    if (length === 0 || budget === 0) break;
    const slot = src.slot(head);
    const chunk = Math.min(length, src.capacity - slot, budget);
    const copied = dst.enqueueBatch(
      src.data.subarray(slot, slot + chunk),
      src.tags === undefined ? UNTAGGED : src.tags.subarray(slot, slot + chunk),
    );
    moved += copied;
    if (copied < chunk) {
      if (dst.checked || src.checked) {
        throw new QueueAssertionError(
          "transfer_all: batch truncated",
          `${copied} of ${chunk} bytes copied`,
        );
      }
      if (overflow === "keep") {
        head = (head + copied) >>> 0;
        src.updateSharedHead(head);
        break;
      }
      dropped += chunk - copied;
    }
    head = (head + chunk) >>> 0;
    src.updateSharedHead(head);
    budget -= chunk;
  }
  return { moved, dropped };
}
