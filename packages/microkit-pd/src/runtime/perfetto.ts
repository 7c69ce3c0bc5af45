/**
 * Export of the event log as Chrome Trace Event JSON, which Perfetto (ui.perfetto.dev) and
 * chrome://tracing open: a "core 0" track showing which thread holds the CPU, one track per PD,
 * monitor and vCPU with its entry points as slices and kernel events as instants, flow arrows
 * from each signal to the `notified` call that consumed it, and counter tracks. A fast-forwarded
 * run of idle periods (an `idle` record) is one core slice `idle ×count`; with `fold`, repeating
 * cycles and regular device runs are folded the same way (perfetto-fold.ts).
 */
import type { Writable } from "node:stream";
import type { RuntimeEvent } from "./event-log.js";
import { GZIP_CHUNK_BYTES, GzipStream } from "./gzip-stream.js";
import type { DeviceRun } from "./perfetto-device-runs.js";
import { type FoldItem, type KernelFold, RecordFolder } from "./perfetto-fold.js";
import { cycleLabel, jsonArgs, spanUs, us } from "./perfetto-format.js";

/** One Chrome Trace Event (the subset this exporter writes). */
export interface TraceEvent {
  readonly name: string;
  readonly ph: "X" | "B" | "E" | "i" | "s" | "f" | "C" | "M";
  readonly pid: number;
  readonly tid?: number;
  /** Microseconds. */
  readonly ts?: number;
  readonly dur?: number;
  readonly cat?: string;
  readonly id?: number;
  readonly bp?: "e";
  readonly s?: "t" | "p" | "g";
  readonly args?: Readonly<Record<string, unknown>>;
}

export interface PerfettoTrace {
  readonly traceEvents: readonly TraceEvent[];
  readonly displayTimeUnit: "ns";
}

export interface TraceThread {
  readonly name: string;
  readonly kind: string;
  readonly priority: number;
}

const PID = 1;
/** Trace events serialised together by {@link PerfettoStream}. */
const EVENTS_PER_BATCH = 512;
const CORE_TID = 1;
const FIRST_THREAD_TID = 10;

/** Options of the export. */
export interface TraceOptions {
  /**
   * Fold repeating cycles of kernel records and regular device runs into one slice each with
   * their count (perfetto-fold.ts); default false, every record exported.
   */
  readonly fold?: boolean;
}

export function toPerfetto(
  log: readonly RuntimeEvent[],
  threads: readonly TraceThread[],
  endTime: number,
  options: TraceOptions = {},
): PerfettoTrace {
  const out: TraceEvent[] = [];
  const builder = new TraceBuilder(threads, (event) => out.push(event), options);
  for (const event of log) builder.add(event);
  builder.finish(endTime);
  return { traceEvents: out, displayTimeUnit: "ns" };
}

/**
 * Turns log records into trace events one at a time, keeping only what later records need (the
 * thread on the core, open entry points per track, track ids), so a run can be exported as it
 * goes (see {@link PerfettoStream}).
 */
export class TraceBuilder {
  private readonly tids = new Map<string, number>();
  private nextTid: number;
  private running: { name: string; since: number } | null = null;
  private readonly openEntries = new Map<number, number>();
  private readonly folder: RecordFolder | null;

  constructor(
    threads: readonly TraceThread[],
    private readonly emit: (event: TraceEvent) => void,
    options: TraceOptions = {},
  ) {
    this.folder =
      options.fold === true
        ? new RecordFolder({
            record: (e) => this.convert(e),
            kernelFold: (f) => this.kernelFold(f),
            deviceRun: (r) => this.deviceRun(r),
          })
        : null;
    emit({ name: "process_name", ph: "M", pid: PID, args: { name: "vmmux" } });
    emit({ name: "thread_name", ph: "M", pid: PID, tid: CORE_TID, args: { name: "core 0" } });
    emit({ name: "thread_sort_index", ph: "M", pid: PID, tid: CORE_TID, args: { sort_index: 0 } });
    threads.forEach((thread, i) => {
      const tid = FIRST_THREAD_TID + i;
      this.tids.set(thread.name, tid);
      emit({
        name: "thread_name",
        ph: "M",
        pid: PID,
        tid,
        args: { name: `${thread.name} (${thread.kind}, prio ${thread.priority})` },
      });
      emit({ name: "thread_sort_index", ph: "M", pid: PID, tid, args: { sort_index: 1 + i } });
    });
    this.nextTid = FIRST_THREAD_TID + threads.length;
  }

