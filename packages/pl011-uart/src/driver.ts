/**
 * The sDDF ARM PL011 serial driver as a Microkit PD program (sddf-serial §7, au-ts/sddf
 * `drivers/serial/arm/uart.c`): `init` programs the UART, `notified` serves the device IRQ
 * (MIS loop, deferred ack), the TX queue from virt_tx and the RX-resume signal from virt_rx.
 *
 * Every register access is a preemption point (`mmio`), every queue operation too
 * (`queue`), so a higher-priority PD or the device can interleave exactly where the C code
 * can be interrupted (between "queue full" and the signal request, for instance).
 */
import {
  type MmioPort,
  type PdContext,
  type PdProgram,
  type PdStep,
  work,
} from "@vmmux/microkit-pd";
import { isSddfQueueError, SerialQueue } from "@vmmux/sddf-queues";
import {
  type ConnectionConfig,
  type Pl011DriverConfig,
  type ResolvedDriverConfig,
  resolveDriverConfig,
} from "./config.js";
import { type DriverBehaviours, driverBehaviours } from "./driver-defects.js";
import { Pl011Error } from "./errors.js";
import { Cr, Dr, Fr, Ifls, Int, LcrH, Reg } from "./registers.js";

/** Driver-side loss and stall counters, named after sddf-serial §10. */
export interface Pl011DriverCounters {
  /** Bytes moved from the RX FIFO to the RX queue. */
  rxBytes: number;
  /** Bytes moved from the TX queue to the TX FIFO. */
  txBytes: number;
  /** R3: times the RX queue was full with bytes still in the FIFO (RX/RT masked, stall). */
  rxQueueFullStalls: number;
  /** R4: delivered bytes whose DR read carried any error flag, and per flag. */
  rxErrorBytes: number;
  rxFramingErrors: number;
  rxParityErrors: number;
  rxBreaks: number;
  rxOverrunFlags: number;
  /** T6: times `tx_provide` stopped at TXFF with bytes left in the queue (waits for TX IRQ). */
  txFifoFullWaits: number;
  /** IRQ notifications served, and those whose first MIS read had nothing to do. */
  irqs: number;
  spuriousIrqs: number;
  /** Hardened only: IRQ loops cut at `maxIrqPasses`. */
  irqLoopCuts: number;
  /** Queue operations refused because a peer corrupted a shared index (contained). */
  peerFaults: number;
  /** Notifications on channels the driver does not own. */
  unexpectedChannels: number;
}

function newCounters(): Pl011DriverCounters {
  return {
    rxBytes: 0,
    txBytes: 0,
    rxQueueFullStalls: 0,
    rxErrorBytes: 0,
    rxFramingErrors: 0,
    rxParityErrors: 0,
    rxBreaks: 0,
    rxOverrunFlags: 0,
    txFifoFullWaits: 0,
    irqs: 0,
    spuriousIrqs: 0,
    irqLoopCuts: 0,
    peerFaults: 0,
    unexpectedChannels: 0,
  };
}

const MMIO = work("mmio");
const QUEUE = work("queue");

/**
 * The sDDF PL011 driver PD. One instance per UART. Each defect switch of the profile picks
 * one of two behaviours once, here (`driver-defects.ts`). Extension point: subclasses may
 * replace {@link rxRecheck}, the double check after a signal request.
 */
export class Pl011Driver implements PdProgram {
  readonly config: ResolvedDriverConfig;
  readonly counters: Pl011DriverCounters = newCounters();
  private readonly behaviours: DriverBehaviours;
  private regs: MmioPort | null = null;
  private txq: SerialQueue | null = null;
  private rxq: SerialQueue | null = null;

  constructor(config: Pl011DriverConfig) {
    this.config = resolveDriverConfig(config);
    this.behaviours = driverBehaviours(this.config.defects, this.config.maxIrqPasses);
  }

  /** The RX queue handle (after init), for tests and tools. */
  get rxQueue(): SerialQueue | null {
    return this.rxq;
  }

  get txQueue(): SerialQueue | null {
    return this.txq;
  }

