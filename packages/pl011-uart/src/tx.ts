/**
 * The transmit path of the real PL011 (pl011 reference §3.3, §5, §6.1, §7): the TX FIFO,
 * the shift register moving one character per frame time while UARTEN, TXE (and CTS with
 * CTSEn) allow, the TX interrupt on the downward level crossing, BUSY, break generation and
 * loopback into the receiver. QEMU's transmitter (no FIFO) is in `qemu.ts`.
 *
 * Two ways to move characters, with identical observable results (wire bytes and times,
 * interrupt edges, register reads, counters, trace records, and the host's events, so the
 * kernel's event count too): the device's whole state machine at each character's end
 * (`exactCharacterEvents: true`), or arithmetic draining (the default). Draining keeps the
 * same host timer at the end of every character, armed at the same moment (when the one
 * before ends), but that timer only arms the next one and writes the trace record; the
 * characters themselves are accounted from the line time alone at the next observation
 * (register access, modem change, {@link Transmitter.settle}) or at a *wake*: the character
 * whose end changes something by itself (the TX level crossing while TXIM is set, the end of
 * the drain, every character while loopback or `onTransmit` listeners see each one).
 * A character is accounted only once its own timer has fired, so an access at the very
 * instant a character ends sees what it would see with the whole state machine: the
 * character still shifting when its timer comes later in the host's order. The timers before
 * a wake are the device's inert ticks (`DeviceHost.atTick`, microkit-pd's runtime/ticks.ts):
 * fast-forward may pass them by arithmetic ({@link FifoTransmitter.skip}).
 */
import type { DeviceHost, TimerHandle } from "@vmmux/microkit-pd";
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
  /** The whole state machine at each character's end, or arithmetic draining. */
  readonly exactCharacterEvents: boolean;
}

