/**
 * The HTML report's timeline built as the run goes (issue 12 item 2), never from a whole
 * Perfetto trace: fed the kernel's events (`add`) or the trace events a Perfetto stream writes
 * (`addTrace`, far fewer once folded): who held the core when (one lane per thread), a
 * fast-forwarded idle run or folded cycle as one bar per thread that ran in it (busy by its run
 * time), and the first {@link MAX_ARROWS} notifications as arrows. Memory is bounded: when the bars pass
 * `maxBars`, bars closer than a cell merge (the cell doubles), as `layoutTimeline` merges them
 * for drawing anyway; until then every slice is kept as it is.
 */
import type { RuntimeEvent, TraceEvent } from "@vmmux/microkit-pd";
import {
  MAX_ARROWS,
  TIMELINE_CELLS,
  type Timeline,
  type TimelineArrow,
  type TimelineSpan,
} from "./timeline.js";

/** Bars kept before merging starts (about 10 MB at most). */
const DEFAULT_MAX_BARS = 100_000;
/** Notifications sent and not yet consumed that are remembered. */
const MAX_PENDING_SIGNALS = 10_000;

interface Bar {
  start: number;
  end: number;
  /** Seconds of the bar covered by run time. */
  busy: number;
  count: number;
}

export interface SummaryThread {
  readonly name: string;
  readonly kind: string;
  readonly priority?: number;
}

/** A thread's track name in the trace metadata: `<name> (<kind>, prio <n>)`. */
const NAMED_THREAD = /^(.*) \(([^()]*)\)$/;

/**
 * Feed it every kernel event (`RunOptions.onEvent`) or every trace event of the run's Perfetto
 * stream (`RunOptions.perfettoTap`), not both; `timeline()` at the end.
 */
export class TimelineSummary {
  /** Trace feed: thread names by track id, and their captions; the core's track id. */
  private readonly trackNames = new Map<number, string>();
  private readonly traceCaptions: Record<string, string> = {};
  private coreTid: number | undefined;
  private readonly lanes = new Map<string, Bar[]>();
  private bars = 0;
  /** Bars closer than this (seconds) merge; 0 until `maxBars` is reached. */
  private cell = 0;
  private running: { name: string; since: number } | null = null;
  private readonly sent = new Map<number, { from: string; at: number }>();
  private readonly arrows: TimelineArrow[] = [];
  private arrowsOmitted = 0;

  constructor(private readonly maxBars = DEFAULT_MAX_BARS) {}

  add(e: RuntimeEvent): void {
    switch (e.type) {
      case "switch":
        this.close(e.t);
        this.running = e.to === null ? null : { name: e.to, since: e.t };
        return;
      case "idle": {
        const holder = this.running?.name ?? null;
        this.close(e.t);
        for (const [thread, ns] of Object.entries(e.ran)) {
          this.span(thread, e.t / 1e9, e.until / 1e9, ns / 1e9, e.count);
        }
        this.running = holder === null ? null : { name: holder, since: e.until };
        return;
      }
      case "signal":
        // IRQs come from no thread's lane; only notifications between threads are drawn.
        if (!e.from.startsWith("irq:")) this.signalSent(e.id, e.from, e.t / 1e9);
        return;
      case "entry":
        if (e.flows === undefined) return;
        for (const id of e.flows) this.signalTaken(id, e.thread, e.t / 1e9);
        return;
      default:
        return;
    }
  }

  /** One trace event, in the order the stream writes them. */
  addTrace(e: TraceEvent): void {
    switch (e.ph) {
      case "M": {
        if (e.name !== "thread_name" || e.tid === undefined) return;
        const name = String(e.args?.name ?? "");
        if (name === "core 0") this.coreTid = e.tid;
        const match = NAMED_THREAD.exec(name);
        if (match === null) return;
        this.trackNames.set(e.tid, match[1]!);
        this.traceCaptions[match[1]!] = name;
        return;
      }
      case "X": {
        if (e.tid !== this.coreTid || e.ts === undefined) return;
        const start = e.ts / 1e6;
        const end = (e.ts + (e.dur ?? 0)) / 1e6;
        const ran = e.args?.ran_ns as Readonly<Record<string, number>> | undefined;
        if (ran === undefined) {
          this.span(e.name, start, end, end - start, 1);
          return;
        }
        // A fast-forwarded idle run or a folded cycle: each thread busy for its run time.
        const count = typeof e.args?.count === "number" ? e.args.count : 1;
        for (const [thread, ns] of Object.entries(ran))
          this.span(thread, start, end, ns / 1e9, count);
        return;
      }
      case "s": {
        const from = e.tid === undefined ? undefined : this.trackNames.get(e.tid);
        if (from !== undefined && e.id !== undefined && e.ts !== undefined) {
          this.signalSent(e.id, from, e.ts / 1e6);
        }
        return;
      }
      case "f": {
        const to = e.tid === undefined ? undefined : this.trackNames.get(e.tid);
        if (to !== undefined && e.id !== undefined && e.ts !== undefined) {
          this.signalTaken(e.id, to, e.ts / 1e6);
        }
        return;
      }
      default:
        return;
    }
  }

