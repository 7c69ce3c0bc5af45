import { describe, expect, it } from "vitest";
import { work } from "../program.js";
import { describeSystem, pdProgram } from "../testing/index.js";
import { System, zeroKernelCosts } from "./index.js";

function pingPong(seed: number): System {
  const sys = new System(
    describeSystem({
      pds: [
        { name: "ping", priority: 10 },
        { name: "pong", priority: 20 },
      ],
      channels: [
        [
          { pd: "ping", id: 0 },
          { pd: "pong", id: 1 },
        ],
      ],
    }),
    {
      seed,
      costModel: zeroKernelCosts,
      programs: {
        "ping.elf": pdProgram({
          *init(pd) {
            pd.notify(0);
            yield work("us", 3);
          },
          *notified(ch, pd) {
            pd.counter("rounds", Math.floor(pd.random() * 100));
            yield work("us", 1 + Math.floor(pd.random() * 5));
            if (pd.now() < 50_000) pd.notify(ch);
          },
        }),
        "pong.elf": pdProgram({
          *notified(ch, pd) {
            yield work("us", 2);
            pd.notify(ch);
          },
        }),
      },
    },
  );
  sys.runUntilIdle(1e9);
  return sys;
}

describe("event log export", () => {
  it("writes Chrome Trace Event JSON with a core track, one track per thread, flows and counters", () => {
    const sys = pingPong(1);
    const trace = sys.toPerfetto();
    const events = trace.traceEvents;
    const names = events
      .filter((e) => e.ph === "M" && e.name === "thread_name")
      .map((e) => e.args?.name);
    expect(names).toEqual([
      "core 0",
      "monitor (monitor, prio 255)",
      "ping (pd, prio 10)",
      "pong (pd, prio 20)",
    ]);
    const core = events.filter((e) => e.ph === "X" && e.tid === 1);
    expect(core.length).toBeGreaterThan(10);
    for (let i = 1; i < core.length; i++) {
      expect(core[i]!.ts!).toBeGreaterThanOrEqual(core[i - 1]!.ts! + core[i - 1]!.dur!);
    }
    const starts = new Set(events.filter((e) => e.ph === "s").map((e) => e.id));
    const finishes = events.filter((e) => e.ph === "f").map((e) => e.id);
    expect(finishes.length).toBeGreaterThan(10);
    for (const id of finishes) expect(starts.has(id)).toBe(true);
    const begins = events.filter((e) => e.ph === "B").length;
    const ends = events.filter((e) => e.ph === "E").length;
    expect(begins).toBe(ends);
    expect(events.some((e) => e.ph === "C" && e.name === "ping.rounds")).toBe(true);
    expect(JSON.parse(JSON.stringify(trace))).toEqual(trace);
  });

  it("gives an identical log for the same seed and a different one for another seed", () => {
    expect(JSON.stringify(pingPong(7).log)).toBe(JSON.stringify(pingPong(7).log));
    expect(JSON.stringify(pingPong(8).log)).not.toBe(JSON.stringify(pingPong(7).log));
  });
});
