/**
 * No lost wake-ups (DESIGN.md oracle 7, sddf-serial §3.2–§3.3): explored interleavings of a
 * system built so that virt_tx's check-then-request window can be hit, judged at each run's
 * end; sddf-serial's `VirtTxWithoutRecheck` (no re-check after the request) must strand a
 * client for some seed of a bounded search, and the real virt_tx never.
 */
import { fileURLToPath } from "node:url";
import { VirtTxWithoutRecheck } from "@vmmux/sddf-serial/testing";
import { describe, expect, test } from "vitest";
import { guestMetrics } from "./metrics.js";
import { exploreWakeups, wakeups } from "./oracles.js";
import { runScenario } from "./run.js";
import { loadScenario } from "./scenario.js";
import { withWaitStranded } from "./testing/planted.js";

/**
 * `traces/scenarios/wakeup-window.json`: guest1 prints a 600-byte line, then at once a
 * 3700-byte one. virt_tx has a 1 µs budget every millisecond (an MCS sporadic server), so it
 * is throttled while it copies the first line and the second is published meanwhile. The
 * driver (priority 90, QEMU's UART, which drains its whole ring when it runs) waits below the
 * guests. The second line fits the 4 KiB driver ring only once the first has drained: virt_tx
 * finds it does not fit, and where its budget runs out between that check and its signal
 * request (which the schedule perturbation moves about), the driver drains the ring in the
 * window.
 */
const windowScenario = loadScenario(
  fileURLToPath(new URL("../../../traces/scenarios/wakeup-window.json", import.meta.url)),
);
const RUNS = 40;

describe("no lost wake-ups across explored schedules", () => {
  test("the planted virt_tx without the re-check strands a client for some seed of a bounded search", () => {
    const explored = exploreWakeups(windowScenario, {
      runs: RUNS,
      variants: { virtTx: VirtTxWithoutRecheck },
    });
    const last = explored.at(-1)!;
    expect(last.verdict.ok).toBe(false);
    expect(last.verdict.findings[0]).toMatch(
      /serial_virt_tx for guest1 waits on .*: the space exists and nothing will wake it \(lost wake-up\)/,
    );
    // Found within the bound, and the run it names replays to the same stranded end.
    expect(explored.length).toBeLessThanOrEqual(RUNS);
    const replay = runScenario(windowScenario, {
      variants: { virtTx: VirtTxWithoutRecheck },
      schedule: { seed: last.seed },
    });
    expect(wakeups(replay).ok).toBe(false);
    expect(replay.waits[0]?.free).toBe(replay.waits[0]?.capacity);
  });

  test("the real virt_tx strands no client on the same seeds; its re-check averts exactly the planted stalls", () => {
    const explored = exploreWakeups(windowScenario, { runs: RUNS, stopAtFirst: false });
    expect(explored).toHaveLength(RUNS);
    expect(explored.filter((r) => !r.verdict.ok)).toEqual([]);
    const averted: number[] = [];
    for (let seed = 1; seed <= RUNS; seed++) {
      const run = runScenario(windowScenario, { schedule: { seed } });
      if (run.loss.virtTx.T8Averted > 0) averted.push(seed);
      // Nothing lost either: every byte guest1 wrote left on the wire.
      expect(guestMetrics(run, run.guests[0]!).complete).toBe(true);
    }
    const stranded = exploreWakeups(windowScenario, {
      runs: RUNS,
      stopAtFirst: false,
      variants: { virtTx: VirtTxWithoutRecheck },
    })
      .filter((r) => !r.verdict.ok)
      .map((r) => r.seed);
    expect(averted.length).toBeGreaterThan(0);
    expect(stranded).toEqual(averted);
  });

  test("schedule seeds perturb the run; the same seed reproduces it", () => {
    const a = runScenario(windowScenario, { schedule: { seed: 3 } });
    const b = runScenario(windowScenario, { schedule: { seed: 3 } });
    const c = runScenario(windowScenario, { schedule: { seed: 4 } });
    expect(a.digest).toBe(b.digest);
    expect(c.digest).not.toBe(a.digest);
  });
});

describe("the wake-up oracle reads the end state", () => {
  const run = runScenario(windowScenario);

  test("a finished run with nobody waiting passes", () => {
    expect(run.waits).toEqual([]);
    expect(wakeups(run).ok).toBe(true);
  });

  test("a producer waiting on an empty ring flags a lost wake-up", () => {
    const v = wakeups(withWaitStranded(run, 0));
    expect(v.ok).toBe(false);
    expect(v.findings[0]).toContain("serial_virt_tx for guest1");
  });

  test("a producer whose consumer still has bytes to drain and was asked to signal is not flagged", () => {
    const stranded = withWaitStranded(run, 0);
    const w = stranded.waits[0]!;
    const draining = { ...stranded, waits: [{ ...w, length: 10, free: w.capacity - 10 }] };
    expect(wakeups(draining).ok).toBe(true);
    const notAsked = {
      ...stranded,
      waits: [
        { ...w, need: w.capacity, length: 10, free: w.capacity - 10, signalRequested: false },
      ],
    };
    expect(wakeups(notAsked).findings[0]).toContain("was not asked to signal");
  });

  test("a waiter still inside an entry point is not judged", () => {
    const stranded = withWaitStranded(run, 0);
    const busy = { ...stranded, waits: [{ ...stranded.waits[0]!, waiterBusy: true }] };
    expect(wakeups(busy).ok).toBe(true);
    expect(wakeups(busy).notes[0]).toContain("not judged");
  });
});