  /** Sends are remembered (a bounded number) after the arrows are full, to count those left out. */
  private signalSent(id: number, from: string, at: number): void {
    if (this.sent.size >= MAX_PENDING_SIGNALS) {
      this.sent.delete(this.sent.keys().next().value as number);
    }
    this.sent.set(id, { from, at });
  }

  private signalTaken(id: number, to: string, until: number): void {
    const start = this.sent.get(id);
    if (start === undefined) return;
    this.sent.delete(id);
    if (this.arrows.length < MAX_ARROWS) {
      this.arrows.push({ from: start.from, at: start.at, to, until, label: "notification" });
    } else {
      this.arrowsOmitted++;
    }
  }

  /** The timeline up to `endNs`, lanes in the order of `threads`. */
  timeline(endNs: number, threads: readonly SummaryThread[]): Timeline {
    this.close(endNs);
    this.running = null;
    const spans: TimelineSpan[] = [];
    for (const [track, bars] of this.lanes) {
      for (const b of bars) {
        spans.push(
          b.count === 1 && b.busy === b.end - b.start
            ? { track, start: b.start, end: b.end, label: "running" }
            : { track, start: b.start, end: b.end, label: "running", busy: b.busy, count: b.count },
        );
      }
    }
    const captions: Record<string, string> = {};
    for (const t of threads) {
      captions[t.name] =
        this.traceCaptions[t.name] ??
        (t.priority === undefined
          ? `${t.name} (${t.kind})`
          : `${t.name} (${t.kind}, prio ${t.priority})`);
    }
    return {
      spans,
      arrows: this.arrows,
      ...(this.arrowsOmitted > 0 ? { arrowsOmitted: this.arrowsOmitted } : {}),
      tracks: threads.map((t) => t.name),
      captions,
      start: 0,
      end: endNs / 1e9,
    };
  }

  private close(t: number): void {
    if (this.running === null) return;
    const { name, since } = this.running;
    this.running = null;
    const [start, end] = [since / 1e9, t / 1e9];
    this.span(name, start, end, end - start, 1);
  }

  private span(track: string, start: number, end: number, busy: number, count: number): void {
    let bars = this.lanes.get(track);
    if (bars === undefined) {
      bars = [];
      this.lanes.set(track, bars);
    }
    const last = bars.at(-1);
    if (
      last !== undefined &&
      this.cell > 0 &&
      start - last.end < this.cell &&
      end - last.start < this.cell * 64
    ) {
      last.end = Math.max(last.end, end);
      last.busy += busy;
      last.count += count;
      return;
    }
    bars.push({ start, end, busy, count });
    if (++this.bars > this.maxBars) this.coarsen(end);
  }

  /** Double the cell until merging every lane again halves the bars. */
  private coarsen(now: number): void {
    do this.merge(Math.max(this.cell * 2, now / TIMELINE_CELLS / 16));
    while (this.bars > this.maxBars / 2);
  }

  private merge(cell: number): void {
    this.cell = cell;
    this.bars = 0;
    for (const [track, bars] of this.lanes) {
      const merged: Bar[] = [];
      for (const b of bars) {
        const last = merged.at(-1);
        if (
          last !== undefined &&
          b.start - last.end < this.cell &&
          b.end - last.start < this.cell * 64
        ) {
          last.end = Math.max(last.end, b.end);
          last.busy += b.busy;
          last.count += b.count;
        } else {
          merged.push({ ...b });
        }
      }
      this.lanes.set(track, merged);
      this.bars += merged.length;
    }
  }
}
