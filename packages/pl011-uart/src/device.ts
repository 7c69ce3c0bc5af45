/**
 * The PL011 device model: registers, FIFOs, interrupts and character timing in virtual
 * time (pl011 reference §2–§7, checklist §11), with a host-side wire.
 *
 * Two behaviours: `hardware` follows the TRM (timed shift register, IFLS levels with
 * crossing semantics, receive timeout, overrun loss); `qemu` follows QEMU's model
 * (reference §8: no TX FIFO, sticky TX status, RX trigger 1, no timeout, no overrun:
 * input is held back on the host side).
 */
import type { AccessWidth, DeviceHost, MmioDevice, TimerHandle } from "@vmmux/microkit-pd";
import { BitLine, encodeFrame } from "./bitline.js";
import { type Pl011Diagnostic, Pl011Error } from "./errors.js";
import { TaggedFifo } from "./fifo.js";
import {
  type BaudDivisor,
  bitPeriods,
  type DurationFraction,
  divisorValid,
  FractionalClock,
  type FrameFormat,
  formatName,
  fractionNs,
  frameBits,
  frameFormat,
} from "./line.js";
import {
  Cr,
  Dr,
  Fr,
  fifoLevel,
  ID_BYTES,
  Ifls,
  Int,
  LcrH,
  type Pl011Revision,
  RESET,
  REVISIONS,
  Reg,
  Rsr,
  WIDTH_MASK,
} from "./registers.js";

export type Pl011Variant = "hardware" | "qemu";

export interface Pl011Options {
  readonly host: DeviceHost;
  /** Physical interrupt number driven as a level signal (QEMU virt: SPI 1 = INTID 33). */
  readonly irq: number;
  /** Default `hardware`. */
  readonly variant?: Pl011Variant;
  /** Default `r1p5` (32-entry FIFOs) for hardware, `r1p1` (16, QEMU's IDs) for qemu. */
  readonly revision?: Pl011Revision;
  /** UARTCLK in Hz; default 24 MHz as on QEMU virt (pl011 reference §1). */
  readonly uartClockHz?: number;
  /**
   * `baud` (default): characters take their frame time. `instant`: frame time 0, an
   * infinitely fast line with otherwise unchanged register behaviour (benchmarks).
   */
  readonly timing?: "baud" | "instant";
  /** Keep every transmitted character in {@link Pl011Device.transmitted}; default true. */
  readonly recordTransmitted?: boolean;
  /**
   * Baud rate the peer uses while the UART has no valid divisor latched (before the
   * driver programs it); default 115200. Otherwise the peer follows the UART's settings.
   */
  readonly peerBaud?: number;
  /** Name used in device traces; default `pl011`. */
  readonly name?: string;
  /**
   * A peer with its own fixed line settings (a terminal set to 115200 8N1, say). The line is
   * then modelled bit by bit in both directions, so a format or rate mismatch produces the
   * errors and garbage it would on hardware. Default: the peer follows the UART's settings.
   * Ignored by the `qemu` variant and with `timing: "instant"`.
   */
  readonly peer?: PeerSettings;
}

/**
 * Deliberate defects for the property suites' self-tests (`src/testing/planted.ts`); never
 * set outside them.
 */
export type PlantedDeviceBug = "overrun-replaces-newest" | "imsc-write-skips-irq-update";

/** Constructor options including the internal planted-bug switch. */
export interface Pl011InternalOptions extends Pl011Options {
  readonly plantedBug?: PlantedDeviceBug;
}

/** Fixed line settings of the peer. */
export interface PeerSettings {
  readonly baud: number;
  /** Default 8N1. */
  readonly format?: FrameFormat;
}

/** What a receiver on the other end decoded from one frame. */
export interface PeerView {
  readonly byte: number;
  readonly framingError: boolean;
  readonly parityError: boolean;
}

/** A character (or a break condition) that left the UART on its TX line. */
export interface WireByte {
  readonly kind: "byte" | "break";
  /** Data bits as sent (masked to the word length); 0 for a break. */
  readonly byte: number;
  /** Provenance tag written with the DR store (0 = untagged). */
  readonly tag: number;
  /** Start-bit edge, ns. */
  readonly start: number;
  /** End of the last stop bit, ns. */
  readonly end: number;
  /** Frame format in force, e.g. `8N1`. */
  readonly format: string;
  /** With a {@link PeerSettings peer}: what its receiver decoded from this frame alone. */
  readonly peer?: PeerView;
}

/** Options of one character sent by the peer towards the UART. */
export interface WireSendOptions {
  /** Time the peer starts sending (start-bit edge); default now. Queued behind earlier frames. */
  readonly at?: number;
  /** Provenance tag carried into the RX FIFO beside every byte of this call. */
  readonly tag?: number;
  /** One provenance tag per byte (overrides `tag`). */
  readonly tags?: ArrayLike<number>;
  /** Line condition injected into this frame (reference §6.3). */
  readonly error?: "framing" | "parity";
}

