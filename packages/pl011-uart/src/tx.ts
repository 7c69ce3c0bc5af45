/**
 * The transmit path of the real PL011 (pl011 reference §3.3, §5, §6.1, §7): the TX FIFO,
 * the shift register moving one character per frame time while UARTEN, TXE (and CTS with
 * CTSEn) allow, the TX interrupt on the downward level crossing, BUSY, break generation and
 * loopback into the receiver. QEMU's transmitter (no FIFO) is in `qemu.ts`.
 *
 * Two ways to move characters, with identical observable results (wire bytes and times,
 * interrupt edges, register reads, counters): one timer event per character
 * (`exactCharacterEvents`, the default), or arithmetic draining, where characters that
 * end while nothing can observe the line are accounted at the next observation (register
 * access, modem change, {@link Transmitter.settle}) from the line time alone, and one timer
 * stays armed for the next moment that changes something by itself: the TX level crossing
 * while TXIM is set, or the end of the drain. Characters go one event each when
 * their own end is observable (loopback into the receiver, `onTransmit` listeners).
 * Arithmetic draining assumes what the Microkit kernel guarantees: a register access at
 * time t comes after every device event due at t (the kernel re-arms its thread timer on
 * every exit, so device events already queued for t run first).
 */
import type { TimerHandle } from "@vmmux/microkit-pd";
import type { PeerView } from "./device-types.js";
import type { TaggedFifo } from "./fifo.js";
import { divisorValid, FractionalClock } from "./line.js";
import { type TransmitOutput, WIRE_BREAK, WIRE_CHARACTER } from "./output.js";
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
  /** Account every character that has ended by now (before anything observes the device). */
  settle(): void;
  /** After a change the device made: arm the next self-timed moment, if any. */
  rearm(): void;
  reset(): void;
}

/** What the peer's receiver makes of one transmitted frame (bit-level peer only). */
export type PeerDecoder = (byte: number, start: number, end: number) => PeerView;

export interface FifoTransmitterOptions {
  readonly instant: boolean;
  readonly decode: PeerDecoder | null;
  /** One timer event per character (default), or arithmetic draining. */
  readonly exactCharacterEvents: boolean;
}

export class FifoTransmitter implements Transmitter {
  // The character in the shift register (no object per character).
  private shifting = false;
  private shiftByte = 0;
  private shiftTag = 0;
  private shiftStart = 0;
  private shiftEnd = 0;
  private shiftFormat = "";
  private timer: TimerHandle | null = null;
  private timerAt = 0;
  private lineFreeAt = 0;
  protected readonly clock = new FractionalClock();
  private breakStart: number | null = null;
  private readonly instant: boolean;
  private readonly decode: PeerDecoder | null;
  /** Arithmetic draining is on (never with an instant line: nothing to skip). */
  private readonly arithmetic: boolean;
  private settling = false;
  private readonly finishNow = () => this.finishTimer();
  private readonly wake = () => this.wakeTimer();

  constructor(
    protected readonly regs: RegisterFile,
    protected readonly fifo: TaggedFifo,
    private readonly rx: Receiver,
    private readonly output: TransmitOutput,
    options: FifoTransmitterOptions,
  ) {
    this.instant = options.instant;
    this.decode = options.decode;
    this.arithmetic = !options.exactCharacterEvents && !options.instant;
  }

  get fifoLevel(): number {
    return this.fifo.length;
  }

