/**
 * The PL011 device model: registers, FIFOs, interrupts and character timing in virtual
 * time (pl011 reference §2–§7, checklist §11), with a host-side wire. This module is the
 * composition and the MMIO decoder; the parts are the register file and IRQ line
 * (`regfile.ts`), the receive path (`rx.ts`), the transmit path (`tx.ts`), the wire
 * adapters (`wire.ts` frame level, `bitwire.ts` bit level) and the variant's policy
 * (`behaviour.ts` for the TRM, `qemu.ts` for QEMU's model).
 */
import type { AccessWidth, MmioDevice } from "@vmmux/microkit-pd";
import { HARDWARE_BEHAVIOUR, type PartsContext, type Pl011Behaviour } from "./behaviour.js";
import type {
  ModemInputs,
  Pl011Counters,
  Pl011Options,
  Pl011Variant,
  WireByte,
  WireSendOptions,
} from "./device-types.js";
import { type Pl011Diagnostic, Pl011Error } from "./errors.js";
import { TaggedFifo } from "./fifo.js";
import { divisorValid, type FrameFormat, frameFormat } from "./line.js";
import { TransmitOutput, type TransmitSink } from "./output.js";
import { QEMU_BEHAVIOUR } from "./qemu.js";
import { hex, RegisterFile } from "./regfile.js";
import { Fr, ID_BYTES, Int, type Pl011Revision, REVISIONS, Reg, WIDTH_MASK } from "./registers.js";
import { Receiver } from "./rx.js";
import type { Transmitter } from "./tx.js";
import type { PeerWire } from "./wire.js";

export type {
  ModemInputs,
  PeerSettings,
  PeerView,
  Pl011Counters,
  Pl011Options,
  Pl011Variant,
  WireByte,
  WireSendOptions,
} from "./device-types.js";

/** Storage of each FIFO: the largest depth of any revision (reference §1). */
const STORAGE_DEPTH = 32;

const BEHAVIOURS: Readonly<Record<Pl011Variant, Pl011Behaviour>> = {
  hardware: HARDWARE_BEHAVIOUR,
  qemu: QEMU_BEHAVIOUR,
};

/**
 * An ARM PL011 UART attached to a `DeviceHost`. Register accesses come in through
 * {@link MmioDevice}; the peer on the other end of the serial line uses {@link send},
 * {@link sendBreak} and {@link onTransmit}.
 *
 * Extension points for subclasses (integration variants, instrumentation, fault
 * injection): {@link makeFifo} supplies each FIFO, {@link writeRegister} decodes every
 * register write, and {@link regs} is the register file they act on.
 */
export class Pl011Device implements MmioDevice {
  readonly variant: Pl011Variant;
  readonly revision: Pl011Revision;
  readonly fifoDepth: number;
  readonly uartClockHz: number;
  readonly diagnostics: Pl011Diagnostic[];

  protected readonly regs: RegisterFile;
  private readonly behaviour: Pl011Behaviour;
  private readonly rx: Receiver;
  private readonly tx: Transmitter;
  private readonly wire: PeerWire;
  private readonly output: TransmitOutput;

  constructor(options: Pl011Options) {
    const variant = options.variant ?? "hardware";
    const behaviour = BEHAVIOURS[variant];
    if (!behaviour) throw new Pl011Error("PL011_BAD_OPTION", `unknown pl011 variant '${variant}'`);
    this.behaviour = behaviour;
    this.variant = variant;
    this.revision = options.revision ?? behaviour.defaultRevision;
    const rev = REVISIONS[this.revision];
    if (!rev) throw new Pl011Error("PL011_BAD_OPTION", `unknown pl011 revision '${this.revision}'`);
    this.fifoDepth = behaviour.fifoDepth(rev.fifoDepth);
    this.uartClockHz = options.uartClockHz ?? 24_000_000;
    if (!Number.isSafeInteger(this.uartClockHz) || this.uartClockHz <= 0) {
      throw new Pl011Error("PL011_BAD_OPTION", `uartClockHz must be a positive integer`);
    }
    const instant = options.timing === "instant";
    const peerBaud = options.peerBaud ?? 115_200;
    if (!(Number.isFinite(peerBaud) && peerBaud > 0)) {
      throw new Pl011Error("PL011_BAD_OPTION", `peerBaud ${peerBaud} must be positive and finite`);
    }
    if (options.peer && !(Number.isFinite(options.peer.baud) && options.peer.baud > 0)) {
      throw new Pl011Error(
        "PL011_BAD_OPTION",
        `peer baud ${options.peer.baud} must be positive and finite`,
      );
    }
    const name = options.name ?? "pl011";
    this.regs = new RegisterFile(options.host, options.irq, this.fifoDepth, this.uartClockHz, name);
    this.diagnostics = this.regs.diagnostics;
    const sink = options.transmitSink ?? null;
    this.output = new TransmitOutput(this.regs, options.recordTransmitted ?? sink === null, sink);
    this.rx = new Receiver(this.regs, behaviour, this.makeFifo("rx"), instant, () =>
      this.wire.fifoRoom(),
    );
    const ctx: PartsContext = {
      regs: this.regs,
      rx: this.rx,
      txFifo: this.makeFifo("tx"),
      output: this.output,
      instant,
      peerBaud,
      options,
    };
    this.wire = behaviour.makeWire(ctx);
    this.tx = this.makeTransmitter(ctx, this.wire);
  }

