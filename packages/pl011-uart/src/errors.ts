/**
 * The package's error family. Only host-side misuse (bad options, a wire event in the
 * past) throws; a PD's misuse of the registers is recorded as a {@link Pl011Diagnostic}
 * and contained, as real hardware would simply ignore it.
 */

export type Pl011ErrorCode =
  | "PL011_BAD_OPTION"
  | "PL011_WIRE_TIME_IN_PAST"
  | "PL011_BAD_WIRE_TIME"
  | "PL011_BAD_DRIVER_CONFIG"
  | "PL011_DRIVER_REGION";

/** Raised for host-side misuse of the device model or a driver configuration that cannot run. */
export class Pl011Error extends Error {
  constructor(
    readonly code: Pl011ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = "Pl011Error";
  }
}

/** A register access the model ignored, with the place it happened (offset, width). */
export interface Pl011Diagnostic {
  readonly time: number;
  readonly kind:
    | "unaligned-access"
    | "bad-width"
    | "unmapped-offset"
    | "write-to-read-only"
    | "read-of-write-only"
    | "read-empty-rx-fifo"
    | "write-full-tx-fifo"
    | "divisor-invalid";
  readonly offset: number;
  readonly message: string;
}
