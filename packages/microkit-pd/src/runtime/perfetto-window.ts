/**
 * A time window of the Perfetto export (perfetto.ts): a long run's whole timeline is larger than
 * a viewer opens, so a file may hold only what overlaps [from, to). The rule, on the kernel's
 * integer ns (a trace event's µs times are turned back into ns):
 *
 * - metadata (process and thread names, sort indices) is always kept;
 * - a slice from `s` to `e` (an `X`, or a `B`/`E` pair) is kept when one of its instants lies in
 *   the window: `s < to` and `e ≥ from`. One that reaches past an edge is clipped to
 *   `[max(s, from), min(e, to)]` and says so in its arguments: `whole_start_us` (clipped at
 *   `from`) and `whole_end_us` (clipped at `to`) give the whole slice's start and end; a clipped
 *   `X` is renamed `<name> (clipped)` and its own arguments (a fold's count and run times) move
 *   under `whole_args`, as they are the whole slice's, not the part's. A `B` written inside the
 *   window keeps its name (its end was not known yet); entry points carry no arguments;
 * - instants and either end of a flow arrow are kept when `from ≤ t < to` (an arrow that crosses
 *   an edge keeps the end inside, which a viewer draws as no arrow);
 * - a counter's samples in the window are kept and, unless it has a sample at `from`, its last
 *   sample before `from` is repeated at `from` (when the trace reaches `from`), so each counter
 *   starts with its value there. A counter sample has only its value: the repeat is not marked.
 *
 * Events are taken in the order the exporter writes them: `B`/`E` and each counter's samples in
 * time order (log order), `X` slices in any order (the exporter writes them when they end), and
 * every entry point closed by the end of the trace (`TraceBuilder.finish`). What is dropped is
 * never serialised, so the part of a run outside the window costs only its conversion.
 */
import type { TraceEvent } from "./perfetto-builder.js";
import { spanUs, us } from "./perfetto-format.js";

/** A window of the timeline in virtual ns: [fromNs, toNs), either end open when absent. */
export interface TimelineWindow {
  readonly fromNs?: number;
  readonly toNs?: number;
}

/** The ns time of a trace event's µs `ts` (exact: times are whole ns). */
const ns = (usTime: number): number => Math.round(usTime * 1000);

/** An entry point open on a track: its `B`, its ns start, whether it is in the output. */
interface OpenEntry {
  readonly begin: TraceEvent;
  readonly t: number;
  shown: boolean;
}

/** A counter's last sample before the window and whether the window has started for it. */
interface CounterState {
  readonly pid: number;
  last: Readonly<Record<string, unknown>> | undefined;
  started: boolean;
}

/**
 * Filters a stream of trace events to a {@link TimelineWindow} by the rule above, handing what
 * is kept to `out` as it comes. Subclasses may change {@link keeps} (one rule for slices and
 * instants alike), e.g. to plant a defect a test must catch.
 */
export class TraceWindow {
  protected readonly from: number;
  protected readonly to: number;
  private readonly entries = new Map<number, OpenEntry[]>();
  /** An entry point's `B` or `E` at or after `from` has been seen. */
  private crossed = false;
  private readonly counters = new Map<string, CounterState>();

  constructor(
    window: TimelineWindow,
    private readonly out: (event: TraceEvent) => void,
  ) {
    this.from = window.fromNs ?? Number.NEGATIVE_INFINITY;
    this.to = window.toNs ?? Number.POSITIVE_INFINITY;
    if (!(this.from < this.to))
      throw new RangeError(`an empty timeline window [${this.from}, ${this.to}) ns`);
  }

  /** Whether a slice from `start` to `end` (ns; an instant: both the same) is in the window. */
  protected keeps(start: number, end: number): boolean {
    return start < this.to && end >= this.from;
  }

  add(e: TraceEvent): void {
    switch (e.ph) {
      case "M":
        this.out(e);
        return;
      case "X":
        this.slice(e);
        return;
      case "B":
        this.begin(e);
        return;
      case "E":
        this.end(e);
        return;
      case "C":
        this.counter(e);
        return;
      default: {
        const t = ns(e.ts!);
        if (this.keeps(t, t)) this.out(e);
      }
    }
  }

  /** The trace ends at `endNs`: counters with no sample since `from` start there. */
  finish(endNs: number): void {
    if (endNs < this.from) return;
    for (const [name, state] of this.counters) {
      if (!state.started && state.last !== undefined) this.startCounter(name, state);
    }
    this.counters.clear();
  }

  private slice(e: TraceEvent): void {
    const s = ns(e.ts!);
    const end = s + ns(e.dur!);
    if (!this.keeps(s, end)) return;
    if (s >= this.from && end <= this.to) {
      this.out(e);
      return;
    }
    const start = Math.max(s, this.from);
    const stop = Math.min(end, this.to);
    const args: Record<string, unknown> = {};
    if (s < this.from) args.whole_start_us = e.ts;
    if (end > this.to) args.whole_end_us = us(end);
    if (e.args !== undefined) args.whole_args = e.args;
    this.out({
      ...e,
      name: `${e.name} (clipped)`,
      ts: us(start),
      dur: spanUs(start, stop),
      args,
    });
  }

  private stackOf(tid: number): OpenEntry[] {
    let stack = this.entries.get(tid);
    if (stack === undefined) {
      stack = [];
      this.entries.set(tid, stack);
    }
    return stack;
  }

  private begin(e: TraceEvent): void {
    const t = ns(e.ts!);
    if (t >= this.from) this.cross();
    const shown = this.keeps(t, t);
    this.stackOf(e.tid!).push({ begin: e, t, shown });
    if (shown) this.out(e);
  }

  private end(e: TraceEvent): void {
    const t = ns(e.ts!);
    if (t >= this.from) this.cross();
    const open = this.stackOf(e.tid!).pop();
    if (open === undefined || !open.shown) return;
    if (t <= this.to) this.out(e);
    else this.out({ ...e, ts: us(this.to), args: { ...e.args, whole_end_us: e.ts } });
  }

  /**
   * The entry points' records have reached `from`: every one still open began before it and
   * ends at or after it, so it is kept, clipped, from `from` (outer ones first, as a viewer
   * nests `B`s of one instant in the order they come).
   */
  private cross(): void {
    if (this.crossed) return;
    this.crossed = true;
    for (const stack of this.entries.values()) {
      for (const open of stack) {
        if (open.shown) continue;
        open.shown = true;
        const b = open.begin;
        this.out({
          ...b,
          ts: us(this.from),
          args: { ...b.args, whole_start_us: b.ts },
        });
      }
    }
  }

  private counter(e: TraceEvent): void {
    const t = ns(e.ts!);
    let state = this.counters.get(e.name);
    if (state === undefined) {
      state = { pid: e.pid, last: undefined, started: false };
      this.counters.set(e.name, state);
    }
    if (t < this.from) {
      state.last = e.args;
      return;
    }
    if (!state.started) {
      state.started = true;
      if (t > this.from && state.last !== undefined) this.startCounter(e.name, state);
    }
    if (this.keeps(t, t)) this.out(e);
  }

  /** A counter's last sample before the window, repeated at `from`. */
  private startCounter(name: string, state: CounterState): void {
    if (!this.keeps(this.from, this.from)) return;
    this.out({ name, ph: "C", pid: state.pid, ts: us(this.from), args: state.last! });
  }
}