  private extraTid(name: string): number {
    let tid = this.tids.get(name);
    if (tid === undefined) {
      tid = this.nextTid++;
      this.tids.set(name, tid);
      this.emit({ name: "thread_name", ph: "M", pid: PID, tid, args: { name } });
      this.emit({ name: "thread_sort_index", ph: "M", pid: PID, tid, args: { sort_index: tid } });
    }
    return tid;
  }

  private tidOf(name: string): number {
    return this.tids.get(name) ?? this.extraTid(name);
  }

  /** The core-track slice of the thread that held the CPU until `end`. */
  private closeRunning(end: number): void {
    if (this.running === null) return;
    const { name, since } = this.running;
    // Folded, a thread that held the core for no time (between two folds) shows nothing.
    if (since === end && this.folder !== null) return;
    this.emit({
      name,
      ph: "X",
      pid: PID,
      tid: CORE_TID,
      ts: us(since),
      dur: spanUs(since, end),
    });
  }

  private instant(
    tid: number,
    t: number,
    name: string,
    args?: Readonly<Record<string, unknown>>,
  ): void {
    if (args === undefined) this.emit({ name, ph: "i", s: "t", pid: PID, tid, ts: us(t) });
    else this.emit({ name, ph: "i", s: "t", pid: PID, tid, ts: us(t), args: jsonArgs(args) });
  }

  /** Close the core slice and unfinished entry points at `endTime`. */
  finish(endTime: number): void {
    this.folder?.flush();
    this.closeRunning(endTime);
    this.running = null;
    for (const [tid, open] of this.openEntries) {
      for (let i = 0; i < open; i++)
        this.emit({ name: "unfinished", ph: "E", pid: PID, tid, ts: us(endTime) });
    }
    this.openEntries.clear();
  }

  /** Convert one log record (records in log order). */
  add(event: RuntimeEvent): void {
    if (this.folder === null) this.convert(event);
    else this.folder.add(event);
  }

  /**
   * A folded cycle: on the core track one slice naming the threads it switches between, with
   * each one's run time, the slice of whoever held the core before it closed at its start; on
   * each other track the cycle touches, one slice from its first record to its last, named by
   * what the cycle does there. Entry points open and close inside a cycle, so both nest.
   */
  private kernelFold(fold: KernelFold): void {
    const tracks = new Map<string, { first: number; last: number; labels: string[] }>();
    const core: string[] = [];
    const visit = (x: FoldItem, first: number, last: number) => {
      if (x.type === "fold") {
        for (const y of x.cycle) visit(y, first, last);
        return;
      }
      if (x.type === "switch") {
        const to = x.to ?? "idle";
        if (!core.includes(to)) core.push(to);
        return;
      }
      const [thread, label] = cycleLabel(x);
      let track = tracks.get(thread);
      if (track === undefined) {
        track = { first, last, labels: [] };
        tracks.set(thread, track);
      }
      track.first = Math.min(track.first, first);
      track.last = Math.max(track.last, last);
      if (label !== null && !track.labels.includes(label)) track.labels.push(label);
    };
    fold.cycle.forEach((x, k) => {
      visit(x, fold.firstT[k]!, fold.lastT[k]!);
    });
    const count = fold.count + fold.fastForwarded;
    if (fold.holder !== undefined) {
      // The fast-forwarded periods are more turns of the same cycle.
      this.closeRunning(fold.start);
      this.emit({
        name: `${core.join(" ⇄ ")} ×${count}`,
        ph: "X",
        pid: PID,
        tid: CORE_TID,
        ts: us(fold.start),
        dur: spanUs(fold.start, fold.end),
        cat: "fold",
        args: {
          count,
          ...(fold.fastForwarded > 0 ? { fast_forwarded: fold.fastForwarded } : {}),
          span_ns: fold.end - fold.start,
          ran_ns: Object.fromEntries(fold.ran),
        },
      });
      this.running = fold.holder === null ? null : { name: fold.holder, since: fold.end };
    }
    for (const [thread, track] of tracks) {
      this.emit({
        name: `${track.labels.join(", ")} ×${count}`,
        ph: "X",
        pid: PID,
        tid: this.tidOf(thread),
        ts: us(track.first),
        dur: spanUs(track.first, track.last),
        cat: "fold",
      });
    }
  }