/** Observability counters (pl011 reference §11 item 9); R1/R2/R4 name sddf-serial §10 rows. */
export interface Pl011Counters {
  /** Frames whose stop bit was sampled by an enabled receiver. */
  rxFrames: number;
  /** Characters stored in the RX FIFO. */
  rxStored: number;
  /** R1: characters lost because the RX FIFO was full. */
  rxOverrun: number;
  /** R2: characters lost because the receiver was disabled or had no valid baud clock. */
  rxWhileDisabled: number;
  /** R2: unread characters discarded by an RX FIFO reset (QEMU FEN toggle). */
  rxFlushed: number;
  /** R4 at the device: characters stored with each error flag. */
  rxFramingErrors: number;
  rxParityErrors: number;
  rxBreaks: number;
  /** DR writes accepted into the TX FIFO (or sent, on QEMU). */
  txWritten: number;
  /** DR writes discarded because the TX FIFO was full. */
  txDroppedFull: number;
  /** TX FIFO entries discarded by clearing FEN (TRM: flush). */
  txFlushed: number;
  /** Characters that left on the TX line. */
  txEmitted: number;
  /** Rising edges of the interrupt line. */
  irqAssertions: number;
  /** Ignored register accesses (see diagnostics). */
  badAccesses: number;
}

interface HostFrame {
  readonly byte: number;
  readonly tag: number;
  readonly at: number;
  readonly error: "framing" | "parity" | "break" | undefined;
}

const STORAGE_DEPTH = 32;

function newCounters(): Pl011Counters {
  return {
    rxFrames: 0,
    rxStored: 0,
    rxOverrun: 0,
    rxWhileDisabled: 0,
    rxFlushed: 0,
    rxFramingErrors: 0,
    rxParityErrors: 0,
    rxBreaks: 0,
    txWritten: 0,
    txDroppedFull: 0,
    txFlushed: 0,
    txEmitted: 0,
    irqAssertions: 0,
    badAccesses: 0,
  };
}

/** Modem status inputs (true = asserted, i.e. the active-low pin is low). */
export interface ModemInputs {
  readonly cts: boolean;
  readonly dsr: boolean;
  readonly dcd: boolean;
  readonly ri: boolean;
}

/**
 * An ARM PL011 UART attached to a {@link DeviceHost}. Register accesses come in through
 * {@link MmioDevice}; the peer on the other end of the serial line uses {@link send},
 * {@link sendBreak} and {@link onTransmit}.
 */
export class Pl011Device implements MmioDevice {
  readonly variant: Pl011Variant;
  readonly revision: Pl011Revision;
  readonly fifoDepth: number;
  readonly uartClockHz: number;
  readonly counters: Pl011Counters = newCounters();
  readonly diagnostics: Pl011Diagnostic[] = [];
  /** Every transmitted character in order (unless `recordTransmitted` is false). */
  readonly transmitted: WireByte[] = [];

  private readonly host: DeviceHost;
  private readonly irq: number;
  private readonly instant: boolean;
  private readonly record: boolean;
  private readonly peerBaud: number;
  private readonly name: string;
  private readonly listeners: Array<(b: WireByte) => void> = [];

  // Registers.
  private rsr: number = RESET.RSR;
  private ilpr: number = RESET.ILPR;
  private ibrd: number = RESET.IBRD;
  private fbrd: number = RESET.FBRD;
  private lcrH: number = RESET.LCR_H;
  private cr: number = RESET.CR;
  private ifls: number = RESET.IFLS;
  private imsc: number = RESET.IMSC;
  private ris: number = 0;
  private dmacr: number = RESET.DMACR;
  /** IBRD/FBRD as latched by the last LCR_H write (reference §3.5). */
  private latched: BaudDivisor = { ibrd: 0, fbrd: 0 };
  private modem: ModemInputs = { cts: false, dsr: false, dcd: false, ri: false };

  // Data path.
  private readonly rxFifo = new TaggedFifo(STORAGE_DEPTH);
  private readonly txFifo = new TaggedFifo(STORAGE_DEPTH);
  /** OE travels with the next stored character (reference §3.1 modelling choice). */
  private overrunPending = false;
  private lastRead = 0;
  private lastReadTag = 0;
  private txShift: { byte: number; tag: number; start: number; format: string } | null = null;
  private txTimer: TimerHandle | null = null;
  private txLineFreeAt = 0;
  private readonly txClock = new FractionalClock();
  private breakStart: number | null = null;
  private rtTimer: TimerHandle | null = null;
  private rtDeadline = 0;
  private readonly hostFrames: HostFrame[] = [];
  private hostFrameHead = 0;
  private hostTimer: TimerHandle | null = null;
  private hostLineFreeAt = 0;
  private readonly hostClock = new FractionalClock();
  private irqLevel = false;
  private readonly plantedBug: PlantedDeviceBug | undefined;
  /** Bit-level peer line (only with `peer`). */
  private readonly peerLine: BitLine | null;
  private readonly peerFormat: FrameFormat;
  private readonly peerBitNs: number;
  private rxSearchFrom = 0;
  private rxSampleTimer: TimerHandle | null = null;

