/**
 * Counters for the loss and delay points of sddf-serial reference §10 that live in the
 * virtualisers. Each counts events, and where bytes are involved, bytes.
 */

/** virt_rx points (§10 R5–R7). */
export interface VirtRxLoss {
  /** R5: bytes dropped because the selected client's RX queue was full. */
  R5: number;
  /** R6: bytes consumed by switch handling (switch chars, digits, terminators, aborting bytes). */
  R6: number;
  /** R6, the subset that ended a sequence as invalid (bad digit, too many digits, invalid client). */
  R6Invalid: number;
  /** R7: `rx_return` passes that ended with a half-typed switch sequence (mode stalled). */
  R7: number;
}

/** virt_tx points (§10 T4, T5, T7, T8) and the line-atomic option's reports. */
export interface VirtTxLoss {
  /** T4: attempts to move a unit that can never fit the driver queue (reference stall). */
  T4: number;
  /** T5: units that did not fit the driver queue yet and went onto the pending list. */
  T5: number;
  /** T7: bytes lost because `transfer_all` overran the driver queue. */
  T7: number;
  /**
   * T8: times the re-check after the signal request found the space the driver freed in the
   * window of §3.3, i.e. lost wake-ups that the re-check averted.
   */
  T8Averted: number;
  /** Line-atomic option: lines that had to be split (too long for a queue). */
  lineSplit: number;
}

export function newVirtRxLoss(): VirtRxLoss {
  return { R5: 0, R6: 0, R6Invalid: 0, R7: 0 };
}

export function newVirtTxLoss(): VirtTxLoss {
  return { T4: 0, T5: 0, T7: 0, T8Averted: 0, lineSplit: 0 };
}
