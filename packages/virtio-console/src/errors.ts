/**
 * The one error family of @vmmux/virtio-console. Guest-reachable misuse never throws out
 * of the device: the device records a {@link ConsoleFinding} instead. These errors are
 * for host-side misuse (bad options, a bad control buffer handed to the codec).
 */

/** Stable error codes. */
export type ConsoleErrorCode =
  | "control-short"
  | "control-event"
  | "options-invalid"
  | "port-out-of-range"
  | "guest-memory-exhausted"
  | "guest-device-absent"
  | "guest-probe-failed";

export class ConsoleError extends Error {
  override readonly name = "ConsoleError";
  constructor(
    readonly code: ConsoleErrorCode,
    message: string,
  ) {
    super(message);
  }
}
