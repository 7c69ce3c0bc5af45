/**
 * A guest that is an sDDF serial client PD: it prints a recorded trace through the sDDF
 * putchar library (sddf-serial §8, `util/putchar_serial.c`) at the trace's timestamps, and
 * receives routed keyboard input from virt_rx, echoing it as a tty would or only
 * recording it.
 *
 * The trace holds what a terminal received, i.e. text after the tty's `\n` → `\r\n`
 * translation; the client prints it with that translation undone, so the putchar library's
 * own `\r` insertion gives back the recorded bytes exactly.
 */
import { type PdContext, type PdProgram, type PdStep, work } from "@vmmux/microkit-pd";
import { type LocalTail, provenanceTag, SerialQueue } from "@vmmux/sddf-queues";
import type { Asciicast } from "./asciicast.js";
import { TIMER_CTL_ENABLE, TimerReg } from "./trace-timer.js";

/** One output event of the trace: what the program prints at `at` ns. */
export interface PrintEvent {
  readonly at: number;
  readonly bytes: Uint8Array;
}

const CR = 0x0d;
const LF = 0x0a;
const encoder = new TextEncoder();

/**
 * The trace's `o` events as the program printed them: UTF-8 bytes, `\r\n` (also split
 * across two events) folded back to `\n`. Empty events are kept out.
 */
export function printEvents(cast: Asciicast): PrintEvent[] {
  const outputs = cast.events.filter((e) => e.code === "o");
  const events: PrintEvent[] = [];
  for (const [index, event] of outputs.entries()) {
    let text = event.data;
    const next = outputs[index + 1]?.data ?? "";
    text = text.replace(/\r\n/g, "\n");
    if (text.endsWith("\r") && next.startsWith("\n")) text = text.slice(0, -1);
    if (text.length > 0)
      events.push({ at: Math.round(event.time * 1e9), bytes: encoder.encode(text) });
  }
  return events;
}

/** Channel ids and region names of one client, read from the system file. */
export interface SerialClientWiring {
  /** Client index in both virtualisers (0-based); its provenance origin is `index + 1`. */
  readonly index: number;
  readonly txChannel: number;
  readonly rxChannel: number;
  readonly timerChannel: number;
  readonly txQueue: string;
  readonly txData: string;
  readonly rxQueue: string;
  readonly rxData: string;
  readonly timerRegion: string;
}

/** Named loss and stall points of the client library (sddf-serial §10). */
export interface ClientLoss {
  /** T1: bytes `_sddf_putchar` dropped because fewer than 2 slots were free. */
  T1: number;
  /** T2: bytes `sddf_putchar_unbuffered` dropped because the queue was full. */
  T2: number;
}

/** A byte virt_rx delivered to this client. */
export interface ReceivedByte {
  readonly byte: number;
  readonly tag: number;
  /** Virtual ns at which the client read it. */
  readonly at: number;
}

export interface SerialClientOptions {
  readonly wiring: SerialClientWiring;
  readonly events: readonly PrintEvent[];
  /** `busy`: compute until the next event instead of waiting for the timer. */
  readonly cpu: "idle" | "busy";
  readonly input: "echo" | "record";
}

/**
 * The client PD. `enqueued`/`enqueueTimes` list every byte it put in its TX queue, in
 * order, with provenance sequence = index; `attempted` counts what the program asked to print.
 */
export class SerialClientGuest implements PdProgram {
  readonly loss: ClientLoss = { T1: 0, T2: 0 };
  readonly received: ReceivedByte[] = [];
  private enqueuedBytes = new Uint8Array(1024);
  private enqueuedTimes = new Float64Array(1024);
  private count = 0;
  /** Bytes the program asked to print (before `\r` insertion). */
  attempted = 0;
  /** Trace events printed so far. */
  printed = 0;
  private tx: SerialQueue | undefined;
  private rx: SerialQueue | undefined;
  private readonly local: LocalTail = { tail: 0 };
  private sinceYield = 0;
  private readonly origin: number;

  constructor(readonly options: SerialClientOptions) {
    this.origin = options.wiring.index + 1;
  }

  /** Bytes enqueued (each tagged with origin `index + 1` and its position as sequence). */
  get enqueued(): Uint8Array {
    return this.enqueuedBytes.subarray(0, this.count);
  }

  /** Virtual ns at which each enqueued byte was stored. */
  get enqueueTimes(): Float64Array {
    return this.enqueuedTimes.subarray(0, this.count);
  }

  /** When byte `seq` was stored, ns (undefined: not stored yet). */
  enqueueTimeAt(seq: number): number | undefined {
    return seq < this.count ? this.enqueuedTimes[seq] : undefined;
  }

  /** T3: bytes stored but not published (text after the last `\n`). */
  get unpublished(): number {
    return this.tx === undefined ? 0 : (this.local.tail - this.tx.tail) >>> 0;
  }

  get done(): boolean {
    return this.printed === this.options.events.length;
  }

