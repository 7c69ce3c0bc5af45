/**
 * Errors of `vmmux record`. Each has a stable `code`; messages are lower-case and name the
 * command or file at fault. A failed recording leaves no file behind (DESIGN.md "nothing is
 * written half-way").
 */

export type RecordErrorCode =
  /** The options cannot describe a recording (empty command, bad size or timeout). */
  | "RECORD_INVALID_OPTIONS"
  /** The command could not be started (not found, not executable). */
  | "RECORD_SPAWN_FAILED"
  /** The recording could not be written to the output path. */
  | "RECORD_WRITE_FAILED";

export class RecordError extends Error {
  constructor(
    readonly code: RecordErrorCode,
    /** The command line or output path the problem is about. */
    readonly subject: string,
    readonly problem: string,
  ) {
    super(`${subject}: ${problem}`);
    this.name = "RecordError";
  }
}