  /** A regular device run: one slice with its count, first and last arguments, and bytes. */
  private deviceRun(run: DeviceRun): void {
    const args: Record<string, unknown> = { count: run.count };
    if (run.text !== undefined) args.text = run.text;
    if (run.first !== undefined) args.first = jsonArgs(run.first);
    if (run.last !== undefined) args.last = jsonArgs(run.last);
    this.emit({
      name: `${run.name} ×${run.count}`,
      ph: "X",
      pid: PID,
      tid: this.extraTid(`device ${run.device}`),
      ts: us(run.start),
      dur: spanUs(run.start, run.end),
      cat: "fold",
      args,
    });
  }

  private convert(event: RuntimeEvent): void {
    switch (event.type) {
      case "switch":
        this.closeRunning(event.t);
        this.running = event.to === null ? null : { name: event.to, since: event.t };
        break;
      case "entry": {
        const tid = this.tidOf(event.thread);
        const label = event.ch === undefined ? event.entry : `${event.entry}(${event.ch})`;
        this.emit({ name: label, ph: "B", pid: PID, tid, ts: us(event.t), cat: "entry" });
        this.openEntries.set(tid, (this.openEntries.get(tid) ?? 0) + 1);
        for (const id of event.flows ?? []) {
          this.emit({
            name: "signal",
            ph: "f",
            bp: "e",
            id,
            pid: PID,
            tid,
            ts: us(event.t),
            cat: "signal",
          });
        }
        break;
      }
      case "entry-end": {
        const tid = this.tidOf(event.thread);
        const open = this.openEntries.get(tid) ?? 0;
        if (open > 0) {
          this.emit({ name: event.entry, ph: "E", pid: PID, tid, ts: us(event.t), cat: "entry" });
          this.openEntries.set(tid, open - 1);
        }
        break;
      }
      case "signal": {
        const irq = event.from.startsWith("irq:");
        const tid = irq ? this.extraTid(`interrupts`) : this.tidOf(event.from);
        // The flow arrow starts in an enclosing slice: the sender's open entry point, else (a
        // deferred signal sent between entry points, an IRQ) a slice of its own. That slice is
        // 0 ns long on a PD track so it cannot straddle the sender's next entry point, which may
        // begin at the same instant; IRQ slices have their own track and show as 1 ns.
        if (irq || (this.openEntries.get(tid) ?? 0) === 0) {
          this.emit({
            name: irq ? event.from : "signal",
            ph: "X",
            pid: PID,
            tid,
            ts: us(event.t),
            dur: irq ? 0.001 : 0,
          });
        }
        this.instant(tid, event.t, `signal → ${event.to}[${event.ch}]`, { outcome: event.outcome });
        this.emit({
          name: "signal",
          ph: "s",
          id: event.id,
          pid: PID,
          tid,
          ts: us(event.t),
          cat: "signal",
        });
        break;
      }
      case "irq":
        this.instant(this.tidOf(event.thread), event.t, `irq ${event.irq} ${event.outcome}`, {
          ch: event.ch,
        });
        break;
      case "irq-ack":
        this.instant(this.tidOf(event.thread), event.t, `irq ${event.irq} ack`, { ch: event.ch });
        break;
      case "ppcall":
        this.instant(this.tidOf(event.from), event.t, `ppcall → ${event.to}[${event.ch}]`);
        break;
      case "reply":
        this.instant(this.tidOf(event.from), event.t, `reply → ${event.to}`);
        break;
      case "fault":
        this.instant(this.tidOf(event.thread), event.t, `fault → ${event.handler}`, {
          fault: event.fault,
        });
        break;
      case "deferred":
        this.instant(
          this.tidOf(event.thread),
          event.t,
          `deferred ${event.op}(${event.ch}) ${event.phase}`,
        );
        break;
      case "budget":
        this.instant(this.tidOf(event.thread), event.t, `budget ${event.action}`, { sc: event.sc });
        break;
      case "debug":
        this.instant(this.tidOf(event.thread), event.t, event.message);
        break;
      case "error":
        this.instant(this.tidOf(event.thread), event.t, `error ${event.code}`, {
          message: event.message,
        });
        break;
      case "device":
        this.instant(this.extraTid(`device ${event.device}`), event.t, event.name, event.args);
        break;
      case "counter": {
        const name = event.thread ? `${event.thread}.${event.name}` : event.name;
        // A counter track holds numbers only; a NaN or infinite sample becomes an instant.
        if (Number.isFinite(event.value))
          this.emit({ name, ph: "C", pid: PID, ts: us(event.t), args: { value: event.value } });
        else this.instant(CORE_TID, event.t, `${name} = ${event.value}`);
        break;
      }
      case "domain":
        this.instant(CORE_TID, event.t, `domain ${event.domain}`);
        break;
      case "idle": {
        // A fast-forwarded run of identical idle periods: one core slice with its count, then
        // whoever held the core goes on from its end.
        const holder: string | null = (this.running as { name: string } | null)?.name ?? null;
        this.closeRunning(event.t);
        this.emit({
          name: `idle ×${event.count}`,
          ph: "X",
          pid: PID,
          tid: CORE_TID,
          ts: us(event.t),
          dur: spanUs(event.t, event.until),
          cat: "idle",
          args: {
            count: event.count,
            period_ns: event.period,
            events: event.events,
            ran_ns: event.ran,
          },
        });
        this.running = holder === null ? null : { name: holder, since: event.until };
        break;
      }
      case "state":
      case "point":
        break;
    }
  }
}

