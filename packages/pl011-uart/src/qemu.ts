/**
 * QEMU's PL011 (`hw/char/pl011.c`) as a policy, pl011 reference §8: no TX FIFO (each DR
 * write leaves at once, TXFE always set), TX status set by every write and cleared only by
 * ICR, RX trigger fixed at one entry, no receive timeout, no line errors, input held back
 * on the host side instead of overrunning, an FEN toggle resets the RX FIFO, and
 * UARTEN/TXE/RXE do not gate data.
 */
import type { Pl011Behaviour } from "./behaviour.js";
import { type TransmitOutput, WIRE_CHARACTER } from "./output.js";
import type { RegisterFile } from "./regfile.js";
import { Cr, Fr, Int, LcrH } from "./registers.js";
import type { Receiver } from "./rx.js";
import type { Transmitter } from "./tx.js";
import { HeldBackWire } from "./wire.js";

/** QEMU's transmitter: each DR write goes to the chardev synchronously (reference §8). */
export class ImmediateTransmitter implements Transmitter {
  readonly fifoLevel = 0;

  constructor(
    private readonly regs: RegisterFile,
    private readonly rx: Receiver,
    private readonly output: TransmitOutput,
  ) {}

  flags(): number {
    return Fr.TXFE;
  }

  writeDr(byte: number, tag: number): void {
    const regs = this.regs;
    regs.counters.txWritten++;
    regs.ris |= Int.TX;
    const now = regs.host.now();
    this.output.emit(WIRE_CHARACTER, byte, tag, now, now, "qemu", undefined, true);
    // Loopback copies the byte into the RX FIFO as well (reference §8 "CR").
    if (regs.cr & Cr.LBE) this.rx.receive(byte, tag, undefined);
    regs.updateIrq();
  }

  start(): void {}

  lineControlWritten(): void {}

  settle(): void {}

  rearm(): void {}

  reset(): void {}
}

export const QEMU_BEHAVIOUR: Pl011Behaviour = {
  variant: "qemu",
  defaultRevision: "r1p1",
  receiveTimeout: false,
  fifoDepth: () => 16,
  raisedOnStore: (before) => (before === 0 ? Int.RX : 0),
  clearedByRead: (remaining) => (remaining === 0 ? Int.RX : 0),
  rsrAfterRead: (_rsr, status) => status,
  errorBits: () => 0,
  makeWire: (ctx) => new HeldBackWire(ctx.regs, ctx.rx),
  makeTransmitter: (ctx) => new ImmediateTransmitter(ctx.regs, ctx.rx, ctx.output),
  lineControlWritten({ regs, rx, wire }, old, value) {
    if ((old ^ value) & LcrH.FEN) {
      // QEMU resets the RX FIFO on any FEN toggle, discarding unread input (§8).
      rx.flushAll();
      regs.ris &= ~Int.RX;
    }
    regs.updateIrq();
    wire.lineChanged();
  },
};