  /** The FIFO of one direction (extension point: called twice by the constructor). */
  protected makeFifo(_direction: "rx" | "tx"): TaggedFifo {
    return new TaggedFifo(STORAGE_DEPTH);
  }

  /** The transmitter (extension point: the variant's policy builds it by default). */
  protected makeTransmitter(ctx: PartsContext, wire: PeerWire): Transmitter {
    return this.behaviour.makeTransmitter(ctx, wire);
  }

  /** Observability counters; characters that have ended by now are accounted first. */
  get counters(): Pl011Counters {
    this.tx.settle();
    return this.regs.counters;
  }

  /** Every transmitted character in order (when recording; see `recordTransmitted`). */
  get transmitted(): WireByte[] {
    this.tx.settle();
    return this.output.transmitted;
  }

  /**
   * Account every character that has ended by now, so the sink has seen it (arithmetic
   * draining, `exactCharacterEvents: false`; a no-op otherwise). Call it before reading
   * results at the end of a run.
   */
  settle(): void {
    this.tx.settle();
  }

  /** Replace the transmit sink (null: none). Recording was decided at construction. */
  setTransmitSink(sink: TransmitSink | null): void {
    this.tx.settle();
    this.output.sink = sink;
  }

  // ---------------------------------------------------------------- host side

  /** Listen to characters leaving the TX line (called at the end of each stop bit). */
  onTransmit(listener: (b: WireByte) => void): void {
    // Draining: what ended before is accounted without it; from now on each end is a wake.
    this.tx.settle();
    this.output.listen(listener);
    this.tx.rearm();
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
    this.wire.send(list, at, tagOf, options.error);
  }

  /** The peer holds the line low for one frame: the receiver stores one 0x00 with BE. */
  sendBreak(options: { at?: number; tag?: number } = {}): void {
    const at = this.wireTime(options.at, "break");
    const tag = options.tag ?? 0;
    this.wire.send([0], at, () => tag, "break");
  }

  /**
   * The start time of a wire event: now by default, never in the past, and finite: a NaN
   * would poison the host's clock and an infinite time would hold every later frame
   * behind it forever.
   */
  private wireTime(at: number | undefined, what: "send" | "break"): number {
    const now = this.regs.host.now();
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
    return this.wire.backlog;
  }

  /** Change modem inputs; a change raises the matching RIS bit (reference §7). */
  setModemInputs(inputs: Partial<ModemInputs>): void {
    this.tx.settle();
    const regs = this.regs;
    const old = regs.modem;
    const next = { ...old, ...inputs };
    if (next.ri !== old.ri) regs.ris |= Int.RIM;
    if (next.cts !== old.cts) regs.ris |= Int.CTSM;
    if (next.dcd !== old.dcd) regs.ris |= Int.DCDM;
    if (next.dsr !== old.dsr) regs.ris |= Int.DSRM;
    regs.modem = next;
    this.tx.start();
    regs.updateIrq();
    this.tx.rearm();
  }

  /** Current level of the combined interrupt output UARTINTR. */
  get irqAsserted(): boolean {
    return this.regs.irqAsserted;
  }

  /** Entries in the RX FIFO (observability; not a register). */
  get rxFifoLevel(): number {
    return this.rx.fifo.length;
  }

  /** Entries in the TX FIFO, not counting the shift register. */
  get txFifoLevel(): number {
    this.tx.settle();
    return this.tx.fifoLevel;
  }

  /** The rate the latched divisor generates, or 0 if it is invalid. */
  get baud(): number {
    const { latched } = this.regs;
    if (!divisorValid(latched)) return 0;
    return (this.uartClockHz * 4) / (latched.ibrd * 64 + latched.fbrd);
  }

  get format(): FrameFormat {
    return frameFormat(this.regs.lcrH);
  }

  // ---------------------------------------------------------------- MMIO

  read(offset: number, width: AccessWidth): number {
    this.tx.settle();
    if (!this.accessOk(offset, width)) return 0;
    const value = this.readRegister(offset);
    return width === 4 ? value >>> 0 : value & (width === 1 ? 0xff : 0xffff);
  }

  readTag(offset: number): number {
    return offset === Reg.DR ? this.rx.readTag : 0;
  }

