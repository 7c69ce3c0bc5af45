/**
 * A windowed Perfetto export is the whole export read through the window's rule
 * (perfetto-window.ts): over generated streams of trace events as the exporter writes them
 * (entry points opened and closed in time order on three tracks, slices written when they end,
 * instants, flow ends, two counters, times a few ns apart so that every edge is met) and
 * generated windows (either end open), what the viewer reads of the filtered stream equals the
 * rule applied to its reading of the whole (testing/perfetto-window-oracle.ts). Both branches of
 * each edge are reached (asserted), and two windows planted off by one ns at an edge are caught.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { readTrace, readWindow } from "../testing/perfetto-window-oracle.js";
import { type PlantedWindowBug, plantedTraceWindow } from "../testing/perfetto-window-planted.js";
import type { TraceEvent } from "./perfetto-builder.js";
import { spanUs, us } from "./perfetto-format.js";
import { type TimelineWindow, TraceWindow } from "./perfetto-window.js";

const numRuns = Number(process.env.VMMUX_PROP_RUNS ?? 300);
const seed = 0x3d1e0;

interface Step {
  readonly kind: "begin" | "end" | "instant" | "flow" | "counter" | "slice";
  readonly tid: number;
  readonly dt: number;
  readonly back: number;
  readonly len: number;
  readonly value: number;
}

const stepArb: fc.Arbitrary<Step> = fc.record({
  kind: fc.constantFrom("begin", "end", "end", "instant", "flow", "counter", "slice", "slice"),
  tid: fc.integer({ min: 0, max: 2 }),
  dt: fc.constantFrom(0, 0, 1, 2, 5),
  back: fc.integer({ min: 0, max: 12 }),
  len: fc.integer({ min: 0, max: 12 }),
  value: fc.integer({ min: -3, max: 3 }),
});

/** Ns times that meet the generated events' (0 to about 80). */
const edge = fc.option(fc.integer({ min: 0, max: 90 }), { freq: 4 });
const windowArb: fc.Arbitrary<TimelineWindow> = fc
  .tuple(edge, edge)
  .filter(([from, to]) => from === null || to === null || from < to)
  .map(([from, to]) => ({
    ...(from === null ? {} : { fromNs: from }),
    ...(to === null ? {} : { toNs: to }),
  }));

/** A stream as the exporter writes one, and the ns time it ends at. */
function stream(steps: readonly Step[], tail: number): { events: TraceEvent[]; end: number } {
  const pid = 1;
  const events: TraceEvent[] = [{ name: "process_name", ph: "M", pid, args: { name: "p" } }];
  for (const tid of [1, 2, 3]) {
    events.push({ name: "thread_name", ph: "M", pid, tid, args: { name: `t${tid}` } });
  }
  const open = new Map<number, string[]>();
  let t = 0;
  let n = 0;
  for (const step of steps) {
    t += step.dt;
    const tid = step.tid + 1;
    const ts = us(t);
    const stack = open.get(tid) ?? [];
    open.set(tid, stack);
    n++;
    switch (step.kind) {
      case "begin":
        stack.push(`entry ${n}`);
        events.push({ name: `entry ${n}`, ph: "B", pid, tid, ts, cat: "entry" });
        break;
      case "end": {
        const name = stack.pop();
        if (name !== undefined) events.push({ name, ph: "E", pid, tid, ts, cat: "entry" });
        break;
      }
      case "instant":
        events.push({ name: `i${n}`, ph: "i", s: "t", pid, tid, ts, args: { n } });
        break;
      case "flow":
        events.push({
          name: "signal",
          ph: step.value > 0 ? "s" : "f",
          bp: "e",
          id: n,
          pid,
          tid,
          ts,
          cat: "signal",
        });
        break;
      case "counter":
        events.push({ name: `c${tid % 2}`, ph: "C", pid, ts, args: { value: step.value } });
        break;
      case "slice": {
        // Written when it ends: it began `back` ns ago and may end up to `len` ns later
        // (a folded slice written when the fold is found to end).
        const start = Math.max(0, t - step.back);
        const end = start + step.len;
        const args = step.value > 0 ? { count: step.value, span_ns: step.len } : undefined;
        events.push({
          name: `slice ×${n}`,
          ph: "X",
          pid,
          tid,
          ts: us(start),
          dur: spanUs(start, end),
          cat: "fold",
          ...(args === undefined ? {} : { args }),
        });
        break;
      }
    }
  }
  const end = t + tail;
  for (const [tid, stack] of open) {
    for (const name of stack.reverse())
      events.push({ name, ph: "E", pid, tid, ts: us(end), cat: "entry" });
  }
  return { events, end };
}

function windowed(
  events: readonly TraceEvent[],
  window: TimelineWindow,
  end: number,
  bug?: PlantedWindowBug,
): TraceEvent[] {
  const out: TraceEvent[] = [];
  const push = (e: TraceEvent) => out.push(e);
  const filter =
    bug === undefined ? new TraceWindow(window, push) : plantedTraceWindow(bug, window, push);
  for (const e of events) filter.add(e);
  filter.finish(end);
  return out;
}

const caseArb = fc.record({
  steps: fc.array(stepArb, { maxLength: 40 }),
  tail: fc.integer({ min: 0, max: 10 }),
  window: windowArb,
});

/** Which edges a case meets, so both sides of each are seen reached. */
function edgesMet(events: readonly TraceEvent[], window: TimelineWindow): Set<string> {
  const met = new Set<string>();
  const from = window.fromNs;
  const to = window.toNs;
  for (const e of events) {
    if (e.ph !== "X") continue;
    const s = Math.round(e.ts! * 1000);
    const end = s + Math.round(e.dur! * 1000);
    if (from !== undefined && s < from && end >= from) met.add("straddles from");
    if (to !== undefined && s < to && end > to) met.add("straddles to");
    if (from !== undefined && end === from && s < from) met.add("ends at from");
    if (to !== undefined && s === to) met.add("starts at to");
  }
  return met;
}

describe("windowed Perfetto export", () => {
  it("reads as the whole export through the window's rule", () => {
    const met = new Set<string>();
    fc.assert(
      fc.property(caseArb, ({ steps, tail, window }) => {
        const { events, end } = stream(steps, tail);
        expect(readTrace(events).unpaired).toBe(0);
        const got = readTrace(windowed(events, window, end));
        expect(got.unpaired).toBe(0);
        expect(got).toEqual(readWindow(events, window, end));
        for (const x of edgesMet(events, window)) met.add(x);
      }),
      { numRuns, seed },
    );
    expect([...met].sort()).toEqual([
      "ends at from",
      "starts at to",
      "straddles from",
      "straddles to",
    ]);
  });

  it.each(["to-inclusive", "from-exclusive"] as const)("catches a window planted %s", (bug) => {
    const result = fc.check(
      fc.property(caseArb, ({ steps, tail, window }) => {
        const { events, end } = stream(steps, tail);
        expect(readTrace(windowed(events, window, end, bug))).toEqual(
          readWindow(events, window, end),
        );
      }),
      { numRuns, seed },
    );
    expect(result.failed).toBe(true);
  });
});