  *init(pd: PdContext): PdStep {
    const { rx } = this.config;
    const b = this.behaviours;
    const regs = pd.mmio(this.config.mmioRegion);
    this.regs = regs;
    // sddf-serial §7.2 steps 2–11.
    let spins = 0;
    while (regs.read(Reg.FR, 4) & Fr.BUSY) {
      yield MMIO;
      if (++spins > b.busySpinLimit) break;
    }
    yield MMIO;
    yield* this.modify(Reg.CR, (v) => v & ~(Cr.RXE | Cr.TXE | Cr.UARTEN));
    yield* this.modify(Reg.LCR_H, (v) => v & ~LcrH.STP2);
    yield* this.modify(Reg.LCR_H, b.wordLength);
    yield* this.setBaud();
    yield* this.modify(Reg.LCR_H, (v) => v | LcrH.FEN);
    yield* this.modify(Reg.LCR_H, b.parity);
    if (rx) {
      yield* this.modify(Reg.IFLS, (v) => v & ~Ifls.RX_MASK);
      yield* this.modify(Reg.IMSC, (v) => v | Int.RX | Int.RT);
    }
    yield* this.modify(Reg.IFLS, (v) => v & ~Ifls.TX_MASK);
    yield* this.modify(Reg.IMSC, (v) => v | Int.TX);
    yield* b.clearStaleStatus(regs);
    yield* this.modify(Reg.CR, (v) => v | Cr.UARTEN);
    yield* this.modify(Reg.CR, (v) => v | Cr.TXE);
    if (rx) yield* this.modify(Reg.CR, (v) => v | Cr.RXE);
    this.txq = this.openQueue(pd, this.config.tx);
    if (rx) this.rxq = this.openQueue(pd, rx);
  }

  /**
   * One notification: the entry point's generator for its channel (§7.3–§7.5). Not a generator
   * itself, and the IRQ's MIS loop is the entry's own body, so each per-byte step of
   * `tx_provide` resumes two generator frames instead of four.
   */
  notified(ch: number, pd: PdContext): PdStep {
    const { irqChannel, tx, rx } = this.config;
    if (ch === irqChannel) return this.irqNotified(ch, pd);
    if (ch === tx.channel || (rx && ch === rx.channel)) return this.queueNotified(ch, pd);
    return this.unexpectedNotified(ch, pd);
  }

  /** A peer corrupted a shared index: refuse the transfer, keep the driver alive. */
  private peerFault(message: string, ch: number, pd: PdContext): void {
    this.counters.peerFaults++;
    pd.debug(`UART|ERROR: ${message}`);
    if (ch === this.config.irqChannel) pd.deferredIrqAck(ch);
  }

  /** A queue handle broke (sddf-serial §2.3): the current notification's work stops. */
  private get stopped(): boolean {
    return this.txq?.broken !== undefined || this.rxq?.broken !== undefined;
  }

  /**
   * A throw from a queue handle with the queue library's default `"throw"` policy (none of
   * ours) ends the notification's work as a peer fault; anything else is not the driver's.
   */
  private caught(error: unknown, ch: number, pd: PdContext): void {
    if (!isSddfQueueError(error)) throw error;
    this.peerFault(error.message, ch, pd);
  }

  /**
   * After a notification's work. Our handles are opened with `onCorruptIndex: "break"`: the
   * work stopped at the queue call that saw a corrupt peer index, where a throw would have
   * stopped it. The next notification validates the peer's indices afresh.
   */
  private afterWork(ch: number, pd: PdContext): void {
    const broken = this.txq?.broken ?? this.rxq?.broken;
    if (broken === undefined) return;
    this.txq?.recover();
    this.rxq?.recover();
    this.peerFault(broken.message, ch, pd);
  }

