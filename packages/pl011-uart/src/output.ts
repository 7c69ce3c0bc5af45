/**
 * Where transmitted characters go: the counters, a device trace record (when the character
 * is accounted at its own time), the optional `transmitted` record, the `onTransmit`
 * listeners and the owner's allocation-free {@link TransmitSink}.
 */
import type { PeerView, WireByte } from "./device-types.js";
import type { RegisterFile } from "./regfile.js";

/** `kind` argument of a {@link TransmitSink}: a character. */
export const WIRE_CHARACTER = 0;
/** `kind` argument of a {@link TransmitSink}: a break condition (the line held low). */
export const WIRE_BREAK = 1;
export type WireKind = typeof WIRE_CHARACTER | typeof WIRE_BREAK;

/**
 * Receives every character that leaves the TX line, in order, without an object per
 * character: its data bits (0 for a break), provenance tag, start-bit edge and end of the
 * last stop bit in ns, and {@link WireKind}. With arithmetic draining it may be called after
 * `endNs` has passed (at the next register access, interrupt edge or drain end, or
 * `Pl011Device.settle()`), never before, and always in wire order with exact times.
 */
export type TransmitSink = (
  byte: number,
  tag: number,
  startNs: number,
  endNs: number,
  kind: WireKind,
) => void;

export class TransmitOutput {
  /** Every transmitted character in order (when recording). */
  readonly transmitted: WireByte[] = [];
  private readonly listeners: Array<(b: WireByte) => void> = [];
  sink: TransmitSink | null;

  constructor(
    private readonly regs: RegisterFile,
    private readonly record: boolean,
    sink: TransmitSink | null,
  ) {
    this.sink = sink;
  }

  /** Whether anyone takes `WireByte` objects (listeners see each one as it is accounted). */
  get hasListeners(): boolean {
    return this.listeners.length > 0;
  }

  listen(listener: (b: WireByte) => void): void {
    this.listeners.push(listener);
  }

  /**
   * One character (or break) left the line. `traced`: it is accounted at its own end time,
   * so a device trace record stamped now is right.
   */
  emit(
    kind: WireKind,
    byte: number,
    tag: number,
    start: number,
    end: number,
    format: string,
    peer: PeerView | undefined,
    traced: boolean,
  ): void {
    const regs = this.regs;
    regs.counters.txEmitted++;
    const kindName = kind === WIRE_BREAK ? "break" : "byte";
    if (traced) regs.host.trace(regs.txTraceName, { byte, tag, kind: kindName });
    if (this.record || this.listeners.length > 0) {
      const b: WireByte = {
        kind: kindName,
        byte,
        tag,
        start,
        end,
        format,
        ...(peer === undefined ? {} : { peer }),
      };
      if (this.record) this.transmitted.push(b);
      for (const listener of this.listeners) listener(b);
    }
    this.sink?.(byte, tag, start, end, kind);
  }
}