  constructor(options: Pl011Options) {
    this.plantedBug = (options as Pl011InternalOptions).plantedBug;
    this.host = options.host;
    this.irq = options.irq;
    this.variant = options.variant ?? "hardware";
    this.revision = options.revision ?? (this.variant === "qemu" ? "r1p1" : "r1p5");
    const rev = REVISIONS[this.revision];
    if (!rev) throw new Pl011Error("PL011_BAD_OPTION", `unknown pl011 revision '${this.revision}'`);
    this.fifoDepth = this.variant === "qemu" ? 16 : rev.fifoDepth;
    this.uartClockHz = options.uartClockHz ?? 24_000_000;
    if (!Number.isSafeInteger(this.uartClockHz) || this.uartClockHz <= 0) {
      throw new Pl011Error("PL011_BAD_OPTION", `uartClockHz must be a positive integer`);
    }
    this.instant = options.timing === "instant";
    this.record = options.recordTransmitted ?? true;
    this.peerBaud = options.peerBaud ?? 115_200;
    if (!(Number.isFinite(this.peerBaud) && this.peerBaud > 0)) {
      throw new Pl011Error(
        "PL011_BAD_OPTION",
        `peerBaud ${this.peerBaud} must be positive and finite`,
      );
    }
    this.name = options.name ?? "pl011";
    this.peerFormat = options.peer?.format ?? { dataBits: 8, parity: "none", stopBits: 1 };
    this.peerBitNs = options.peer ? 1e9 / options.peer.baud : 0;
    if (options.peer && !(Number.isFinite(options.peer.baud) && options.peer.baud > 0)) {
      throw new Pl011Error(
        "PL011_BAD_OPTION",
        `peer baud ${options.peer.baud} must be positive and finite`,
      );
    }
    this.peerLine =
      options.peer && this.variant === "hardware" && !this.instant ? new BitLine() : null;
  }

  // ---------------------------------------------------------------- host side

  /** Listen to characters leaving the TX line (called at the end of each stop bit). */
  onTransmit(listener: (b: WireByte) => void): void {
    this.listeners.push(listener);
  }

  /**
   * The peer sends bytes towards the UART. Frames go out back to back in call order; each
   * starts at `max(at, end of the previous frame)` and is sampled by the receiver at its
   * stop bit. The peer uses the UART's latched line settings (a matched terminal), or its
   * own fixed settings when the device was built with `peer` (then modelled bit by bit).
   */
  send(bytes: number | ArrayLike<number>, options: WireSendOptions = {}): void {
    const at = this.wireTime(options.at, "send");
    const list = typeof bytes === "number" ? [bytes] : bytes;
    const tagOf = (i: number) => options.tags?.[i] ?? options.tag ?? 0;
    if (this.peerLine) {
      for (let i = 0; i < list.length; i++) {
        this.peerSend(list[i]! & 0xff, at, tagOf(i), options.error);
      }
      return;
    }
    for (let i = 0; i < list.length; i++) {
      this.hostFrames.push({
        byte: list[i]! & 0xff,
        tag: tagOf(i),
        at,
        error: options.error,
      });
    }
    this.pumpHostLine();
  }

  /** The peer holds the line low for one frame: the receiver stores one 0x00 with BE. */
  sendBreak(options: { at?: number; tag?: number } = {}): void {
    const at = this.wireTime(options.at, "break");
    if (this.peerLine) {
      this.peerSend(0, at, options.tag ?? 0, "break");
      return;
    }
    this.hostFrames.push({ byte: 0, tag: options.tag ?? 0, at, error: "break" });
    this.pumpHostLine();
  }

  /**
   * The start time of a wire event: now by default, never in the past, and finite: a NaN
   * would poison the host's clock and an infinite time would hold every later frame
   * behind it forever.
   */
  private wireTime(at: number | undefined, what: "send" | "break"): number {
    const now = this.host.now();
    if (at === undefined) return now;
    if (!Number.isFinite(at)) {
      throw new Pl011Error("PL011_BAD_WIRE_TIME", `wire ${what} at ${at} ns is not a finite time`);
    }
    if (at < now) {
      throw new Pl011Error(
        "PL011_WIRE_TIME_IN_PAST",
        `wire ${what} at ${at} ns is before now (${now} ns)`,
      );
    }
    return at;
  }

  /** Characters the peer has queued that have not reached the receiver yet. */
  get wireBacklog(): number {
    if (this.peerLine) return this.peerLine.framesFrom(this.host.now());
    return this.hostFrames.length - this.hostFrameHead;
  }

  /** Change modem inputs; a change raises the matching RIS bit (reference §7). */
  setModemInputs(inputs: Partial<ModemInputs>): void {
    const next = { ...this.modem, ...inputs };
    if (next.ri !== this.modem.ri) this.ris |= Int.RIM;
    if (next.cts !== this.modem.cts) this.ris |= Int.CTSM;
    if (next.dcd !== this.modem.dcd) this.ris |= Int.DCDM;
    if (next.dsr !== this.modem.dsr) this.ris |= Int.DSRM;
    this.modem = next;
    this.tryStartTx();
    this.updateIrq();
  }