  /**
   * The device IRQ: §7.4 `handle_irq`, serving RX and TX until MIS shows neither, re-reading
   * it each pass; then the deferred ack, unless a queue handle broke.
   */
  private *irqNotified(ch: number, pd: PdContext): PdStep {
    try {
      const regs = this.regs!;
      this.counters.irqs++;
      let mis = regs.read(Reg.MIS, 4);
      yield MMIO;
      if (!(mis & (Int.RX | Int.RT | Int.TX))) this.counters.spuriousIrqs++;
      let passes = 0;
      while (mis & (Int.RX | Int.RT | Int.TX)) {
        if (passes++ >= this.behaviours.irqPassLimit) {
          this.counters.irqLoopCuts++;
          break;
        }
        if (this.rxq && mis & (Int.RX | Int.RT)) {
          yield* this.rxReturn(pd);
          if (this.stopped) break;
        }
        if (mis & Int.TX) {
          yield* this.txProvide(pd);
          if (this.stopped) break;
        }
        mis = regs.read(Reg.MIS, 4);
        yield MMIO;
      }
      // A broken handle stops the work before the ack (the loop cut does not).
      if (!this.stopped) pd.deferredIrqAck(ch);
    } catch (error) {
      this.caught(error, ch, pd);
      return;
    }
    this.afterWork(ch, pd);
  }

  /** virt_tx's TX channel (§7.5 `tx_provide`), or virt_rx's RX-resume signal (§7.3). */
  private *queueNotified(ch: number, pd: PdContext): PdStep {
    try {
      if (ch === this.config.tx.channel) {
        yield* this.txProvide(pd);
      } else {
        // virt_rx made room: unconditionally re-enable RX/RT, then drain (§7.3).
        yield* this.modify(Reg.IMSC, (v) => v | Int.RX | Int.RT);
        yield* this.rxReturn(pd);
      }
    } catch (error) {
      this.caught(error, ch, pd);
      return;
    }
    this.afterWork(ch, pd);
  }

  /** A notification on a channel the driver does not own. */
  private *unexpectedNotified(ch: number, pd: PdContext): PdStep {
    this.counters.unexpectedChannels++;
    pd.debug(`UART|LOG: received notification on unexpected channel ${ch}`);
    this.afterWork(ch, pd);
  }

  /** Reads FR (a preemption point) and tests RXFE. */
  private *rxFifoEmpty(): PdStep<boolean> {
    const fr = this.regs!.read(Reg.FR, 4);
    yield MMIO;
    return (fr & Fr.RXFE) !== 0;
  }

  /**
   * §7.4 `rx_return`: FIFO → RX queue one byte at a time; when the queue is full, mask
   * RX/RT and request a signal, then re-check (the double check of §3.2) and undo if
   * virt_rx made room meanwhile. Bytes never get dropped here: they wait in the FIFO (R3).
   */
  private *rxReturn(pd: PdContext): PdStep {
    const regs = this.regs!;
    const rxq = this.rxq!;
    let enqueued = false;
    let again = true;
    while (again) {
      for (;;) {
        // The FR read of `rxFifoEmpty`, inline: no generator per byte on the hot path.
        const fr = regs.read(Reg.FR, 4);
        yield MMIO;
        if (fr & Fr.RXFE) break;
        const full = rxq.full();
        if (rxq.broken !== undefined) return;
        yield QUEUE;
        if (full) break;
        const value = regs.read(Reg.DR, 4);
        const tag = regs.readTag(Reg.DR);
        yield MMIO;
        this.noteErrors(value, pd);
        rxq.enqueue(value & Dr.DATA, tag);
        if (rxq.broken !== undefined) return;
        this.counters.rxBytes++;
        enqueued = true;
        yield QUEUE;
      }
      if (!(yield* this.rxFifoEmpty()) && rxq.full()) {
        if (rxq.broken !== undefined) return;
        yield QUEUE;
        this.counters.rxQueueFullStalls++;
        yield* this.modify(Reg.IMSC, (v) => v & ~(Int.RX | Int.RT));
        rxq.requestConsumerSignal();
        yield QUEUE;
      }
      if (rxq.broken !== undefined) return;
      again = yield* this.rxRecheck();
      if (rxq.broken !== undefined) return;
    }
    if (enqueued) pd.notify(this.config.rx!.channel);
  }

