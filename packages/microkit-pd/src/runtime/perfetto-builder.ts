/**
 * The Perfetto export's conversion (perfetto.ts): log records to Chrome Trace Events one at a
 * time, folded (perfetto-fold.ts) or not.
 */
import type { CycleSink } from "./cycle-records.js";
import type { RuntimeEvent } from "./event-log.js";
import type { DeviceRun } from "./perfetto-device-runs.js";
import { type FoldItem, type KernelFold, RecordFolder } from "./perfetto-fold.js";
import { cycleLabel, jsonArgs, spanUs, us } from "./perfetto-format.js";
import type { IdleLoopRun } from "./perfetto-idle-loops.js";

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
const CORE_TID = 1;
const FIRST_THREAD_TID = 10;

/** Options of the export. */
export interface TraceOptions {
  /**
   * Fold repeating cycles of kernel records and regular device runs into one slice each with
   * their count (perfetto-fold.ts); default false, every record exported.
   */
  readonly fold?: boolean;
  /**
   * With `fold`: hand trap cycles to the folder whole (perfetto-traps.ts) and take the kernel's
   * cycle records through a sink (cycle-records.ts); default true, the same trace either way.
   */
  readonly groupTraps?: boolean;
}

/**
 * Turns log records into trace events one at a time, keeping only what later records need (the
 * thread on the core, open entry points per track, track ids), so a run can be exported as it
 * goes (see {@link PerfettoStream}).
 */
export class TraceBuilder {
  private readonly tids = new Map<string, number>();
  private readonly vcpus = new Set<string>();
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
        ? new RecordFolder(
            {
              record: (e) => this.convert(e),
              kernelFold: (f) => this.kernelFold(f),
              deviceRun: (r) => this.deviceRun(r),
              idleLoop: (r) => this.idleLoop(r),
            },
            options.groupTraps !== false,
          )
        : null;
    emit({ name: "process_name", ph: "M", pid: PID, args: { name: "vmmux" } });
    emit({ name: "thread_name", ph: "M", pid: PID, tid: CORE_TID, args: { name: "core 0" } });
    emit({ name: "thread_sort_index", ph: "M", pid: PID, tid: CORE_TID, args: { sort_index: 0 } });
    threads.forEach((thread, i) => {
      const tid = FIRST_THREAD_TID + i;
      this.tids.set(thread.name, tid);
      if (thread.kind === "vcpu") this.vcpus.add(thread.name);
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
    this.folder?.flush(endTime);
    this.closeRunning(endTime);
    this.running = null;
    for (const [tid, open] of this.openEntries) {
      for (let i = 0; i < open; i++)
        this.emit({ name: "unfinished", ph: "E", pid: PID, tid, ts: us(endTime) });
    }
    this.openEntries.clear();
  }

  /** The kernel's sink for cycle records when folding (the others come through {@link add}). */
  get cycles(): CycleSink | null {
    return this.folder?.cycles ?? null;
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
    const tracks = new Map<string, FoldTrack>();
    const core: string[] = [];
    const cycle = fold.cycle;
    for (let k = 0; k < cycle.length; k++) {
      visitFold(cycle[k]!, fold.firstT[k]!, fold.lastT[k]!, tracks, core);
    }
    const count = fold.count;
    if (fold.holder !== undefined) {
      this.closeRunning(fold.start);
      const span = fold.end - fold.start;
      const ran = Object.fromEntries(fold.ran);
      this.emit({
        name: `${core.join(" ⇄ ")} ×${count}`,
        ph: "X",
        pid: PID,
        tid: CORE_TID,
        ts: us(fold.start),
        dur: spanUs(fold.start, fold.end),
        cat: "fold",
        args: { count, span_ns: span, ran_ns: ran },
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

  /**
   * A stretch of declared idle loops (perfetto-idle-loops.ts): on the core track one slice
   * naming the threads that ran in it, with each one's run time; on each of their tracks one
   * slice over the whole stretch; whoever the stretch left on the core goes on from its end.
   */
  private idleLoop(run: IdleLoopRun): void {
    this.closeRunning(run.t);
    const threads = [...run.ran.keys()].sort((a, b) => this.tidOf(a) - this.tidOf(b));
    const ran: Record<string, number> = {};
    for (const name of threads) ran[name] = run.ran.get(name)!;
    const ts = us(run.t);
    const dur = spanUs(run.t, run.until);
    this.emit({
      name: `idle: ${threads.join(", ")}`,
      ph: "X",
      pid: PID,
      tid: CORE_TID,
      ts,
      dur,
      cat: "idle",
      args: { span_ns: run.until - run.t, ran_ns: ran },
    });
    for (const name of threads) {
      this.emit({
        name: this.vcpus.has(name) ? "idle loop" : "answering WFI",
        ph: "X",
        pid: PID,
        tid: this.tidOf(name),
        ts,
        dur,
        cat: "idle",
        args: { ran_ns: ran[name] },
      });
    }
    this.running = run.holder === null ? null : { name: run.holder, since: run.until };
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

/** What a folded cycle does on one track: its span and its records' labels in order. */
interface FoldTrack {
  first: number;
  last: number;
  readonly labels: string[];
}

/**
 * Gather item `x` of a folded cycle (first seen at `first`, last at `last`) into the tracks it
 * touches and, for a switch, the threads it puts on the core (`TraceBuilder.kernelFold`).
 */
function visitFold(
  x: FoldItem,
  first: number,
  last: number,
  tracks: Map<string, FoldTrack>,
  core: string[],
): void {
  if (x.type === "fold") {
    for (const y of x.cycle) visitFold(y, first, last, tracks, core);
    return;
  }
  if (x.type === "idle-loop") return; // never in a cycle
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
}