  /** Current level of the combined interrupt output UARTINTR. */
  get irqAsserted(): boolean {
    return this.irqLevel;
  }

  /** Entries in the RX FIFO (observability; not a register). */
  get rxFifoLevel(): number {
    return this.rxFifo.length;
  }

  /** Entries in the TX FIFO, not counting the shift register. */
  get txFifoLevel(): number {
    return this.txFifo.length;
  }

  /** The rate the latched divisor generates, or 0 if it is invalid. */
  get baud(): number {
    if (!divisorValid(this.latched)) return 0;
    return (this.uartClockHz * 4) / (this.latched.ibrd * 64 + this.latched.fbrd);
  }

  get format(): FrameFormat {
    return frameFormat(this.lcrH);
  }

  // ---------------------------------------------------------------- MMIO

  read(offset: number, width: AccessWidth): number {
    if (!this.accessOk(offset, width)) return 0;
    const value = this.readRegister(offset);
    return width === 4 ? value >>> 0 : value & (width === 1 ? 0xff : 0xffff);
  }

  readTag(offset: number): number {
    return offset === Reg.DR ? this.lastReadTag : 0;
  }

  write(offset: number, width: AccessWidth, value: number, tag = 0): void {
    if (!this.accessOk(offset, width)) return;
    const v = (width === 4 ? value >>> 0 : value & (width === 1 ? 0xff : 0xffff)) >>> 0;
    this.writeRegister(offset, v, tag);
  }

  private accessOk(offset: number, width: AccessWidth): boolean {
    if (width === 8) {
      this.diagnose("bad-width", offset, `64-bit access at offset 0x${hex(offset)} ignored`);
      return false;
    }
    if (offset % 4 !== 0 || offset < 0 || offset >= 0x1000) {
      this.diagnose("unaligned-access", offset, `access at offset 0x${hex(offset)} ignored`);
      return false;
    }
    return true;
  }

  private diagnose(kind: Pl011Diagnostic["kind"], offset: number, message: string): void {
    this.counters.badAccesses++;
    this.diagnostics.push({ time: this.host.now(), kind, offset, message });
  }

  private readRegister(offset: number): number {
    switch (offset) {
      case Reg.DR:
        return this.readDr();
      case Reg.RSR_ECR:
        return this.rsr;
      case Reg.FR:
        return this.flags();
      case Reg.ILPR:
        return this.ilpr;
      case Reg.IBRD:
        return this.ibrd;
      case Reg.FBRD:
        return this.fbrd;
      case Reg.LCR_H:
        return this.lcrH;
      case Reg.CR:
        return this.cr;
      case Reg.IFLS:
        return this.ifls;
      case Reg.IMSC:
        return this.imsc;
      case Reg.RIS:
        return this.ris;
      case Reg.MIS:
        return this.ris & this.imsc;
      case Reg.ICR:
        this.diagnose("read-of-write-only", offset, "read of write-only UARTICR returns 0");
        return 0;
      case Reg.DMACR:
        return this.dmacr;
      case Reg.PERIPH_ID0:
        return ID_BYTES.periphId0;
      case Reg.PERIPH_ID1:
        return ID_BYTES.periphId1;
      case Reg.PERIPH_ID2:
        return REVISIONS[this.revision].periphId2;
      case Reg.PERIPH_ID3:
        return ID_BYTES.periphId3;
      case Reg.PCELL_ID0:
      case Reg.PCELL_ID1:
      case Reg.PCELL_ID2:
      case Reg.PCELL_ID3:
        return ID_BYTES.pcellId[(offset - Reg.PCELL_ID0) / 4]!;
      default:
        this.diagnose("unmapped-offset", offset, `read of reserved offset 0x${hex(offset)}`);
        return 0;
    }
  }

  private writeRegister(offset: number, value: number, tag: number): void {
    switch (offset) {
      case Reg.DR:
        this.writeDr(value & WIDTH_MASK.DR_WRITE, tag);
        return;
      case Reg.RSR_ECR:
        this.rsr = 0;
        return;
      case Reg.ILPR:
        this.ilpr = value & WIDTH_MASK.ILPR;
        return;
      case Reg.IBRD:
        this.ibrd = value & WIDTH_MASK.IBRD;
        return;
      case Reg.FBRD:
        this.fbrd = value & WIDTH_MASK.FBRD;
        return;
      case Reg.LCR_H:
        this.writeLcrH(value & WIDTH_MASK.LCR_H);
        return;
      case Reg.CR:
        this.cr = value & WIDTH_MASK.CR;
        this.tryStartTx();
        this.pumpHostLine();
        return;
      case Reg.IFLS:
        this.ifls = value & WIDTH_MASK.IFLS;
        return;
      case Reg.IMSC:
        this.imsc = value & WIDTH_MASK.IMSC;
        if (this.plantedBug !== "imsc-write-skips-irq-update") this.updateIrq();
        return;
      case Reg.ICR:
        this.ris &= ~value & Int.ALL;
        this.updateIrq();
        return;
      case Reg.DMACR:
        this.dmacr = value & WIDTH_MASK.DMACR;
        return;
      case Reg.FR:
      case Reg.RIS:
      case Reg.MIS:
        this.diagnose("write-to-read-only", offset, `write to read-only offset 0x${hex(offset)}`);
        return;
      default:
        if (offset >= Reg.PERIPH_ID0) {
          this.diagnose("write-to-read-only", offset, `write to ID register 0x${hex(offset)}`);
        } else {
          this.diagnose("unmapped-offset", offset, `write to reserved offset 0x${hex(offset)}`);
        }
    }
  }

