/**
 * The report's timeline made as the run goes (issue 12 item 2): the same lanes and arrows as
 * the kept log's Perfetto export gives while it is small, and a bounded number of bars with the
 * same busy time per lane when it is not.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { runScenario } from "../run.js";
import { syntheticScenario } from "../testing/synthetic.js";
import { layoutTimeline, MAX_ARROWS, timelineFromPerfetto } from "./timeline.js";
import { TimelineSummary } from "./timeline-summary.js";

function scenarioOf() {
  return syntheticScenario({
    guests: [
      { output: [[0.001, "hello from one\n".repeat(20)]] },
      { output: [[0.002, "two\n".repeat(40)]] },
    ],
  });
}

function summarised(maxBars?: number) {
  const scenario = scenarioOf();
  const summary = new TimelineSummary(maxBars);
  const run = runScenario(scenario, {
    recordEvents: true,
    retainLog: false,
    onEvent: (e) => summary.add(e),
  });
  const kept = runScenario(scenario, { recordEvents: true });
  return { run, kept, timeline: summary.timeline(run.virtualTime, run.threads) };
}

describe("TimelineSummary", () => {
  test("gives the spans and arrows the kept log's trace gives", () => {
    const { run, kept, timeline } = summarised();
    expect(run.digest).toBe(kept.digest);
    const fromTrace = timelineFromPerfetto(kept.perfetto()!);
    const key = (s: { track: string; start: number; end: number }) =>
      `${s.track} ${s.start.toFixed(9)} ${s.end.toFixed(9)}`;
    expect(timeline.spans.map(key).sort()).toEqual(fromTrace.spans.map(key).sort());
    const arrow = (a: { from: string; to: string; at: number; until: number }) =>
      `${a.from}>${a.to} ${a.at.toFixed(9)} ${a.until.toFixed(9)}`;
    // IRQs come from the interrupts track, which is never a lane: the summary leaves them out.
    const drawn = new Set(run.threads.map((t) => t.name));
    expect(timeline.arrows!.map(arrow).sort()).toEqual(
      fromTrace
        .arrows!.filter((a) => drawn.has(a.from))
        .map(arrow)
        .sort(),
    );
    expect(timeline.arrows!.length).toBeGreaterThan(10);
    // Past the first MAX_ARROWS the summary counts what it leaves out, as the layout would.
    const all = fromTrace.arrows!.filter((a) => drawn.has(a.from)).length;
    expect(layoutTimeline(timeline).arrows.length + layoutTimeline(timeline).arrowsOmitted).toBe(
      all,
    );
    expect(timeline.tracks).toEqual(run.threads.map((t) => t.name));
  });

  test("keeps its bars bounded and each lane's busy time when a run has more slices", () => {
    const exact = summarised();
    const bounded = summarised(60);
    const count = (spans: readonly { count?: number }[]) =>
      spans.reduce((n, s) => n + (s.count ?? 1), 0);
    expect(exact.timeline.spans.length).toBeGreaterThan(200);
    expect(bounded.timeline.spans.length).toBeLessThanOrEqual(60);
    expect(count(bounded.timeline.spans)).toBe(count(exact.timeline.spans));
    const busy = (t: typeof exact.timeline) =>
      Object.fromEntries(layoutTimeline(t).lanes.map((l) => [l.track, l.busy]));
    const [a, b] = [busy(exact.timeline), busy(bounded.timeline)];
    expect(Object.keys(b).sort()).toEqual(Object.keys(a).sort());
    for (const [track, seconds] of Object.entries(a)) expect(b[track]).toBeCloseTo(seconds, 9);
  });

  test("fed the folded Perfetto stream, gives each lane the same busy time and the same arrows", async () => {
    const { run, timeline } = summarised();
    const fromTrace = new TimelineSummary();
    const dir = mkdtempSync(join(tmpdir(), "vmmux-summary-"));
    const folded = runScenario(scenarioOf(), {
      recordEvents: true,
      retainLog: false,
      perfettoFile: join(dir, "t.perfetto.json"),
      perfettoFold: true,
      perfettoTap: (e) => fromTrace.addTrace(e),
    });
    await folded.streamed;
    expect(folded.digest).toBe(run.digest);
    const other = fromTrace.timeline(folded.virtualTime, folded.threads);
    const busy = (t: typeof timeline) =>
      Object.fromEntries(layoutTimeline(t).lanes.map((l) => [l.track, l.busy]));
    const [a, b] = [busy(timeline), busy(other)];
    for (const [track, seconds] of Object.entries(a)) expect(b[track] ?? 0).toBeCloseTo(seconds, 8);
    expect(other.arrows).toHaveLength(timeline.arrows!.length);
    expect(other.arrowsOmitted ?? 0).toBe(timeline.arrowsOmitted ?? 0);
    // The trace's metadata gives each lane its priority.
    expect(Object.values(other.captions!).every((c) => / \(\w+, prio \d+\)$/.test(c))).toBe(true);
  });

  test("keeps the first MAX_ARROWS notifications and counts the rest; IRQs are not notifications", () => {
    const summary = new TimelineSummary();
    for (let id = 0; id < MAX_ARROWS + 100; id++) {
      const t = id * 1000;
      summary.add({ t, type: "signal", id, from: "a", to: "b", ch: 1, outcome: "woken" });
      summary.add({
        t: t + 500,
        type: "entry",
        thread: "b",
        entry: "notified",
        ch: 1,
        flows: [id],
      });
    }
    const irq = MAX_ARROWS + 200;
    summary.add({
      t: 9e9,
      type: "signal",
      id: irq,
      from: "irq:33",
      to: "b",
      ch: 0,
      outcome: "woken",
    });
    summary.add({ t: 9e9, type: "entry", thread: "b", entry: "notified", ch: 0, flows: [irq] });
    const threads = [
      { name: "a", kind: "pd" },
      { name: "b", kind: "pd" },
    ];
    const timeline = summary.timeline(1e10, threads);
    expect(timeline.arrows).toHaveLength(MAX_ARROWS);
    expect(timeline.arrows![0]).toEqual({
      from: "a",
      to: "b",
      at: 0,
      until: 5e-7,
      label: "notification",
    });
    expect(timeline.arrowsOmitted).toBe(100);
    expect(layoutTimeline(timeline).arrowsOmitted).toBe(100);
  });
});
