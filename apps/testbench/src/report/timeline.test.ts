import type { PerfettoTrace } from "@vmmux/microkit-pd";
import { describe, expect, it } from "vitest";
import { judge } from "../oracles.js";
import { runScenario } from "../run.js";
import { syntheticScenario } from "../testing/index.js";
import { reportInputOfRun } from "./from-run.js";
import { renderHtmlReport } from "./html.js";
import { formatSeconds, layoutTimeline, ticks, timelineFromPerfetto } from "./timeline.js";

describe("layoutTimeline", () => {
  it("keeps spans apart that are a cell or more apart and merges closer ones, counting busy time", () => {
    const layout = layoutTimeline(
      {
        spans: [
          { track: "a", start: 0, end: 1, label: "one" },
          { track: "a", start: 5, end: 5.001, label: "x" },
          { track: "a", start: 5.002, end: 5.003, label: "y" },
          { track: "b", start: 2, end: 3, label: "two" },
        ],
        end: 10,
      },
      100,
    );
    expect(layout.lanes.map((l) => l.track)).toEqual(["a", "b"]);
    const [a, b] = layout.lanes;
    expect(a!.bars).toHaveLength(2);
    expect(a!.bars[0]).toEqual({ start: 0, end: 1, busy: 1, count: 1, label: "one" });
    expect(a!.bars[1]).toMatchObject({
      start: 5,
      end: 5.003,
      count: 2,
      label: "2 slices, busy 67%",
    });
    expect(a!.bars[1]!.busy).toBeCloseTo(0.002, 9);
    expect(a!.busy).toBeCloseTo(1.002, 9);
    expect(b!.bars).toEqual([{ start: 2, end: 3, busy: 1, count: 1, label: "two" }]);
  });

  it("bounds the number of bars however many spans a lane has", () => {
    const spans = Array.from({ length: 100_000 }, (_, i) => ({
      track: "core",
      start: i * 1e-5,
      end: i * 1e-5 + 5e-6,
      label: "tick",
    }));
    const layout = layoutTimeline({ spans }, 1000);
    const bars = layout.lanes[0]!.bars;
    expect(bars.length).toBeLessThanOrEqual(1000);
    expect(bars.reduce((n, b) => n + b.count, 0)).toBe(100_000);
    expect(layout.lanes[0]!.busy).toBeCloseTo(0.5, 6);
  });

  it("captions a lane by its own caption or its name, whatever the name", () => {
    const layout = layoutTimeline({
      spans: [
        { track: "constructor", start: 0, end: 1, label: "" },
        { track: "vmm", start: 0, end: 1, label: "" },
      ],
      captions: { vmm: "vmm (pd, prio 100)" },
    });
    expect(layout.lanes.map((l) => l.caption)).toEqual(["constructor", "vmm (pd, prio 100)"]);
  });

  it("lists tracks in the given order first, even when they never ran", () => {
    const layout = layoutTimeline({
      spans: [{ track: "late", start: 0, end: 1, label: "" }],
      tracks: ["idle", "late"],
    });
    expect(layout.lanes.map((l) => [l.track, l.bars.length])).toEqual([
      ["idle", 0],
      ["late", 1],
    ]);
  });
});

describe("formatSeconds and ticks", () => {
  it("picks a readable unit", () => {
    expect([1.25, 0.34, 12.5e-6, 80e-9, 0].map(formatSeconds)).toEqual([
      "1.25 s",
      "340 ms",
      "12.5 µs",
      "80 ns",
      "0 s",
    ]);
  });

  it("places ticks at 1, 2 or 5 times a power of ten inside the range", () => {
    expect(ticks(0, 13.9)).toEqual([0, 2, 4, 6, 8, 10, 12]);
    expect(ticks(1.3, 2.2)).toEqual([1.4, 1.6, 1.8, 2, 2.2]);
    expect(ticks(1.3, 2.2, 4)).toEqual([1.5, 2]);
  });
});

describe("timelineFromPerfetto", () => {
  it("turns the core track's slices into one lane per thread, captioned from the metadata", () => {
    // The runtime's export: metadata names the threads, "core 0" (tid 1) slices say who ran.
    const trace: PerfettoTrace = {
      displayTimeUnit: "ns",
      traceEvents: [
        { name: "thread_name", ph: "M", pid: 1, tid: 1, args: { name: "core 0" } },
        { name: "thread_name", ph: "M", pid: 1, tid: 10, args: { name: "driver (pd, prio 200)" } },
        { name: "thread_name", ph: "M", pid: 1, tid: 11, args: { name: "client (pd, prio 100)" } },
        { name: "driver", ph: "X", pid: 1, tid: 1, ts: 0, dur: 1 },
        { name: "notified(1)", ph: "B", pid: 1, tid: 10, ts: 0 },
        { name: "client", ph: "X", pid: 1, tid: 1, ts: 1, dur: 3 },
        { name: "signal", ph: "X", pid: 1, tid: 11, ts: 2, dur: 0.001 },
        { name: "signal", ph: "s", id: 5, pid: 1, tid: 11, ts: 2, cat: "signal" },
        { name: "signal", ph: "f", bp: "e", id: 5, pid: 1, tid: 10, ts: 4, cat: "signal" },
      ],
    };
    const timeline = timelineFromPerfetto(trace);
    expect(timeline.tracks).toEqual(["driver", "client"]);
    expect(timeline.captions).toEqual({
      driver: "driver (pd, prio 200)",
      client: "client (pd, prio 100)",
    });
    expect(timeline.spans).toEqual([
      { track: "driver", start: 0, end: 1e-6, label: "running" },
      { track: "client", start: 1e-6, end: 4e-6, label: "running" },
    ]);
    expect(timeline.arrows).toEqual([
      { from: "client", to: "driver", at: 2e-6, until: 4e-6, label: "notification" },
    ]);
  });

  it("draws a real run's threads from its event log", () => {
    const scenario = syntheticScenario({
      guests: [{ output: [[0.001, "hello from one\n"]] }, { output: [[0.002, "two\n"]] }],
    });
    const run = runScenario(scenario, { recordEvents: true });
    const judgements = judge(run, runScenario(scenario, { recordEvents: true }));
    const input = reportInputOfRun(run, { replayCommand: "vmmux replay x --seed 1", judgements });
    expect(input.verdicts).toEqual(
      judgements.map((j) => ({ ...j.verdict, asExpected: j.asExpected })),
    );
    expect(input.verdicts!.length).toBeGreaterThan(0);
    const tracks = input.timeline!.spans.map((s) => s.track);
    expect([...new Set(tracks)].sort()).toEqual([
      "guest1",
      "guest2",
      "monitor",
      "serial_virt_rx",
      "serial_virt_tx",
      "uart_driver",
    ]);
    expect(input.guests.map((g) => [g.name, g.bytesOnWire])).toEqual([
      ["guest1", 16],
      ["guest2", 5],
    ]);
    const html = renderHtmlReport(input);
    expect(html).toContain("guest1 (pd, prio");
    expect(html).toContain("hello from one");
    expect(html).toMatch(/<td>integrity<\/td><td class="pass">pass</);
    // Each guest notifies virt_tx at least once, and the arrows say so.
    const arrows = input.timeline!.arrows!;
    expect(arrows.some((a) => a.from === "guest1" && a.to === "serial_virt_tx")).toBe(true);
    expect(arrows.every((a) => a.until >= a.at)).toBe(true);
    expect(html).toMatch(/notifications \(\d+\)/);
  });
});