  private get fen(): boolean {
    return (this.lcrH & LcrH.FEN) !== 0;
  }

  private get activeDepth(): number {
    return this.fen ? this.fifoDepth : 1;
  }

  private rxLevel(): number {
    if (this.variant === "qemu" || !this.fen) return 1;
    return fifoLevel((this.ifls & Ifls.RX_MASK) >>> Ifls.RX_SHIFT, this.fifoDepth);
  }

  private txLevel(): number {
    if (!this.fen) return 0;
    return fifoLevel(this.ifls & Ifls.TX_MASK, this.fifoDepth);
  }

  private flags(): number {
    let fr = 0;
    if (this.modem.cts) fr |= Fr.CTS;
    if (this.modem.dsr) fr |= Fr.DSR;
    if (this.modem.dcd) fr |= Fr.DCD;
    if (this.modem.ri) fr |= Fr.RI;
    const depth = this.activeDepth;
    if (this.rxFifo.length === 0) fr |= Fr.RXFE;
    if (this.rxFifo.length >= depth) fr |= Fr.RXFF;
    if (this.variant === "qemu") return fr | Fr.TXFE;
    if (this.txFifo.length === 0) fr |= Fr.TXFE;
    if (this.txFifo.length >= depth) fr |= Fr.TXFF;
    if (this.txFifo.length > 0 || this.txShift !== null) fr |= Fr.BUSY;
    return fr;
  }

  // ---------------------------------------------------------------- receive

  /** DR read pops the oldest RX entry (reference §3.1, §6.2). */
  private readDr(): number {
    if (this.rxFifo.length === 0) {
      this.diagnose("read-empty-rx-fifo", Reg.DR, "read of UARTDR with the RX FIFO empty");
      this.lastReadTag = 0;
      // TRM: undefined. Both behaviours return the stale slot (QEMU does; a real FIFO's
      // output register holds the last entry).
      return this.lastRead;
    }
    const value = this.rxFifo.peekValue();
    this.lastReadTag = this.rxFifo.peekTag();
    this.rxFifo.drop();
    this.lastRead = value;
    const status = (value >>> 8) & 0xf;
    // RSR FE/PE/BE describe the character just read; OE is set at the overrun itself.
    this.rsr = this.variant === "qemu" ? status : (this.rsr & Rsr.OE) | (status & 0x7);
    const n = this.rxFifo.length;
    if (this.variant === "qemu") {
      if (n === 0) this.ris &= ~Int.RX;
    } else {
      if (n < this.rxLevel()) this.ris &= ~Int.RX;
      if (n === 0) this.ris &= ~Int.RT;
    }
    this.updateIrq();
    // QEMU: the chardev offers held-back input again once there is room.
    if (this.variant === "qemu" && this.wireBacklog > 0) this.pumpHostLine();
    return value;
  }

  /** Send the next queued peer frame if the line is free (one frame in flight at a time). */
  private pumpHostLine(): void {
    if (this.hostTimer !== null || this.hostFrameHead >= this.hostFrames.length) return;
    const frame = this.hostFrames[this.hostFrameHead]!;
    const now = this.host.now();
    if (this.variant === "qemu") {
      // No line timing; `can_receive` back-pressure: wait while the FIFO is full.
      if (this.rxFifo.length >= this.activeDepth) return;
      this.hostTimer = this.host.at(Math.max(now, frame.at), () => {
        this.hostTimer = null;
        if (this.rxFifo.length >= this.activeDepth) return; // still full: keep holding it back
        this.hostFrameHead++;
        this.compactHostFrames();
        this.receiveFrame(frame);
        this.pumpHostLine();
      });
      return;
    }
    const start = Math.max(now, frame.at, this.hostLineFreeAt);
    if (start > this.hostLineFreeAt) this.hostClock.reset();
    const { sample, whole } = this.peerFrameTimes();
    // Times are taken from one fractional clock so back-to-back frames do not drift.
    const frameNs = this.instant ? 0 : this.hostClock.step(whole);
    const sampleNs = this.instant ? 0 : Math.min(frameNs, fractionNs(sample));
    this.hostLineFreeAt = start + frameNs;
    this.hostTimer = this.host.at(start + sampleNs, () => {
      this.hostTimer = null;
      this.hostFrameHead++;
      this.compactHostFrames();
      this.receiveFrame(frame);
      this.pumpHostLine();
    });
  }