  flags(): number {
    let fr = 0;
    if (this.fifo.length === 0) fr |= Fr.TXFE;
    if (this.fifo.length >= this.regs.activeDepth) fr |= Fr.TXFF;
    if (this.fifo.length > 0 || this.shifting) fr |= Fr.BUSY;
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

  start(): void {
    this.startAt(this.regs.host.now());
  }

  /** Move the next FIFO entry into the shift register at `now` if the transmitter may run. */
  private startAt(now: number): void {
    if (this.shifting || this.fifo.length === 0) return;
    if (!this.canTransmit()) return;
    const regs = this.regs;
    const byte = this.fifo.peekValue();
    const tag = this.fifo.peekTag();
    this.fifo.drop();
    const n = this.fifo.length;
    const level = regs.txLevel();
    if (n + 1 > level && n <= level) regs.ris |= Int.TX;
    if (now > this.lineFreeAt) this.clock.reset();
    const duration = this.instant ? 0 : this.clock.step(regs.frameDuration);
    this.shifting = true;
    this.shiftByte = byte & ((1 << regs.format.dataBits) - 1);
    this.shiftTag = tag;
    this.shiftStart = now;
    this.shiftEnd = now + duration;
    this.shiftFormat = regs.formatName;
    this.lineFreeAt = now + duration;
    if (!this.arithmetic) this.timer = regs.host.at(now + duration, this.finishNow);
    regs.updateIrq();
  }

  private finishTimer(): void {
    this.timer = null;
    if (this.shifting) this.finishAt(this.regs.host.now());
  }

  /** The character in the shift register ends at `end`; the next one starts back to back. */
  private finishAt(end: number): void {
    this.shifting = false;
    const regs = this.regs;
    if (regs.cr & Cr.LBE) {
      // Loopback: the serial output is fed to the receiver, not the pin (reference §3.6).
      if ((regs.cr & Cr.RXE) !== 0) this.rx.receive(this.shiftByte, this.shiftTag, undefined);
    } else {
      const start = this.shiftStart;
      this.output.emit(
        WIRE_CHARACTER,
        this.shiftByte,
        this.shiftTag,
        start,
        end,
        this.shiftFormat,
        this.decode ? this.decode(this.shiftByte, start, end) : undefined,
        !this.arithmetic,
      );
    }
    this.startAt(end);
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
      this.output.emit(WIRE_BREAK, 0, 0, this.breakStart, now, "break", undefined, true);
      this.breakStart = null;
    }
  }

  settle(): void {
    if (!this.arithmetic || this.settling) return;
    this.settling = true; // a sink or listener that reads the device must not re-enter
    try {
      const now = this.regs.host.now();
      while (this.shifting && this.shiftEnd <= now) this.finishAt(this.shiftEnd);
    } finally {
      this.settling = false;
    }
  }

  rearm(): void {
    if (!this.arithmetic) return;
    const at = this.shifting ? this.nextWake() : Number.POSITIVE_INFINITY;
    if (this.timer !== null) {
      // An earlier wake may stay: it settles and re-arms when it fires.
      if (this.timerAt <= at) return;
      this.regs.host.cancel(this.timer);
      this.timer = null;
    }
    if (at === Number.POSITIVE_INFINITY) return;
    this.timerAt = at;
    this.timer = this.regs.host.at(at, this.wake);
  }

  private wakeTimer(): void {
    this.timer = null;
    this.settle();
    this.rearm();
  }

  /**
   * The next moment the transmitter changes something nobody has to ask for: each
   * character's end when it feeds the receiver or listeners; otherwise the TX level
   * crossing when it would raise the line, or the end of the last queued character.
   */
  private nextWake(): number {
    const regs = this.regs;
    if (regs.cr & Cr.LBE || this.output.hasListeners) return this.shiftEnd;
    const queued = this.fifo.length;
    if (!this.canTransmit()) return this.shiftEnd;
    let wake = this.endAfter(queued);
    const level = regs.txLevel();
    if (regs.imsc & Int.TX && !(regs.ris & Int.TX) && queued > level) {
      // The character that leaves `level` entries behind starts after `queued − level − 1`
      // more characters have ended (reference §7: TX is raised on the downward crossing).
      wake = Math.min(wake, this.endAfter(queued - level - 1));
    }
    return wake;
  }

  /** End of the `n`-th character after the one shifting, sent back to back. */
  protected endAfter(n: number): number {
    return this.shiftEnd + this.clock.peekSteps(this.regs.frameDuration, n);
  }

  reset(): void {
    if (this.timer !== null) this.regs.host.cancel(this.timer);
    this.timer = null;
    this.fifo.clear();
    this.shifting = false;
    this.breakStart = null;
  }
}