/** Options of {@link PerfettoStream}. */
export interface PerfettoStreamOptions extends TraceOptions {
  /**
   * Write gzip (a `.json.gz`), compressed synchronously a chunk at a time ({@link GzipStream}),
   * so a synchronous `out` holds nothing and the compressor at most one chunk.
   */
  readonly gzip?: boolean;
  /** With `gzip`: bytes compressed at a time (default {@link GZIP_CHUNK_BYTES}, 1 MiB). */
  readonly gzipChunkBytes?: number;
  /** Bytes of JSON gathered before a write to the stream (default 64 KiB). */
  readonly chunkBytes?: number;
  /** Called with each trace event as it is written (a summary made alongside the file). */
  readonly tap?: (event: TraceEvent) => void;
}

/**
 * A Perfetto (Chrome Trace Event JSON) file written while the run goes: feed it each event as the
 * kernel logs it (`System.onEvent`), then {@link close} it; the output is valid JSON once closed
 * and the same trace `toPerfetto` builds from a retained log. Memory stays bounded by the open
 * slices, not by the run's length.
 */
export class PerfettoStream {
  private readonly builder: TraceBuilder;
  private readonly sink: Writable;
  /** The compressor when `gzip` was asked for (its counters show what it holds). */
  readonly gzip: GzipStream | undefined;
  private readonly done: Promise<void>;
  private pending = "";
  private first = true;
  /** Events not yet serialised: one `JSON.stringify` per batch costs less than one per event. */
  private batch: TraceEvent[] = [];
  private closed = false;

  constructor(
    out: Writable,
    threads: readonly TraceThread[],
    private readonly options: PerfettoStreamOptions = {},
  ) {
    this.gzip = options.gzip
      ? new GzipStream(out, { chunkBytes: options.gzipChunkBytes ?? GZIP_CHUNK_BYTES })
      : undefined;
    this.sink = this.gzip ?? out;
    this.done = new Promise((resolve, reject) => {
      out.once("finish", () => resolve());
      out.once("error", reject);
      this.sink.once("error", reject);
    });
    this.pending = '{"displayTimeUnit":"ns","traceEvents":[';
    this.builder = new TraceBuilder(threads, (event) => this.emit(event), options);
  }

  /**
   * Resolves once the output has taken what was written so far. Writes are not awaited during a
   * run (the kernel is synchronous); a caller that runs in slices awaits this between them to
   * keep memory bounded.
   */
  drained(): Promise<void> {
    if (!this.sink.writableNeedDrain) return Promise.resolve();
    return new Promise((resolve) => this.sink.once("drain", () => resolve()));
  }

  /** Convert one logged event (events in log order). */
  add(event: RuntimeEvent): void {
    // Thread states show as the slices around them; most records are these.
    if (this.closed || event.type === "state") return;
    this.builder.add(event);
  }

  /** End the trace at `endTime` (ns), flush, and resolve when the output stream has finished. */
  close(endTime: number): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      this.builder.finish(endTime);
      this.serialise();
      this.pending += "]}\n";
      this.sink.end(this.pending);
      this.pending = "";
    }
    return this.done;
  }

  private emit(event: TraceEvent): void {
    this.options.tap?.(event);
    if (this.batch.push(event) >= EVENTS_PER_BATCH) this.serialise();
  }

  private serialise(): void {
    if (this.batch.length === 0) return;
    const text = JSON.stringify(this.batch);
    this.batch = [];
    this.pending += (this.first ? "" : ",") + text.slice(1, -1);
    this.first = false;
    if (this.pending.length >= (this.options.chunkBytes ?? 0x1_0000)) {
      this.sink.write(this.pending);
      this.pending = "";
    }
  }
}
