/**
 * The starvation watch on faults (issue 11 item 3): a guest whose PD stopped with output due is
 * waiting, and so is every guest with work due while the driver's TX queue holds bytes and the
 * wire does not move; a moving wire or a live PD is not.
 */
import { describe, expect, test } from "vitest";
import { type PathSample, StarvationWatch, type ThreadSample } from "../oracles/starvation.js";

const MS = 1_000_000;
const guest = { name: "g", threads: ["g"], runs: ["g"], traceBytes: 100, dueFrom: 0 };

/** Samples every 100 ms for 1 s; `at(t)` gives the thread, the guest's wire count and the path. */
function watch(at: (t: number) => { state: string; onWire: number; path?: PathSample }) {
  const w = new StarvationWatch([guest]);
  let ran = 0;
  for (let t = 100 * MS; t <= 1000 * MS; t += 100 * MS) {
    const s = at(t);
    if (s.state === "running") ran += 10 * MS;
    const threads: ThreadSample[] = [{ name: "g", state: s.state, runTime: ran }];
    w.sample(t, threads, [{ onWire: s.onWire, txPending: 0, rxPending: 0 }], s.path);
  }
  return w.finish(500 * MS)[0]!;
}

describe("starvation watch on faults", () => {
  test("a PD that stopped with output due waits from then on", () => {
    const r = watch((t) => ({ state: t > 300 * MS ? "inactive" : "running", onWire: 10 }));
    expect(r.why).toBe("its PD stopped");
    expect([r.from, r.to]).toEqual([300 * MS, 1000 * MS]);
    const dead = watch((t) => ({ state: t > 300 * MS ? "dead" : "running", onWire: 10 }));
    expect(dead.longestWait).toBe(700 * MS);
  });

  test("a live guest that is merely blocked does not wait", () => {
    expect(watch(() => ({ state: "blocked-recv", onWire: 10 })).longestWait).toBe(0);
  });

  test("a wire that stops with bytes in the driver's TX queue is no bytes out", () => {
    const stalled = watch((t) => ({
      state: "blocked-recv",
      onWire: 10,
      path: { driverPending: 50, wire: t > 400 * MS ? 40 : t / MS },
    }));
    expect(stalled.why).toBe("no bytes out");
    expect([stalled.from, stalled.to]).toEqual([500 * MS, 1000 * MS]);
    const moving = watch((t) => ({
      state: "blocked-recv",
      onWire: 10,
      path: { driverPending: 50, wire: t / MS },
    }));
    expect(moving.longestWait).toBe(0);
    const empty = watch(() => ({
      state: "blocked-recv",
      onWire: 10,
      path: { driverPending: 0, wire: 40 },
    }));
    expect(empty.longestWait).toBe(0);
  });
});