  /**
   * The double check after requesting a signal (sddf-serial §3.2 phase 2): if virt_rx made
   * room meanwhile and bytes wait, cancel the request, unmask RX/RT and fill again (the
   * returned `true`). Without it the wake-up of §3.3 can be lost.
   */
  protected *rxRecheck(): PdStep<boolean> {
    const rxq = this.rxq!;
    if (!(yield* this.rxFifoEmpty()) && !rxq.full()) {
      if (rxq.broken !== undefined) return false;
      yield QUEUE;
      rxq.cancelConsumerSignal();
      yield* this.modify(Reg.IMSC, (v) => v | Int.RX | Int.RT);
      return true;
    }
    return false;
  }

  /** R4: the error flags of a DR read, counted always; reported unless the defect is on. */
  private noteErrors(value: number, pd: PdContext): void {
    if (!(value & (Dr.FE | Dr.PE | Dr.BE | Dr.OE))) return;
    const c = this.counters;
    c.rxErrorBytes++;
    if (value & Dr.FE) c.rxFramingErrors++;
    if (value & Dr.PE) c.rxParityErrors++;
    if (value & Dr.BE) c.rxBreaks++;
    if (value & Dr.OE) c.rxOverrunFlags++;
    this.behaviours.reportErrors(value, pd);
  }

  /**
   * §7.5 `tx_provide`: queue → FIFO until TXFF or empty; TXIM on exactly while bytes remain;
   * notify virt_tx if it asked and something moved.
   */
  private *txProvide(pd: PdContext): PdStep {
    const regs = this.regs!;
    const txq = this.txq!;
    let moved = false;
    for (;;) {
      const fr = regs.read(Reg.FR, 4);
      yield MMIO;
      if (fr & Fr.TXFF) break;
      const byte = txq.dequeue();
      if (txq.broken !== undefined) return;
      yield QUEUE;
      if (byte === undefined) break;
      regs.write(Reg.DR, 4, byte, txq.lastTag);
      this.counters.txBytes++;
      moved = true;
      yield MMIO;
    }
    const remaining = !txq.empty();
    if (txq.broken !== undefined) return;
    yield QUEUE;
    if (remaining) this.counters.txFifoFullWaits++;
    const enableTx = yield* this.behaviours.enableTxIm(regs, remaining);
    // The read-modify-write of `modify`, inline: no generator or closure per call.
    const imsc = regs.read(Reg.IMSC, 4);
    yield MMIO;
    regs.write(Reg.IMSC, 4, (enableTx ? imsc | Int.TX : imsc & ~Int.TX) >>> 0);
    yield MMIO;
    if (moved && txq.requireConsumerSignal()) {
      txq.cancelConsumerSignal();
      pd.notify(this.config.tx.channel);
    }
  }

  /** §7.6 `set_baud`, or the TRM divisor when the defect is off. */
  private *setBaud(): PdStep {
    const regs = this.regs!;
    const d = this.behaviours.baud(this.config.uartClockHz, this.config.defaultBaud);
    regs.write(Reg.IBRD, 4, d.ibrd);
    yield MMIO;
    regs.write(Reg.FBRD, 4, d.fbrd);
    yield MMIO;
  }

  /** A read-modify-write of one register: two accesses, two preemption points. */
  private *modify(offset: number, f: (value: number) => number): PdStep {
    const regs = this.regs!;
    const value = regs.read(offset, 4);
    yield MMIO;
    regs.write(offset, 4, f(value) >>> 0);
    yield MMIO;
  }

  private openQueue(pd: PdContext, conn: ConnectionConfig): SerialQueue {
    let queueRegion: ReturnType<PdContext["memory"]>;
    let dataRegion: ReturnType<PdContext["memory"]>;
    try {
      queueRegion = pd.memory(conn.queueRegion);
      dataRegion = pd.memory(conn.dataRegion);
    } catch (error) {
      throw new Pl011Error(
        "PL011_DRIVER_REGION",
        `driver: region of connection on channel ${conn.channel}: ${(error as Error).message}`,
      );
    }
    // A corrupt peer index stops the handle (`broken`) instead of throwing (sddf-serial §2.3).
    return SerialQueue.fromRegions(queueRegion, dataRegion, {
      onCorruptIndex: "break",
      ...(conn.capacity === undefined ? {} : { capacity: conn.capacity }),
    });
  }
}
