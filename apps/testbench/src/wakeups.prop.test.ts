/**
 * No lost wake-ups (DESIGN.md oracle 7) over generated line sizes and schedule
 * perturbations of the window scenario of `wakeups.test.ts`: the real virt_tx never strands a
 * client; sddf-serial's planted `VirtTxWithoutRecheck` (no re-check after the signal request,
 * sddf before `334e9be8`) does, for some generated case.
 */
import type { VirtTx, VirtTxConfig } from "@vmmux/sddf-serial";
import { VirtTxWithoutRecheck } from "@vmmux/sddf-serial/testing";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { wakeups } from "./oracles.js";
import { runScenario } from "./run.js";
import { syntheticScenario } from "./testing/synthetic.js";

const numRuns = Number(process.env.VMMUX_PROP_RUNS ?? 25);
const seed = 0x7a_4e5;
const DRIVER_RING = 4096;
const COLOUR = 9;

const line = (c: string, n: number) => `${c.repeat(n - 1)}\n`;

/**
 * A first line of `first` bytes, then one that fits the driver ring only once the first has
 * drained (`first + second + 2 colour pairs > ring`, `second + colour <= ring`).
 */
const windowCase = fc.integer({ min: 200, max: 1200 }).chain((first) =>
  fc.record({
    first: fc.constant(first),
    second: fc.integer({ min: DRIVER_RING - first - 2 * COLOUR + 1, max: DRIVER_RING - COLOUR }),
    schedule: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
  }),
);

function strandsNoClient(
  c: { first: number; second: number; schedule: number },
  virtTx?: new (config: VirtTxConfig) => VirtTx,
): boolean {
  const scenario = syntheticScenario({
    guests: [{ output: [[0.05, line("f", c.first) + line("b", c.second)]] }, { output: [] }],
    knobs: {
      durationLimit: 2,
      uart: "qemu",
      queueSizes: { driver: DRIVER_RING },
      pds: { uart_driver: { priority: 90 }, serial_virt_tx: { budget: 1, period: 1000 } },
    },
  });
  const run = runScenario(scenario, {
    schedule: { seed: c.schedule },
    ...(virtTx === undefined ? {} : { variants: { virtTx } }),
  });
  return wakeups(run).ok;
}

describe("no lost wake-ups over generated windows and schedules", () => {
  it("the real virt_tx strands no client", () => {
    fc.assert(
      fc.property(windowCase, (c) => strandsNoClient(c)),
      { numRuns, seed },
    );
  });

  it("catches the planted virt_tx without the re-check", () => {
    const result = fc.check(
      fc.property(windowCase, (c) => strandsNoClient(c, VirtTxWithoutRecheck)),
      { numRuns: Math.max(numRuns, 80), seed, endOnFailure: true },
    );
    expect(result.failed).toBe(true);
  });
});