  write(offset: number, width: AccessWidth, value: number, tag = 0): void {
    if (!this.accessOk(offset, width)) return;
    const v = (width === 4 ? value >>> 0 : value & (width === 1 ? 0xff : 0xffff)) >>> 0;
    this.tx.settle();
    this.writeRegister(offset, v, tag);
    this.tx.rearm();
  }

  private accessOk(offset: number, width: AccessWidth): boolean {
    if (width === 8) {
      this.regs.diagnose("bad-width", offset, `64-bit access at offset 0x${hex(offset)} ignored`);
      return false;
    }
    if (offset % 4 !== 0 || offset < 0 || offset >= 0x1000) {
      this.regs.diagnose("unaligned-access", offset, `access at offset 0x${hex(offset)} ignored`);
      return false;
    }
    return true;
  }

  private readRegister(offset: number): number {
    const regs = this.regs;
    switch (offset) {
      case Reg.DR:
        return this.rx.readDr();
      case Reg.RSR_ECR:
        return regs.rsr;
      case Reg.FR:
        return this.flags();
      case Reg.ILPR:
        return regs.ilpr;
      case Reg.IBRD:
        return regs.ibrd;
      case Reg.FBRD:
        return regs.fbrd;
      case Reg.LCR_H:
        return regs.lcrH;
      case Reg.CR:
        return regs.cr;
      case Reg.IFLS:
        return regs.ifls;
      case Reg.IMSC:
        return regs.imsc;
      case Reg.RIS:
        return regs.ris;
      case Reg.MIS:
        return regs.ris & regs.imsc;
      case Reg.ICR:
        regs.diagnose("read-of-write-only", offset, "read of write-only UARTICR returns 0");
        return 0;
      case Reg.DMACR:
        return regs.dmacr;
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
        regs.diagnose("unmapped-offset", offset, `read of reserved offset 0x${hex(offset)}`);
        return 0;
    }
  }

  /** Decode one register write (extension point: subclasses may intercept writes). */
  protected writeRegister(offset: number, value: number, tag: number): void {
    const regs = this.regs;
    switch (offset) {
      case Reg.DR:
        this.tx.writeDr(value & WIDTH_MASK.DR_WRITE, tag);
        return;
      case Reg.RSR_ECR:
        regs.rsr = 0;
        return;
      case Reg.ILPR:
        regs.ilpr = value & WIDTH_MASK.ILPR;
        return;
      case Reg.IBRD:
        regs.ibrd = value & WIDTH_MASK.IBRD;
        return;
      case Reg.FBRD:
        regs.fbrd = value & WIDTH_MASK.FBRD;
        return;
      case Reg.LCR_H: {
        const old = regs.lcrH;
        regs.setLineControl(value & WIDTH_MASK.LCR_H);
        const parts = { regs, rx: this.rx, tx: this.tx, wire: this.wire };
        this.behaviour.lineControlWritten(parts, old, regs.lcrH);
        return;
      }
      case Reg.CR:
        regs.cr = value & WIDTH_MASK.CR;
        this.tx.start();
        this.wire.lineChanged();
        return;
      case Reg.IFLS:
        regs.ifls = value & WIDTH_MASK.IFLS;
        return;
      case Reg.IMSC:
        regs.imsc = value & WIDTH_MASK.IMSC;
        regs.updateIrq();
        return;
      case Reg.ICR:
        regs.ris &= ~value & Int.ALL;
        regs.updateIrq();
        return;
      case Reg.DMACR:
        regs.dmacr = value & WIDTH_MASK.DMACR;
        return;
      case Reg.FR:
      case Reg.RIS:
      case Reg.MIS:
        regs.diagnose("write-to-read-only", offset, `write to read-only offset 0x${hex(offset)}`);
        return;
      default:
        if (offset >= Reg.PERIPH_ID0) {
          regs.diagnose("write-to-read-only", offset, `write to ID register 0x${hex(offset)}`);
        } else {
          regs.diagnose("unmapped-offset", offset, `write to reserved offset 0x${hex(offset)}`);
        }
    }
  }

  /** FR computed from state (reference §3.3, §11 item 2). */
  private flags(): number {
    const regs = this.regs;
    const { modem } = regs;
    let fr = 0;
    if (modem.cts) fr |= Fr.CTS;
    if (modem.dsr) fr |= Fr.DSR;
    if (modem.dcd) fr |= Fr.DCD;
    if (modem.ri) fr |= Fr.RI;
    const rxLength = this.rx.fifo.length;
    if (rxLength === 0) fr |= Fr.RXFE;
    if (rxLength >= regs.activeDepth) fr |= Fr.RXFF;
    return fr | this.tx.flags();
  }

  /** Back to reset values; the wire backlog and timers are dropped. */
  reset(): void {
    this.tx.settle();
    this.tx.reset();
    this.rx.reset();
    this.wire.reset();
    this.regs.resetValues();
    this.regs.updateIrq();
  }
}
