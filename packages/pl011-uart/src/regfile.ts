/**
 * The register file and the interrupt line (pl011 reference §2–§3, §3.8): the stored
 * register values, the divisor latched by the LCR_H strobe, the modem inputs, the raw
 * interrupt status and UARTINTR as a level. The RX and TX paths read and update it; it
 * calls nothing but the host.
 */
import type { DeviceHost } from "@vmmux/microkit-pd";
import { type ModemInputs, newCounters, type Pl011Counters } from "./device-types.js";
import type { Pl011Diagnostic } from "./errors.js";
import {
  type BaudDivisor,
  bitPeriods,
  type DurationFraction,
  type FrameFormat,
  formatName,
  fractionNs,
  frameBits,
  frameFormat,
} from "./line.js";
import { Cr, fifoLevel, Ifls, LcrH, RESET } from "./registers.js";

const NO_MODEM: ModemInputs = { cts: false, dsr: false, dcd: false, ri: false };

export class RegisterFile {
  readonly counters: Pl011Counters = newCounters();
  readonly diagnostics: Pl011Diagnostic[] = [];
  rsr: number = RESET.RSR;
  ilpr: number = RESET.ILPR;
  ibrd: number = RESET.IBRD;
  fbrd: number = RESET.FBRD;
  /** LCR_H; written through {@link setLineControl} so the derived line values stay current. */
  lcrH: number = RESET.LCR_H;
  cr: number = RESET.CR;
  ifls: number = RESET.IFLS;
  imsc: number = RESET.IMSC;
  ris = 0;
  dmacr: number = RESET.DMACR;
  /** IBRD/FBRD as latched by the last LCR_H write (reference §3.5). */
  latched: BaudDivisor = { ibrd: 0, fbrd: 0 };
  modem: ModemInputs = NO_MODEM;
  /** Frame layout, its short name and one frame's duration, derived from LCR_H and the latch. */
  format: FrameFormat = frameFormat(RESET.LCR_H);
  formatName = formatName(this.format);
  frameDuration: DurationFraction = { num: 0, den: 1 };
  /** 32 bit periods, the receive timeout (reference §7), in whole ns. */
  rxTimeoutNs = 0;
  /** Name of the per-character transmit trace record, made once rather than per character. */
  readonly txTraceName: string;
  private irqLevel = false;

  constructor(
    readonly host: DeviceHost,
    readonly irq: number,
    /** FIFO depth with FEN set (reference §1; QEMU: 16). */
    readonly fifoDepth: number,
    readonly uartClockHz: number,
    /** Prefix of this device's trace records. */
    readonly name: string,
  ) {
    this.txTraceName = `${name}.tx`;
    this.deriveLine();
  }

  get irqAsserted(): boolean {
    return this.irqLevel;
  }

  get fen(): boolean {
    return (this.lcrH & LcrH.FEN) !== 0;
  }

  /** FIFO capacity in force: the depth, or one entry in character mode (reference §6). */
  get activeDepth(): number {
    return this.fen ? this.fifoDepth : 1;
  }

  /** An LCR_H write: store it and latch IBRD/FBRD with its strobe (reference §3.5). */
  setLineControl(value: number): void {
    this.lcrH = value;
    this.latched = { ibrd: this.ibrd, fbrd: this.fbrd };
    this.deriveLine();
  }

  private deriveLine(): void {
    this.format = frameFormat(this.lcrH);
    this.formatName = formatName(this.format);
    this.frameDuration = bitPeriods(frameBits(this.format), this.latched, this.uartClockHz);
    this.rxTimeoutNs = fractionNs(bitPeriods(32, this.latched, this.uartClockHz));
  }

  /** Receiver on and external input used: UARTEN, RXE and no loopback (reference §3.6). */
  get receiverTakesLine(): boolean {
    return (this.cr & (Cr.UARTEN | Cr.RXE | Cr.LBE)) === (Cr.UARTEN | Cr.RXE);
  }

  /** The TX interrupt level in entries (reference §3.7; character mode: 0). */
  txLevel(): number {
    if (!this.fen) return 0;
    return fifoLevel(this.ifls & Ifls.TX_MASK, this.fifoDepth);
  }

  /** The RX interrupt level IFLS selects (reference §3.7; character mode: 1). */
  iflsRxLevel(): number {
    if (!this.fen) return 1;
    return fifoLevel((this.ifls & Ifls.RX_MASK) >>> Ifls.RX_SHIFT, this.fifoDepth);
  }

  /** UARTINTR = OR of MIS bits, driven as a level (reference §3.8, §11 item 10). */
  updateIrq(): void {
    const level = (this.ris & this.imsc) !== 0;
    if (level === this.irqLevel) return;
    this.irqLevel = level;
    if (level) this.counters.irqAssertions++;
    this.host.setIrqLevel(this.irq, level);
  }

  /** Record an ignored register access (errors.ts: a PD's misuse never throws). */
  diagnose(kind: Pl011Diagnostic["kind"], offset: number, message: string): void {
    this.counters.badAccesses++;
    this.diagnostics.push({ time: this.host.now(), kind, offset, message });
  }

  /** Register values back to reset (reference §2); modem inputs and counters are kept. */
  resetValues(): void {
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
    this.deriveLine();
  }
}

export function hex(n: number): string {
  return n.toString(16).padStart(3, "0");
}