  *init(pd: PdContext): PdStep {
    const w = this.options.wiring;
    this.tx = SerialQueue.fromRegions(pd.memory(w.txQueue), pd.memory(w.txData));
    this.rx = SerialQueue.fromRegions(pd.memory(w.rxQueue), pd.memory(w.rxData));
    // serial_putchar_init: the local tail starts at the shared tail.
    this.local.tail = this.tx.tail;
    yield work("default", 1);
    if (this.options.cpu === "busy") {
      while (!this.done) {
        const next = this.options.events[this.printed]!.at;
        // A time beyond 2^53 ns (a hostile or absurd trace) is never reached.
        if (!Number.isSafeInteger(next)) return;
        if (next > pd.now()) yield work("ns", next - pd.now());
        yield* this.printDue(pd);
      }
    } else {
      this.armTimer(pd);
    }
  }

  *notified(ch: number, pd: PdContext): PdStep {
    const w = this.options.wiring;
    if (ch === w.timerChannel) {
      yield* this.printDue(pd);
      this.armTimer(pd);
      pd.irqAck(ch);
    } else if (ch === w.rxChannel) {
      yield* this.receive(pd);
    }
    // A signal from virt_tx (the flag starts at "requested", §3.1) needs nothing: the
    // putchar library never waits for space.
  }

  private armTimer(pd: PdContext): void {
    const timer = pd.mmio(this.options.wiring.timerRegion);
    const next = this.options.events[this.printed];
    if (next === undefined || !Number.isSafeInteger(next.at)) {
      timer.write(TimerReg.CTL, 4, 0);
      return;
    }
    timer.write(TimerReg.CVAL_HI, 4, Math.floor(next.at / 2 ** 32));
    timer.write(TimerReg.CVAL_LO, 4, next.at % 2 ** 32);
    timer.write(TimerReg.CTL, 4, TIMER_CTL_ENABLE);
  }

  private *printDue(pd: PdContext): PdStep {
    const events = this.options.events;
    while (this.printed < events.length && events[this.printed]!.at <= pd.now()) {
      const event = events[this.printed]!;
      this.printed++;
      for (const byte of event.bytes) yield* this.putchar(pd, byte);
      if (this.sinceYield > 0) yield* this.charge();
    }
  }

  private *receive(pd: PdContext): PdStep {
    const rx = this.rx as SerialQueue;
    for (let byte = rx.dequeue(); byte !== undefined; byte = rx.dequeue()) {
      this.received.push({ byte, tag: rx.lastTag, at: pd.now() });
      if (this.options.input === "echo") {
        // A tty echoes Enter as CR LF (ICRNL, ONLCR); everything else as typed.
        if (byte === CR) {
          yield* this.putcharUnbuffered(pd, CR);
          yield* this.putcharUnbuffered(pd, LF);
        } else {
          yield* this.putcharUnbuffered(pd, byte);
        }
      }
    }
    yield work("copy", 1);
  }

  private store(pd: PdContext, byte: number): boolean {
    const tx = this.tx as SerialQueue;
    const seq = this.count;
    if (!tx.enqueueLocal(this.local, byte, provenanceTag(this.origin, seq))) return false;
    if (this.count === this.enqueuedBytes.length) {
      const bytes = new Uint8Array(this.count * 2);
      bytes.set(this.enqueuedBytes);
      this.enqueuedBytes = bytes;
      const times = new Float64Array(this.count * 2);
      times.set(this.enqueuedTimes);
      this.enqueuedTimes = times;
    }
    this.enqueuedBytes[seq] = byte;
    this.enqueuedTimes[seq] = pd.now();
    this.count++;
    this.sinceYield++;
    return true;
  }

  /** `_sddf_putchar` (sddf-serial §8). */
  private *putchar(pd: PdContext, byte: number): PdStep {
    const tx = this.tx as SerialQueue;
    this.attempted++;
    if (tx.full(this.local.tail) || tx.full((this.local.tail + 1) >>> 0)) {
      this.loss.T1++;
      return;
    }
    if (byte === LF) this.store(pd, CR);
    this.store(pd, byte);
    if (byte === LF || tx.full(this.local.tail) || tx.full((this.local.tail + 1) >>> 0)) {
      tx.updateSharedTail(this.local.tail);
      pd.notify(this.options.wiring.txChannel);
      // The signal preempts us at once when virt_tx outranks us.
      yield* this.charge();
    }
  }

  /** `sddf_putchar_unbuffered` (sddf-serial §8): also publishes any buffered text. */
  private *putcharUnbuffered(pd: PdContext, byte: number): PdStep {
    const tx = this.tx as SerialQueue;
    this.attempted++;
    if (tx.full(this.local.tail)) {
      this.loss.T2++;
      return;
    }
    this.store(pd, byte);
    tx.updateSharedTail(this.local.tail);
    pd.notify(this.options.wiring.txChannel);
    yield* this.charge();
  }

  private *charge(): PdStep {
    const bytes = Math.max(1, this.sinceYield);
    this.sinceYield = 0;
    yield work("copy", bytes);
  }
}
