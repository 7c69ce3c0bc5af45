/**
 * The one error family of @vmmux/virtio-console. Guest-reachable misuse never throws out
 * of the device: the device records a {@link ConsoleFinding} instead. These errors are
 * for host-side misuse (bad options, a bad control buffer handed to the codec) and for the
 * guest model giving up where Linux would.
 */

/** Stable error codes and the clause or reference fact each names. */
export const CONSOLE_ERROR_CLAUSES = {
  "control-short": "VirtIO 1.2 §5.3.6.2 (a control message has an 8-byte header)",
  "control-event": "VirtIO 1.2 §5.3.6.2 (control events 0–7)",
  "options-invalid": "reference virtio §4.1, §3.1 (console device configuration)",
  "port-out-of-range": "VirtIO 1.2 §5.3.2, §5.3.6.2 (port id below max_nr_ports)",
  "guest-memory-exhausted": "reference virtio §5.1 (Linux allocates the rings in guest RAM)",
  "guest-device-absent": "VirtIO 1.2 §4.2.3.1 (magic, version 2 and a non-zero DeviceID)",
  "guest-probe-failed": "VirtIO 1.2 §3.1.1, reference virtio §5.1 (Linux probe sequence)",
} as const;

export type ConsoleErrorCode = keyof typeof CONSOLE_ERROR_CLAUSES;

export class ConsoleError extends Error {
  override readonly name = "ConsoleError";
  /** The spec clause or reference fact this error names. */
  readonly clause: string;
  constructor(
    readonly code: ConsoleErrorCode,
    message: string,
  ) {
    super(message);
    this.clause = CONSOLE_ERROR_CLAUSES[code];
  }
}