  private compactHostFrames(): void {
    if (this.hostFrameHead > 1024 && this.hostFrameHead * 2 > this.hostFrames.length) {
      this.hostFrames.splice(0, this.hostFrameHead);
      this.hostFrameHead = 0;
    }
  }

  /** Duration of the peer's frame and of its start-edge-to-stop-sample interval. */
  private peerFrameTimes(): { whole: DurationFraction; sample: DurationFraction } {
    let divisor = this.latched;
    let bits = frameBits(frameFormat(this.lcrH));
    if (!divisorValid(divisor)) {
      const exact64 = Math.max(64, Math.round((this.uartClockHz * 4) / this.peerBaud));
      divisor = { ibrd: Math.floor(exact64 / 64), fbrd: exact64 % 64 };
      bits = 10;
    }
    return {
      whole: bitPeriods(bits, divisor, this.uartClockHz),
      // The stop bit is sampled mid-cell: (bits − ½) bit periods after the start edge.
      sample: bitPeriods(bits - 0.5, divisor, this.uartClockHz),
    };
  }

  /** A frame's stop bit has been sampled: store it, or lose it (reference §6.2–§6.3). */
  private receiveFrame(frame: HostFrame): void {
    const enabled = (this.cr & Cr.UARTEN) !== 0 && (this.cr & Cr.RXE) !== 0;
    if (this.variant === "hardware") {
      if (!enabled || !divisorValid(this.latched) || (this.cr & Cr.LBE) !== 0) {
        // R2: receiver off, no baud clock, or external input ignored in loopback.
        this.counters.rxWhileDisabled++;
        this.host.trace(`${this.name}.rx-lost`, { byte: frame.byte, tag: frame.tag });
        return;
      }
    }
    this.storeReceived(frame.byte, frame.tag, frame.error);
  }

  private storeReceived(byte: number, tag: number, error: HostFrame["error"]): void {
    const qemu = this.variant === "qemu";
    let entry = byte & ((1 << frameFormat(this.lcrH).dataBits) - 1);
    if (error === "break") entry = Dr.BE;
    else if (error === "framing" && !qemu) entry |= Dr.FE;
    else if (error === "parity" && !qemu && (this.lcrH & LcrH.PEN) !== 0) entry |= Dr.PE;
    this.storeEntry(entry, tag);
  }

  /** Put a received 12-bit entry into the RX FIFO, or lose it to overrun (§6.3). */
  private storeEntry(value: number, tag: number): void {
    let entry = value;
    const byte = entry & Dr.DATA;
    this.counters.rxFrames++;
    const qemu = this.variant === "qemu";
    if (!qemu) this.restartReceiveTimeout();
    const before = this.rxFifo.length;
    if (before >= this.activeDepth) {
      // R1: the incoming character is lost; FIFO contents stay valid (reference §6.3).
      this.counters.rxOverrun++;
      this.rsr |= Rsr.OE;
      this.ris |= Int.OE;
      this.overrunPending = true;
      if (this.plantedBug === "overrun-replaces-newest") this.rxFifo.replaceNewest(entry, tag);
      this.host.trace(`${this.name}.rx-overrun`, { byte, tag });
      this.updateIrq();
      return;
    }
    if (this.overrunPending) {
      entry |= Dr.OE;
      this.overrunPending = false;
    }
    this.rxFifo.push(entry, tag, this.activeDepth);
    this.counters.rxStored++;
    if (entry & Dr.FE) {
      this.counters.rxFramingErrors++;
      this.ris |= Int.FE;
    }
    if (entry & Dr.PE) {
      this.counters.rxParityErrors++;
      this.ris |= Int.PE;
    }
    if (entry & Dr.BE) {
      this.counters.rxBreaks++;
      this.ris |= Int.BE;
    }
    const after = before + 1;
    if (qemu) {
      if (after === 1) this.ris |= Int.RX;
    } else {
      const level = this.rxLevel();
      if (before < level && after >= level) this.ris |= Int.RX;
    }
    this.updateIrq();
  }

  /** Bit-level path: the peer's frame goes on the line back to back at the peer's rate. */
  private peerSend(byte: number, at: number, tag: number, error: HostFrame["error"]): void {
    const line = this.peerLine!;
    const start = Math.max(at, this.host.now(), line.endTime);
    line.append({
      start,
      bitNs: this.peerBitNs,
      bits: encodeFrame(byte, this.peerFormat, error),
      tag,
    });
    this.armReceiver();
  }

  /** The UART's current bit period in ns, or the peer's while no divisor is latched. */
  private receiverBitNs(): number {
    if (!divisorValid(this.latched)) return this.peerBitNs;
    return ((this.latched.ibrd * 64 + this.latched.fbrd) * 1e9) / (this.uartClockHz * 4);
  }

