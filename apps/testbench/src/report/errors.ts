/**
 * Errors of the HTML report. Each has a stable `code`; messages are lower-case and name the
 * field or file at fault.
 */

export type ReportErrorCode =
  /** A number or span in the input cannot be drawn (not finite, ends before it starts). */
  | "REPORT_INVALID_INPUT"
  /** The inlined player's files are missing or would break out of their inline element. */
  | "REPORT_ASSET_UNUSABLE";

export class ReportError extends Error {
  constructor(
    readonly code: ReportErrorCode,
    /** The input field (e.g. `timeline.spans[3].end`) or asset file at fault. */
    readonly place: string,
    readonly problem: string,
  ) {
    super(`${place}: ${problem}`);
    this.name = "ReportError";
  }
}