/** Also the device's inert ticks (microkit-pd's `InertTicks`: `inertUntil`, `tickAt`, `skip`). */
export class FifoTransmitter implements Transmitter {
  // The character in the shift register (no object per character).
  private shifting = false;
  private shiftByte = 0;
  private shiftTag = 0;
  private shiftStart = 0;
  private shiftEnd = 0;
  private shiftFormat = "";
  private timer: TimerHandle | null = null;
  /** Draining: the end the pending timer stands for, and the last end whose timer fired. */
  private timerAt = 0;
  private firedAt = -1;
  /** Draining: character timers fired since the last settle (the next is `endAfter(ticks)`). */
  private ticks = 0;
  /** Draining: the end at which a timer accounts characters (see {@link nextWake}). */
  private wakeAt = Number.POSITIVE_INFINITY;
  /** Draining: the end being accounted at its own timer (traced as it is emitted). */
  private tracedEnd = -1;
  private lineFreeAt = 0;
  protected readonly clock = new FractionalClock();
  private breakStart: number | null = null;
  private readonly instant: boolean;
  private readonly decode: PeerDecoder | null;
  /** Arithmetic draining is on (never with an instant line: nothing to skip). */
  private readonly arithmetic: boolean;
  private settling = false;
  private readonly finishNow = () => this.finishTimer();
  private readonly tickNow = () => this.tickTimer();

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
    else if (this.timer === null && now + duration > this.firedAt) this.arm(now + duration);
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
        !this.arithmetic || end === this.tracedEnd,
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
    const now = this.regs.host.now();
    // Only characters whose own timer has fired: one due now but later in the host's order is
    // still shifting, as it would be without draining.
    const before = this.timer === null ? Number.POSITIVE_INFINITY : this.timerAt;
    if (!(this.shifting && this.shiftEnd <= now && this.shiftEnd < before)) {
      // Nothing ended (most register accesses): no re-entry guard to set up.
      this.ticks = 0;
      return;
    }
    this.settling = true; // a sink or listener that reads the device must not re-enter
    try {
      while (this.shifting && this.shiftEnd <= now && this.shiftEnd < before) {
        this.finishAt(this.shiftEnd);
      }
      this.ticks = 0;
    } finally {
      this.settling = false;
    }
  }

  rearm(): void {
    if (!this.arithmetic) return;
    this.wakeAt = this.shifting ? this.nextWake() : Number.POSITIVE_INFINITY;
  }

  /**
   * Draining arms every character's timer as a device tick (`DeviceHost.atTick`): one before
   * the next wake only traces and arms the next, so the kernel may pass it by arithmetic.
   */
  private arm(end: number): void {
    this.timerAt = end;
    const host = this.regs.host;
    this.timer = host.atTick ? host.atTick(end, this.tickNow, this) : host.at(end, this.tickNow);
  }

  inertUntil(): number {
    return this.wakeAt;
  }

  /** The pending timer is the `ticks`-th end from the one shifting; each arms the next while queued. */
  tickAt(n: number): number {
    if (this.timer === null) return Number.POSITIVE_INFINITY;
    if (n === 0) return this.timerAt;
    const k = this.ticks + n;
    if (k - 1 >= this.fifo.length || !this.canTransmit()) return Number.POSITIVE_INFINITY;
    return this.endAfter(k);
  }

  /** `skip` writes each passed tick's trace record, as {@link tickTimer} would have. */
  readonly tracesPassed = true;

  /** `n` inert ticks passed by the kernel; while it records, each one's record at its own end. */
  skip(n: number): void {
    this.timer = null;
    const regs = this.regs;
    const traceAt = regs.cr & Cr.LBE ? undefined : regs.host.traceAt;
    for (let i = 0; i < n; i++) {
      const k = this.ticks++;
      const end = i === 0 ? this.timerAt : this.endAfter(k);
      this.firedAt = end;
      if (traceAt !== undefined) this.tracePassed(traceAt, k, end);
    }
    const k = this.ticks - 1;
    if (k < this.fifo.length && this.canTransmit()) this.arm(this.endAfter(k + 1));
  }

  /**
   * The record of the `k`-th character end from the one shifting, as {@link tickTimer} writes
   * it, at `end`. A seam for variants.
   */
  protected tracePassed(traceAt: NonNullable<DeviceHost["traceAt"]>, k: number, end: number): void {
    const regs = this.regs;
    const byte = k === 0 ? this.shiftByte : this.fifo.valueAt(k - 1);
    const tag = k === 0 ? this.shiftTag : this.fifo.tagAt(k - 1);
    const mask = (1 << regs.format.dataBits) - 1;
    traceAt.call(regs.host, end, regs.txTraceName, { byte: byte & mask, tag, kind: "byte" });
  }

  /**
   * Draining: a character's end. At a wake, account everything by the state machine (which
   * arms the next timer as it starts the next character); otherwise write the character's
   * trace record and arm the next character's timer, as the state machine would.
   */
  private tickTimer(): void {
    this.timer = null;
    const now = this.regs.host.now();
    this.firedAt = now;
    if (now >= this.wakeAt) {
      this.tracedEnd = now;
      this.settle();
      this.tracedEnd = -1;
      this.rearm();
      return;
    }
    const regs = this.regs;
    const k = this.ticks++;
    if (!(regs.cr & Cr.LBE)) {
      const byte = k === 0 ? this.shiftByte : this.fifo.valueAt(k - 1);
      const tag = k === 0 ? this.shiftTag : this.fifo.tagAt(k - 1);
      const mask = (1 << regs.format.dataBits) - 1;
      regs.host.trace(regs.txTraceName, { byte: byte & mask, tag, kind: "byte" });
    }
    if (k < this.fifo.length && this.canTransmit()) this.arm(this.endAfter(k + 1));
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
    this.ticks = 0;
    this.wakeAt = Number.POSITIVE_INFINITY;
    this.fifo.clear();
    this.shifting = false;
    this.breakStart = null;
  }
}
