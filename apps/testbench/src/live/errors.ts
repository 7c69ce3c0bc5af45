/**
 * Errors of `vmmux live`. Stable `code`s; lower-case messages naming the option or file at
 * fault. What a user types never raises one: typed bytes are the guests' business.
 */

export type LiveErrorCode =
  /** An option value that cannot describe a session (speed, profile). */
  | "LIVE_INVALID_OPTIONS"
  /** The system cannot give every guest a shell (a guest that is not a VMM). */
  | "LIVE_NO_SHELL_SYSTEM";

export class LiveError extends Error {
  constructor(
    readonly code: LiveErrorCode,
    /** The option or file the problem is about. */
    readonly subject: string,
    readonly problem: string,
  ) {
    super(`${subject}: ${problem}`);
    this.name = "LiveError";
  }
}
