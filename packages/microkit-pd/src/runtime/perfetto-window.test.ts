import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { work } from "../program.js";
import { readTrace, readWindow } from "../testing/perfetto-window-oracle.js";
import { raiseTicks, tickedVmSystem } from "../testing/ticked-vm.js";
import type { PerfettoTrace, TraceEvent } from "./perfetto.js";
import { spanUs, us } from "./perfetto-format.js";
import { type TimelineWindow, TraceWindow } from "./perfetto-window.js";

const pid = 1;
const slice = (start: number, end: number, args?: Record<string, unknown>): TraceEvent => ({
  name: "vm ⇄ vmm ×9",
  ph: "X",
  pid,
  tid: 1,
  ts: us(start),
  dur: spanUs(start, end),
  cat: "fold",
  ...(args === undefined ? {} : { args }),
});
const meta: TraceEvent = { name: "thread_name", ph: "M", pid, tid: 1, args: { name: "core 0" } };

function filter(window: TimelineWindow, events: readonly TraceEvent[], end = 1000): TraceEvent[] {
  const out: TraceEvent[] = [];
  const w = new TraceWindow(window, (e) => out.push(e));
  for (const e of events) w.add(e);
  w.finish(end);
  return out;
}

describe("a window of the timeline", () => {
  const window = { fromNs: 100, toNs: 200 };

  it("keeps metadata and slices inside as they are, drops slices outside", () => {
    const inside = slice(120, 150, { count: 9 });
    const touching = slice(150, 200);
    expect(filter(window, [meta, slice(10, 50), inside, touching, slice(200, 250)])).toEqual([
      meta,
      inside,
      touching,
    ]);
  });

  it("clips a slice straddling `from` and labels its arguments as the whole slice's", () => {
    const [clipped] = filter(window, [slice(40, 130, { count: 9, span_ns: 90 })]);
    expect(clipped).toEqual({
      ...slice(100, 130),
      name: "vm ⇄ vmm ×9 (clipped)",
      args: { whole_start_us: us(40), whole_args: { count: 9, span_ns: 90 } },
    });
  });

  it("clips a slice straddling `to`, and one straddling both", () => {
    expect(filter(window, [slice(150, 260), slice(50, 300, { count: 2 })])).toEqual([
      { ...slice(150, 200), name: "vm ⇄ vmm ×9 (clipped)", args: { whole_end_us: us(260) } },
      {
        ...slice(100, 200),
        name: "vm ⇄ vmm ×9 (clipped)",
        args: { whole_start_us: us(50), whole_end_us: us(300), whole_args: { count: 2 } },
      },
    ]);
  });

  it("keeps a slice that ends at `from` as its instant there, not one that starts at `to`", () => {
    expect(filter(window, [slice(60, 100), slice(200, 200), slice(100, 100)])).toEqual([
      { ...slice(100, 100), name: "vm ⇄ vmm ×9 (clipped)", args: { whole_start_us: us(60) } },
      slice(100, 100),
    ]);
  });

  it("opens entry points begun before `from` at `from`, and ends those open at `to` there", () => {
    const b = (t: number, name: string): TraceEvent => ({ name, ph: "B", pid, tid: 2, ts: us(t) });
    const e = (t: number, name: string): TraceEvent => ({ name, ph: "E", pid, tid: 2, ts: us(t) });
    const out = filter(window, [
      b(10, "outer"),
      b(20, "gone"),
      e(30, "gone"),
      b(50, "inner"),
      b(150, "in window"),
      e(160, "in window"),
      b(190, "late"),
      e(210, "late"),
      b(220, "after"),
      e(230, "after"),
      e(240, "inner"),
      e(250, "outer"),
    ]);
    expect(out).toEqual([
      { ...b(100, "outer"), args: { whole_start_us: us(10) } },
      { ...b(100, "inner"), args: { whole_start_us: us(50) } },
      b(150, "in window"),
      e(160, "in window"),
      b(190, "late"),
      { ...e(200, "late"), args: { whole_end_us: us(210) } },
      { ...e(200, "inner"), args: { whole_end_us: us(240) } },
      { ...e(200, "outer"), args: { whole_end_us: us(250) } },
    ]);
  });

  it("keeps instants and flow ends at `from` up to before `to`", () => {
    const at = (t: number, ph: "i" | "s" | "f"): TraceEvent => ({
      name: `${ph}${t}`,
      ph,
      pid,
      tid: 1,
      ts: us(t),
      ...(ph === "i" ? { s: "t" } : { id: t, cat: "signal" }),
      ...(ph === "f" ? { bp: "e" } : {}),
    });
    const events = [at(99, "i"), at(100, "i"), at(150, "s"), at(199, "f"), at(200, "i")];
    expect(filter(window, events)).toEqual([at(100, "i"), at(150, "s"), at(199, "f")]);
  });

  it("starts each counter with its value at `from`", () => {
    const c = (name: string, t: number, value: number): TraceEvent => ({
      name,
      ph: "C",
      pid,
      ts: us(t),
      args: { value },
    });
    const out = filter(window, [
      c("a", 10, 1),
      c("a", 90, 2),
      c("b", 20, 7),
      c("b", 100, 8),
      c("d", 50, 4),
      c("a", 150, 3),
      c("a", 220, 4),
      c("e", 230, 5),
    ]);
    expect(out).toEqual([
      c("b", 100, 8),
      c("a", 100, 2),
      c("a", 150, 3),
      // Counters with no sample since `from` start there once the trace is known to reach it.
      c("d", 100, 4),
    ]);
    expect(filter(window, [c("d", 50, 4)], 99)).toEqual([]);
  });

  it("reads every event when open at both ends, and before `to` or from `from` when open at one", () => {
    const events = [meta, slice(10, 50), slice(150, 260), slice(300, 320)];
    expect(filter({}, events)).toEqual(events);
    expect(filter({ toNs: 200 }, events)).toEqual([
      meta,
      slice(10, 50),
      { ...slice(150, 200), name: "vm ⇄ vmm ×9 (clipped)", args: { whole_end_us: us(260) } },
    ]);
    expect(filter({ fromNs: 200 }, events)).toEqual([
      meta,
      { ...slice(200, 260), name: "vm ⇄ vmm ×9 (clipped)", args: { whole_start_us: us(150) } },
      slice(300, 320),
    ]);
  });

  it("refuses an empty window", () => {
    expect(() => new TraceWindow({ fromNs: 5, toNs: 5 }, () => {})).toThrow(RangeError);
  });
});

