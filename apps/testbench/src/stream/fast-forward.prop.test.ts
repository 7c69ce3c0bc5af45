/**
 * Fast-forward is exact (DESIGN.md "Cost follows work", issue 12 items 1 and 3): with the
 * kernel's `fastForward` and `inlineSteps` and the PL011's arithmetic drain on, and with all off,
 * a run gives the same wire bytes with their tags and times, the
 * same report JSON (event count and digest included), the same oracle verdicts and digests —
 * over every bundled scenario (its first virtual seconds) and over generated ones: random
 * traces, priorities, budgets, periods, queue sizes, both profiles and schedule seeds.
 * Skips, saying so, while the runtime has no `fastForward` option.
 */
import { readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { plantedFastForward } from "@vmmux/microkit-pd/testing";
import { LateDrainDevice } from "@vmmux/pl011-uart/testing";
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { runJson } from "../report.js";
import type { RunOptions } from "../run.js";
import { loadScenario, type Scenario, withKnobs } from "../scenario.js";
import { checkScenario } from "../system/check.js";
import { runtimeHasFastForward } from "../testing/fast-forward.js";
import { type SyntheticGuest, syntheticScenario } from "../testing/synthetic.js";

const numRuns = Number(process.env.VMMUX_PROP_RUNS ?? 200);
const seed = 0xf0f0;
const supported = runtimeHasFastForward();
const scenariosDir = fileURLToPath(new URL("../../../../traces/scenarios/", import.meta.url));
/** Virtual seconds of each bundled scenario compared (the boots and first output). */
const BUNDLED_SECONDS = 1.5;

/** Everything observable of `scenario`'s check, with fast-forward `on`. */
function observe(
  scenario: Scenario,
  on: boolean,
  schedule?: RunOptions["schedule"],
  variants?: RunOptions["variants"],
) {
  // Off simulates everything: every trap, and the PL011's state machine at every character's
  // end (its arithmetic drain and the kernel's leaps past inert ticks are on only with `on`).
  const { run, rerun, judgements } = checkScenario(scenario, {
    fastForward: on,
    inlineSteps: on,
    exactCharacterEvents: !on,
    ...(schedule === undefined ? {} : { schedule }),
    ...(variants === undefined ? {} : { variants }),
  });
  return {
    wire: run.wire,
    json: runJson(run, judgements),
    rerunDigest: rerun.digest,
  };
}

function expectSame(
  scenario: Scenario,
  schedule?: RunOptions["schedule"],
  variants?: RunOptions["variants"],
): void {
  const on = observe(scenario, true, schedule, variants);
  const off = observe(scenario, false, schedule);
  expect(on.wire).toEqual(off.wire);
  expect(on.json).toEqual(off.json);
  expect(on.rerunDigest).toBe(off.rerunDigest);
}

const output: fc.Arbitrary<SyntheticGuest["output"]> = fc
  .array(fc.tuple(fc.integer({ min: 0, max: 8000 }), fc.stringMatching(/^[a-z \n]{1,40}$/)), {
    maxLength: 4,
  })
  .map((events) => {
    let t = 0.001;
    return events.map(([gapUs, text]) => {
      t += gapUs / 1e6;
      return [t, text] as const;
    });
  });

const pdKnob = fc.record(
  {
    priority: fc.integer({ min: 1, max: 150 }),
    budget: fc.integer({ min: 200, max: 1000 }),
  },
  { requiredKeys: [] },
);

const generated = fc.record({
  kind: fc.constantFrom("vm" as const, "sddf-client" as const),
  guests: fc.tuple(fc.record({ output }), fc.record({ output })),
  profile: fc.constantFrom("reference" as const, "hardened" as const),
  pd1: pdKnob,
  pd2: pdKnob,
  period: fc.constantFrom(undefined, 1000, 2000),
  client: fc.constantFrom(undefined, 0x1000, 0x2000),
  schedule: fc.option(fc.integer({ min: 1, max: 1000 }), { nil: undefined }),
});

type Generated = typeof generated extends fc.Arbitrary<infer T> ? T : never;

describe.skipIf(!supported)(
  supported
    ? "fast-forward is exact"
    : "fast-forward is exact (skipped: the runtime has no `fastForward` option yet)",
  () => {
    // real-*.json boot a real guest, whose emulator starts asynchronously (real/prepare.ts).
    test.each(
      readdirSync(scenariosDir).filter(
        (f) => f.endsWith(".json") && f !== "scenario.schema.json" && !f.startsWith("real-"),
      ),
    )("bundled %s: same wire, report, verdicts and digests on and off", (name) => {
      const scenario = loadScenario(`${scenariosDir}${name}`);
      expectSame(
        withKnobs(scenario, {
          durationLimit: Math.min(scenario.knobs.durationLimit, BUNDLED_SECONDS),
        }),
      );
    });

    test("generated scenarios: same wire, report, verdicts and digests on and off", () => {
      fc.assert(
        fc.property(generated, (g) => {
          expectSame(...generatedCase(g));
        }),
        { numRuns, seed },
      );
    });

    test("a planted PL011 drain that finishes each character one character time late is caught", () => {
      const bundled = withKnobs(loadScenario(`${scenariosDir}default.json`), {
        durationLimit: BUNDLED_SECONDS,
      });
      expect(() => expectSame(bundled, undefined, { uart: LateDrainDevice })).toThrow();
    });

    test("a planted fast-forward that runs one idle period past a slice is caught", () => {
      const planted = { kernel: plantedFastForward("period-past-slice").parts };
      const bundled = withKnobs(loadScenario(`${scenariosDir}default.json`), {
        durationLimit: BUNDLED_SECONDS,
      });
      // In the full system the overshoot shows as a timer armed in the past (the kernel
      // refuses it), before any output can differ.
      expect(() => expectSame(bundled, undefined, planted)).toThrow(/armed a timer of -/);
      expect(() =>
        fc.assert(
          fc.property(generated, (g) => {
            expectSame(...generatedCase(g), planted);
          }),
          { numRuns, seed },
        ),
      ).toThrow(/Property failed/);
    });
  },
);

/** A generated case as a scenario and its schedule perturbation. */
function generatedCase(g: Generated): [Scenario, RunOptions["schedule"]] {
  // The guests' PDs (client system) or virtual machines (VM system) are named so.
  const names = ["guest1", "guest2"];
  const knob = (k: { priority?: number; budget?: number }) => ({
    ...k,
    ...(k.budget === undefined || g.period === undefined
      ? {}
      : { budget: Math.min(k.budget, g.period), period: g.period }),
  });
  const scenario = syntheticScenario({
    kind: g.kind,
    guests: g.guests,
    knobs: {
      profile: g.profile,
      durationLimit: 0.03,
      pds: { [names[0]!]: knob(g.pd1), [names[1]!]: knob(g.pd2) },
      queueSizes: g.client === undefined ? {} : { client: g.client },
    },
  });
  return [scenario, g.schedule === undefined ? undefined : { seed: g.schedule }];
}