  /**
   * Wait for the next start edge on the peer line and schedule the stop-bit sample. All
   * frames that can affect the samples are on the line by then, since sends are never
   * in the past.
   */
  private armReceiver(): void {
    const line = this.peerLine;
    if (!line || this.rxSampleTimer !== null) return;
    const edge = line.nextFallingEdge(this.rxSearchFrom);
    if (!edge) return;
    // The receiver's rate and format are those in force when the start edge arrives.
    this.rxSampleTimer = this.host.at(Math.max(this.host.now(), Math.ceil(edge.time)), () => {
      const bitNs = this.receiverBitNs();
      const format = frameFormat(this.lcrH);
      const stopSample = edge.time + (frameBits(format) - 0.5) * bitNs;
      this.rxSampleTimer = this.host.at(Math.max(this.host.now(), Math.ceil(stopSample)), () => {
        this.rxSampleTimer = null;
        this.sampleFrame(edge.time, edge.tag, bitNs, format);
        this.armReceiver();
      });
    });
  }

  private sampleFrame(edge: number, tag: number, bitNs: number, format: FrameFormat): void {
    const line = this.peerLine!;
    const enabled = (this.cr & (Cr.UARTEN | Cr.RXE)) === (Cr.UARTEN | Cr.RXE);
    const usable = enabled && divisorValid(this.latched) && (this.cr & Cr.LBE) === 0;
    const frame = line.sample(edge, bitNs, format);
    if (!frame) {
      this.rxSearchFrom = edge + bitNs / 2; // false start bit
      return;
    }
    this.rxSearchFrom = frame.stopSample;
    line.prune(frame.stopSample - 64 * bitNs);
    if (!usable) {
      this.counters.rxWhileDisabled++; // R2
      this.host.trace(`${this.name}.rx-lost`, { byte: frame.data, tag });
      return;
    }
    let entry = frame.data;
    if (frame.breakCondition) entry = Dr.BE;
    else {
      if (frame.framingError) entry |= Dr.FE;
      if (frame.parityError) entry |= Dr.PE;
    }
    this.storeEntry(entry, tag);
  }

  /** RT: 32 bit periods without a new character while data wait (reference §7). */
  private restartReceiveTimeout(): void {
    const timeout = this.instant ? 0 : fractionNs(bitPeriods(32, this.latched, this.uartClockHz));
    this.rtDeadline = this.host.now() + timeout;
    // One timer at a time: when it fires early (the deadline moved), it re-arms itself.
    if (this.rtTimer === null) this.armReceiveTimeout();
  }

  private armReceiveTimeout(): void {
    this.rtTimer = this.host.at(this.rtDeadline, () => {
      this.rtTimer = null;
      if (this.host.now() < this.rtDeadline) {
        this.armReceiveTimeout();
        return;
      }
      if (this.rxFifo.length > 0) {
        this.ris |= Int.RT;
        this.updateIrq();
      }
    });
  }

  // ---------------------------------------------------------------- transmit

  private writeDr(byte: number, tag: number): void {
    if (this.variant === "qemu") {
      // No TX FIFO: the byte goes out at once; TX status is set on every write (§8).
      this.counters.txWritten++;
      this.ris |= Int.TX;
      const now = this.host.now();
      this.emit({ kind: "byte", byte, tag, start: now, end: now, format: "qemu" });
      if (this.cr & Cr.LBE) this.storeReceived(byte, tag, undefined);
      this.updateIrq();
      return;
    }
    if (!this.txFifo.push(byte, tag, this.activeDepth)) {
      this.counters.txDroppedFull++;
      this.diagnose("write-full-tx-fifo", Reg.DR, "write to UARTDR with the TX FIFO full dropped");
      return;
    }
    this.counters.txWritten++;
    if (this.txFifo.length > this.txLevel()) this.ris &= ~Int.TX;
    this.tryStartTx();
    this.updateIrq();
  }

  private canTransmit(): boolean {
    if ((this.cr & (Cr.UARTEN | Cr.TXE)) !== (Cr.UARTEN | Cr.TXE)) return false;
    if (this.lcrH & LcrH.BRK) return false;
    if (this.cr & Cr.CTSEN && !this.modem.cts) return false;
    return divisorValid(this.latched);
  }

  /** Move the next FIFO entry into the shift register if the transmitter may run. */
  private tryStartTx(): void {
    if (this.variant === "qemu" || this.txShift !== null || this.txFifo.length === 0) return;
    if (!this.canTransmit()) return;
    const now = this.host.now();
    const byte = this.txFifo.peekValue();
    const tag = this.txFifo.peekTag();
    this.txFifo.drop();
    const n = this.txFifo.length;
    const level = this.txLevel();
    if (n + 1 > level && n <= level) this.ris |= Int.TX;
    const format = frameFormat(this.lcrH);
    if (now > this.txLineFreeAt) this.txClock.reset();
    const duration = this.instant
      ? 0
      : this.txClock.step(bitPeriods(frameBits(format), this.latched, this.uartClockHz));
    const mask = (1 << format.dataBits) - 1;
    this.txShift = { byte: byte & mask, tag, start: now, format: formatName(format) };
    this.txLineFreeAt = now + duration;
    this.txTimer = this.host.at(now + duration, () => this.finishTx());
    this.updateIrq();
  }