describe("a windowed stream of a run", () => {
  /** An idle guest's VMM, a ticking PD that signals it and counts, each ticked 2 ms apart. */
  function run(fold: boolean, window: TimelineWindow) {
    let ticks = 0;
    const sys = tickedVmSystem({
      retainEvents: false,
      vmmWork: work("us", 30),
      onTick: (pd) => pd.counter("ticks", ++ticks),
    });
    const text = (out: PassThrough) => {
      const chunks: Buffer[] = [];
      out.on("data", (chunk: Buffer) => chunks.push(chunk));
      return () => JSON.parse(Buffer.concat(chunks).toString("utf8")) as PerfettoTrace;
    };
    const wholeOut = new PassThrough();
    const windowOut = new PassThrough();
    const whole = text(wholeOut);
    const part = text(windowOut);
    const tapped: TraceEvent[] = [];
    const streams = [
      sys.streamPerfetto(wholeOut, { fold }),
      sys.streamPerfetto(windowOut, { fold, window, tap: (e) => tapped.push(e) }),
    ];
    raiseTicks(sys, 8, 2_000_000);
    sys.runUntil(18_000_000);
    const end = sys.now();
    return Promise.all(streams.map((s) => s.close(end))).then(() => ({
      whole: whole().traceEvents,
      part: part().traceEvents,
      tapped,
      end,
    }));
  }

  it.each([true, false])("holds the window's part of the whole (folded: %s)", async (fold) => {
    // Edges inside the VMM's 30 µs entry point after the second and seventh ticks.
    const window = { fromNs: 4_000_010, toNs: 14_000_020 };
    const { whole, part, tapped, end } = await run(fold, window);
    expect(tapped).toEqual(whole);
    expect(readTrace(part)).toEqual(readWindow(whole, window, end));
    expect(part.length).toBeLessThan(whole.length);
    const clipped = part.filter((e) => e.args !== undefined && "whole_start_us" in e.args);
    expect(clipped.some((e) => e.ph === "B")).toBe(true);
    expect(part.some((e) => e.ph === "E" && e.args !== undefined && "whole_end_us" in e.args)).toBe(
      true,
    );
    expect(part.some((e) => e.ph === "C" && e.ts === us(4_000_010))).toBe(true);
    for (const e of part) {
      if (e.ph === "M") continue;
      expect(e.ts).toBeGreaterThanOrEqual(us(4_000_010));
      expect(e.ts! + (e.dur ?? 0)).toBeLessThanOrEqual(us(14_000_020));
    }
  });
});
