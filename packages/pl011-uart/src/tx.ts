/**
 * The transmit path of the real PL011 (pl011 reference §3.3, §5, §6.1, §7): the TX FIFO,
 * the shift register moving one character per frame time while UARTEN, TXE (and CTS with
 * CTSEn) allow, the TX interrupt on the downward level crossing, BUSY, break generation and
 * loopback into the receiver. QEMU's transmitter (no FIFO) is in `qemu.ts`.
 */
import type { TimerHandle } from "@vmmux/microkit-pd";
import type { PeerView } from "./device-types.js";
import type { TaggedFifo } from "./fifo.js";
import { bitPeriods, divisorValid, FractionalClock, formatName, frameBits } from "./line.js";
import type { TransmitOutput } from "./output.js";
import type { RegisterFile } from "./regfile.js";
import { Cr, Fr, Int, LcrH, Reg } from "./registers.js";
import type { Receiver } from "./rx.js";

/** The part of the device that takes DR writes and puts characters on the TX line. */
export interface Transmitter {
  /** Entries waiting in the TX FIFO, not counting the shift register. */
  readonly fifoLevel: number;
  /** FR bits of the transmit side: TXFE, TXFF, BUSY (reference §3.3). */
  flags(): number;
  /** A DR write (reference §3.1, §6.1). */
  writeDr(byte: number, tag: number): void;
  /** Something that gates the transmitter changed (CR, modem inputs): start if allowed. */
  start(): void;
  /** LCR_H was written (`old` → `value`): FIFO flush, break. */
  lineControlWritten(old: number, value: number): void;
  reset(): void;
}

/** What the peer's receiver makes of one transmitted frame (bit-level peer only). */
export type PeerDecoder = (byte: number, start: number, end: number) => PeerView;

interface Shifting {
  readonly byte: number;
  readonly tag: number;
  readonly start: number;
  readonly format: string;
}

export class FifoTransmitter implements Transmitter {
  private shifting: Shifting | null = null;
  private timer: TimerHandle | null = null;
  private lineFreeAt = 0;
  private readonly clock = new FractionalClock();
  private breakStart: number | null = null;

  constructor(
    private readonly regs: RegisterFile,
    private readonly fifo: TaggedFifo,
    private readonly rx: Receiver,
    private readonly output: TransmitOutput,
    private readonly instant: boolean,
    private readonly decode: PeerDecoder | null,
  ) {}

  get fifoLevel(): number {
    return this.fifo.length;
  }

  flags(): number {
    let fr = 0;
    if (this.fifo.length === 0) fr |= Fr.TXFE;
    if (this.fifo.length >= this.regs.activeDepth) fr |= Fr.TXFF;
    if (this.fifo.length > 0 || this.shifting !== null) fr |= Fr.BUSY;
    return fr;
  }

  writeDr(byte: number, tag: number): void {
    const regs = this.regs;
    if (!this.fifo.push(byte, tag, regs.activeDepth)) {
      regs.counters.txDroppedFull++;
      regs.diagnose("write-full-tx-fifo", Reg.DR, "write to UARTDR with the TX FIFO full dropped");
      return;
    }
    regs.counters.txWritten++;
    if (this.fifo.length > regs.txLevel()) regs.ris &= ~Int.TX;
    this.start();
    regs.updateIrq();
  }

  private canTransmit(): boolean {
    const regs = this.regs;
    if ((regs.cr & (Cr.UARTEN | Cr.TXE)) !== (Cr.UARTEN | Cr.TXE)) return false;
    if (regs.lcrH & LcrH.BRK) return false;
    if (regs.cr & Cr.CTSEN && !regs.modem.cts) return false;
    return divisorValid(regs.latched);
  }

  /** Move the next FIFO entry into the shift register if the transmitter may run. */
  start(): void {
    if (this.shifting !== null || this.fifo.length === 0) return;
    if (!this.canTransmit()) return;
    const regs = this.regs;
    const now = regs.host.now();
    const byte = this.fifo.peekValue();
    const tag = this.fifo.peekTag();
    this.fifo.drop();
    const n = this.fifo.length;
    const level = regs.txLevel();
    if (n + 1 > level && n <= level) regs.ris |= Int.TX;
    const format = regs.format;
    if (now > this.lineFreeAt) this.clock.reset();
    const duration = this.instant
      ? 0
      : this.clock.step(bitPeriods(frameBits(format), regs.latched, regs.uartClockHz));
    const mask = (1 << format.dataBits) - 1;
    this.shifting = { byte: byte & mask, tag, start: now, format: formatName(format) };
    this.lineFreeAt = now + duration;
    this.timer = regs.host.at(now + duration, () => this.finish());
    regs.updateIrq();
  }

  private finish(): void {
    const shifted = this.shifting;
    this.timer = null;
    this.shifting = null;
    if (shifted === null) return;
    const regs = this.regs;
    const end = regs.host.now();
    if (regs.cr & Cr.LBE) {
      // Loopback: the serial output is fed to the receiver, not the pin (reference §3.6).
      if ((regs.cr & Cr.RXE) !== 0) this.rx.receive(shifted.byte, shifted.tag, undefined);
    } else {
      this.output.emit({
        kind: "byte",
        byte: shifted.byte,
        tag: shifted.tag,
        start: shifted.start,
        end,
        format: shifted.format,
        ...(this.decode ? { peer: this.decode(shifted.byte, shifted.start, end) } : {}),
      });
    }
    this.start();
    regs.updateIrq();
  }

  lineControlWritten(old: number, value: number): void {
    const regs = this.regs;
    if (old & LcrH.FEN && !(value & LcrH.FEN)) {
      // Clearing FEN flushes the TX FIFO (TRM programming sequence).
      regs.counters.txFlushed += this.fifo.length;
      this.fifo.clear();
    }
    const now = regs.host.now();
    if (!(old & LcrH.BRK) && value & LcrH.BRK) this.breakStart = now;
    if (old & LcrH.BRK && !(value & LcrH.BRK) && this.breakStart !== null) {
      this.output.emit({
        kind: "break",
        byte: 0,
        tag: 0,
        start: this.breakStart,
        end: now,
        format: "break",
      });
      this.breakStart = null;
    }
  }

  reset(): void {
    if (this.timer !== null) this.regs.host.cancel(this.timer);
    this.timer = null;
    this.fifo.clear();
    this.shifting = null;
    this.breakStart = null;
  }
}
