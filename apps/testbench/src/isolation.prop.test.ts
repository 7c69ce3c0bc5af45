/**
 * Isolation (DESIGN.md oracle 6) over hostile scripts: whatever script the scenario seed
 * draws for guest2's hostile guest, hardened VMMs keep every PD alive, answer every exit and
 * leave guest1's output intact. Shown to catch `@vmmux/vmm`'s planted VMM that leaves
 * accesses outside its device windows unanswered.
 */
import { unansweredUnmappedVmm } from "@vmmux/vmm/testing";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isolation } from "./oracles.js";
import { type RunVariants, runScenario } from "./run.js";
import { syntheticScenario } from "./testing/synthetic.js";

const numRuns = Number(process.env.VMMUX_PROP_RUNS ?? 6);
const seed = 0x150_1a7e;

const lines = Array.from({ length: 8 }, (_, i) => [0.01 + i * 0.002, `g1 line ${i}\r\n`] as const);

function isolated(scenarioSeed: number, variants?: RunVariants): boolean {
  const scenario = syntheticScenario({
    kind: "vm",
    guests: [{ output: lines }, { output: [], hostile: true }],
    knobs: { durationLimit: 0.04, seed: scenarioSeed },
  });
  return isolation(runScenario(scenario, variants === undefined ? {} : { variants })).ok;
}

const scenarioSeed = fc.integer({ min: 0, max: 2 ** 32 - 1 });

describe("isolation under hostile scripts drawn from the scenario seed", () => {
  it("holds for hardened VMMs", () => {
    fc.assert(
      fc.property(scenarioSeed, (s) => isolated(s)),
      { numRuns, seed },
    );
  });

  it("catches the planted VMM that leaves accesses outside its windows unanswered", () => {
    const result = fc.check(
      fc.property(scenarioSeed, (s) => isolated(s, { vmm: unansweredUnmappedVmm })),
      { numRuns: Math.max(numRuns, 10), seed, endOnFailure: true },
    );
    expect(result.failed).toBe(true);
  });
});
