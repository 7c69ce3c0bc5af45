/**
 * Generated two-guest scenarios for the property suites that run or judge one system two ways
 * and compare (fast-forward on and off, the wire judged as it goes and after the run): a short
 * random trace per guest, both guest kinds and profiles, priorities, budgets and periods,
 * client queue sizes, the line-atomic mux (hardened only) and a schedule perturbation seed.
 */
import fc from "fast-check";
import type { RunOptions } from "../run.js";
import type { Scenario } from "../scenario.js";
import { type SyntheticGuest, syntheticScenario } from "./synthetic.js";

/** A guest's trace: up to four outputs of 1–60 characters, each 0–8 ms after the one before. */
export const guestOutput: fc.Arbitrary<SyntheticGuest["output"]> = fc
  .array(fc.tuple(fc.integer({ min: 0, max: 8000 }), fc.stringMatching(/^[a-z \n]{1,60}$/)), {
    maxLength: 4,
  })
  .map((events) => {
    let t = 0.001;
    return events.map(([gapUs, text]) => {
      t += gapUs / 1e6;
      return [t, text] as const;
    });
  });

/** A guest's scheduling knobs over the system file's: any, some or none given. */
const pdKnob = fc.record(
  {
    priority: fc.integer({ min: 1, max: 150 }),
    budget: fc.integer({ min: 200, max: 1000 }),
  },
  { requiredKeys: [] },
);

/** One generated system, as drawn; `generatedCase` makes it a scenario. */
export const generatedSystem = fc.record({
  kind: fc.constantFrom("vm" as const, "sddf-client" as const),
  guests: fc.tuple(fc.record({ output: guestOutput }), fc.record({ output: guestOutput })),
  profile: fc.constantFrom("reference" as const, "hardened" as const),
  pd1: pdKnob,
  pd2: pdKnob,
  /** µs, for both guests' budgets; none: the system file's. */
  period: fc.constantFrom(undefined, 1000, 2000),
  client: fc.constantFrom(undefined, 0x1000, 0x2000),
  /** Taken only under `hardened`, the one profile with the option. */
  lineAtomic: fc.boolean(),
  schedule: fc.option(fc.integer({ min: 1, max: 1000 }), { nil: undefined }),
});

export type GeneratedSystem = typeof generatedSystem extends fc.Arbitrary<infer T> ? T : never;

/** A generated system as a scenario of `durationLimit` virtual seconds, and its perturbation. */
export function generatedCase(
  g: GeneratedSystem,
  durationLimit = 0.03,
): [Scenario, RunOptions["schedule"]] {
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
      durationLimit,
      lineAtomic: g.lineAtomic && g.profile === "hardened",
      pds: { [names[0]!]: knob(g.pd1), [names[1]!]: knob(g.pd2) },
      queueSizes: g.client === undefined ? {} : { client: g.client },
    },
  });
  return [scenario, g.schedule === undefined ? undefined : { seed: g.schedule }];
}