  private finishTx(): void {
    const shifted = this.txShift;
    this.txTimer = null;
    this.txShift = null;
    if (shifted === null) return;
    const end = this.host.now();
    if (this.cr & Cr.LBE) {
      // Loopback: the serial output is fed to the receiver, not the pin (reference §3.6).
      if ((this.cr & Cr.RXE) !== 0) this.storeReceived(shifted.byte, shifted.tag, undefined);
    } else {
      this.emit({
        kind: "byte",
        byte: shifted.byte,
        tag: shifted.tag,
        start: shifted.start,
        end,
        format: shifted.format,
        ...(this.peerLine ? { peer: this.peerDecode(shifted.byte, shifted.start, end) } : {}),
      });
    }
    this.tryStartTx();
    this.updateIrq();
  }

  /** What the peer's receiver reads from one UART frame (followed by an idle line). */
  private peerDecode(byte: number, start: number, end: number): PeerView {
    const format = frameFormat(this.lcrH);
    const bits = encodeFrame(byte, format);
    const line = new BitLine();
    line.append({ start, bitNs: (end - start) / bits.length, bits, tag: 0 });
    const got = line.sample(start, this.peerBitNs, this.peerFormat)!;
    return { byte: got.data, framingError: got.framingError, parityError: got.parityError };
  }

  private emit(b: WireByte): void {
    this.counters.txEmitted++;
    this.host.trace(`${this.name}.tx`, { byte: b.byte, tag: b.tag, kind: b.kind });
    if (this.record) this.transmitted.push(b);
    for (const listener of this.listeners) listener(b);
  }

  private writeLcrH(value: number): void {
    const old = this.lcrH;
    this.lcrH = value;
    // The LCR_H write strobe latches IBRD/FBRD (reference §3.5).
    this.latched = { ibrd: this.ibrd, fbrd: this.fbrd };
    if (this.variant === "qemu") {
      if ((old ^ value) & LcrH.FEN) {
        // QEMU resets the RX FIFO on any FEN toggle, discarding unread input (§8).
        this.counters.rxFlushed += this.rxFifo.length;
        this.rxFifo.clear();
        this.ris &= ~Int.RX;
      }
      this.updateIrq();
      this.pumpHostLine();
      return;
    }
    if (old & LcrH.FEN && !(value & LcrH.FEN)) {
      // Clearing FEN flushes the TX FIFO (TRM programming sequence).
      this.counters.txFlushed += this.txFifo.length;
      this.txFifo.clear();
    }
    const now = this.host.now();
    if (!(old & LcrH.BRK) && value & LcrH.BRK) this.breakStart = now;
    if (old & LcrH.BRK && !(value & LcrH.BRK) && this.breakStart !== null) {
      this.emit({
        kind: "break",
        byte: 0,
        tag: 0,
        start: this.breakStart,
        end: now,
        format: "break",
      });
      this.breakStart = null;
    }
    if (!divisorValid(this.latched)) {
      this.diagnose(
        "divisor-invalid",
        Reg.LCR_H,
        `latched divisor IBRD=${this.latched.ibrd} FBRD=${this.latched.fbrd} is invalid`,
      );
    }
    this.tryStartTx();
    this.updateIrq();
  }

  // ---------------------------------------------------------------- interrupt line

  /** UARTINTR = OR of MIS bits, driven as a level (reference §3.8, §11 item 10). */
  private updateIrq(): void {
    const level = (this.ris & this.imsc) !== 0;
    if (level === this.irqLevel) return;
    this.irqLevel = level;
    if (level) this.counters.irqAssertions++;
    this.host.setIrqLevel(this.irq, level);
  }

  /** Back to reset values; the wire backlog and timers are dropped. */
  reset(): void {
    for (const timer of [this.txTimer, this.rtTimer, this.hostTimer, this.rxSampleTimer]) {
      if (timer !== null) this.host.cancel(timer);
    }
    this.txTimer = this.rtTimer = this.hostTimer = this.rxSampleTimer = null;
    this.rsr = RESET.RSR;
    this.ilpr = RESET.ILPR;
    this.ibrd = RESET.IBRD;
    this.fbrd = RESET.FBRD;
    this.lcrH = RESET.LCR_H;
    this.cr = RESET.CR;
    this.ifls = RESET.IFLS;
    this.imsc = RESET.IMSC;
    this.dmacr = RESET.DMACR;
    this.ris = 0;
    this.latched = { ibrd: 0, fbrd: 0 };
    this.rxFifo.clear();
    this.txFifo.clear();
    this.txShift = null;
    this.overrunPending = false;
    this.hostFrames.length = 0;
    this.hostFrameHead = 0;
    this.breakStart = null;
    this.rxSearchFrom = this.host.now();
    this.updateIrq();
  }
}

function hex(n: number): string {
  return n.toString(16).padStart(3, "0");
}
