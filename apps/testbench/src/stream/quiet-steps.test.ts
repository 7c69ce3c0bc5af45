/**
 * Quiet progress steps are exact (issue 12 items 1, 5): a run that passes over steps where only
 * one guest's idle loop can run gives the same starvation results, report JSON and digest as one
 * that samples every step — over the bundled scenarios (the ten-minute ones cut short) and over
 * generated VM scenarios (priorities, output times, typing) — and does pass over steps (the rule
 * is not vacuous). A rule that runs past a guest's `dueFrom` is caught.
 */
import { readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { runJson } from "../report.js";
import { type RunOptions, runScenario } from "../run.js";
import { loadScenario, type Scenario, withKnobs } from "../scenario.js";
import { QuietStepsPastDue } from "../testing/quiet-steps-variants.js";
import { syntheticScenario } from "../testing/synthetic.js";

const numRuns = Number(process.env.VMMUX_PROP_RUNS ?? 12);
const scenariosDir = fileURLToPath(new URL("../../../../traces/scenarios/", import.meta.url));
/** Virtual seconds kept of each bundled scenario (starvation-10min's idle stretch starts at 6 s). */
const SECONDS = 15;
const STARVATION_SECONDS = 40;

/** What a run shows, and how many progress calls it made. */
function observe(scenario: Scenario, quietSteps: RunOptions["quietSteps"]) {
  let calls = 0;
  const run = runScenario(scenario, { quietSteps, onProgress: () => calls++ });
  return {
    shown: { json: runJson(run, []), starvation: run.starvation, digest: run.digest },
    calls,
  };
}

function expectSame(scenario: Scenario): number {
  const on = observe(scenario, true);
  const off = observe(scenario, false);
  expect(on.shown).toEqual(off.shown);
  return off.calls - on.calls;
}

describe("quiet progress steps", () => {
  const bundled = readdirSync(scenariosDir).filter(
    (f) => f.endsWith(".json") && f !== "scenario.schema.json" && !f.startsWith("real-"),
  );
  test.each(bundled)("bundled %s: same results passing over quiet steps", (name) => {
    const scenario = loadScenario(`${scenariosDir}${name}`);
    const starvation = name === "starvation-10min.json";
    const seconds = starvation ? STARVATION_SECONDS : SECONDS;
    const cut = withKnobs(scenario, {
      durationLimit: Math.min(scenario.knobs.durationLimit, seconds),
    });
    const skipped = expectSame(cut);
    // 400 steps, of which the ones after guest1's output stops pass in a few stretches.
    if (starvation) expect(skipped).toBeGreaterThan(250);
  });

  const vmCase = fc.record({
    first: fc.integer({ min: 1, max: 900 }),
    second: fc.integer({ min: 1, max: 2500 }),
    priority: fc.constantFrom(90, 100, 110),
    typedAt: fc.option(fc.integer({ min: 200, max: 2500 }), { nil: undefined }),
  });
  test("generated VM scenarios: same results passing over quiet steps", () => {
    let skipped = 0;
    fc.assert(
      fc.property(vmCase, (c) => {
        skipped += expectSame(generated(c));
      }),
      { numRuns, seed: 0x5e5e },
    );
    expect(skipped).toBeGreaterThan(0);
  });

  test("a rule that runs past a guest's dueFrom is caught", () => {
    const scenario = generated({ first: 1, second: 2000, priority: 100, typedAt: undefined });
    const right = observe(scenario, true);
    expect(right.shown).toEqual(observe(scenario, false).shown);
    const planted = observe(scenario, (inputs) => new QuietStepsPastDue(inputs));
    expect(planted.shown.starvation).not.toEqual(right.shown.starvation);
  });
});

/**
 * guest1 (VMM 111, vCPU 110, as in starvation-10min) prints at `first` ms and idles; guest2 at
 * `priority` prints at `second` ms (its work falls due then); a key may be typed at `typedAt` ms.
 */
function generated(c: {
  first: number;
  second: number;
  priority: number;
  typedAt: number | undefined;
}): Scenario {
  return syntheticScenario({
    kind: "vm",
    guests: [
      { output: [[c.first / 1000, "one\r\n"]], input: "record" },
      { output: [[c.second / 1000, "two\r\n"]], input: "record" },
    ],
    keyboard: c.typedAt === undefined ? [] : [{ at: c.typedAt / 1000, text: "x" }],
    knobs: {
      durationLimit: 3,
      pds: {
        vmm_guest1: { priority: 111 },
        guest1: { priority: 110 },
        vmm_guest2: { priority: c.priority },
        guest2: { priority: c.priority },
      },
    },
  });
}
