/**
 * The driver's RX path against virt_rx under arbitrary interleavings (sddf-serial §3.2–§3.3,
 * DESIGN.md oracle 7): bytes keep wire order, losses are counted overruns only, and once
 * input stops nothing stays stuck in the FIFO. The planted driver without the re-check
 * after its signal request must be caught with a lost wake-up, both by the directed
 * interleaving below and by the random search on its own.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  checkDriverScript,
  DriverModelViolation,
  type DriverScript,
  driverScriptArb,
} from "./testing/interleave.js";

const numRuns = Number(process.env.VMMUX_PROP_RUNS ?? 150);
const seed = 0x5012;

/**
 * The race of sddf-serial §3.3 on the RX queue: the queue (capacity 2) became full just as
 * the FIFO emptied; the next byte's RT interrupt finds it full, and virt_rx (already
 * notified, flag cancelled on its first pass) drains it in the `steps`-th preemption point
 * of the handler, between the driver's "full" test and its signal request.
 */
function race(steps: number): DriverScript {
  return {
    rxCapacity: 2,
    ops: [
      { op: "wire", count: 4, gapNs: 400_000 },
      { op: "device", ns: 400_000 },
      { op: "driver", steps: 100 },
      { op: "virtRx" },
      { op: "driver", steps: 100 },
      { op: "device", ns: 400_000 },
      { op: "driver", steps: 100 },
      { op: "device", ns: 400_000 },
      { op: "driver", steps: 100 },
      { op: "device", ns: 400_000 },
      { op: "driver", steps },
      { op: "virtRx" },
    ],
  };
}

function outcome(script: DriverScript, bug?: "rx-no-recheck"): string {
  try {
    checkDriverScript(script, bug);
    return "ok";
  } catch (error) {
    if (!(error instanceof DriverModelViolation)) throw error;
    return /lost wake-up/.test(error.message) ? "lost wake-up" : error.message;
  }
}

describe("driver RX path under arbitrary interleavings (property)", () => {
  it("keeps order, counts every loss and never loses a wake-up", () => {
    fc.assert(
      fc.property(driverScriptArb, (script) => checkDriverScript(script)),
      { numRuns, seed, examples: [[race(5)], [race(6)], [race(7)]] },
    );
  });

  it("stalls without the re-check exactly when virt_rx drains inside the request window", () => {
    const steps = [3, 4, 5, 6, 7, 8];
    expect(steps.map((k) => outcome(race(k), "rx-no-recheck"))).toEqual([
      "ok",
      "ok",
      "lost wake-up",
      "lost wake-up",
      "lost wake-up",
      "ok",
    ]);
    expect(steps.map((k) => outcome(race(k)))).toEqual(steps.map(() => "ok"));
  });

  it("finds the planted lost wake-up by random search alone", () => {
    const result = fc.check(
      fc.property(driverScriptArb, (script) => checkDriverScript(script, "rx-no-recheck")),
      { numRuns: Math.max(numRuns, 2000), seed },
    );
    expect(result.failed).toBe(true);
    expect((result.errorInstance as Error).message).toMatch(/lost wake-up/);
  });
});
