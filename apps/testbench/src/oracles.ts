/**
 * The oracles (DESIGN.md "Oracles" 1–7), each a function over a finished run (`oracles/`),
 * shared by `vmmux check`, the unit tests and the property suites, and the judgement of a
 * run against its scenario's expectations. A verdict lists findings in words a person can act on.
 */

import { inputAccounting, typedEarly } from "./early-input/account.js";
import { fidelity } from "./oracles/fidelity.js";
import { expectedRouting, routing } from "./oracles/routing.js";
import { isolation, progress, wakeups } from "./oracles/system.js";
import { type Judgement, type Verdict, verdict } from "./oracles/verdict.js";
import {
  determinism,
  integrity,
  interleaving,
  type SplitLine,
  splitLines,
} from "./oracles/wire.js";
import type { RunResult } from "./run.js";
import { type RunOptions, runScenario } from "./run.js";
import type { Expectations, Scenario } from "./scenario.js";

export type { Judgement, SplitLine, Verdict };
export {
  determinism,
  expectedRouting,
  fidelity,
  integrity,
  interleaving,
  isolation,
  progress,
  routing,
  splitLines,
  wakeups,
};

/** One perturbed run of {@link exploreWakeups}. */
export interface ExploredRun {
  /** The schedule seed (`RunOptions.schedule.seed`). */
  readonly seed: number;
  readonly verdict: Verdict;
}

export interface ExploreOptions extends Pick<RunOptions, "variants"> {
  /** Number of perturbed runs. */
  readonly runs: number;
  /** First schedule seed (default 1); run `i` uses `firstSeed + i`. */
  readonly firstSeed?: number;
  /** Cost-model spread (default 0.9, {@link SchedulePerturbation}). */
  readonly spread?: number;
  /** Stop at the first violation (default true). */
  readonly stopAtFirst?: boolean;
}

/**
 * Explore interleavings for oracle 7: rerun the scenario with `runs` schedule perturbations
 * (seeded cost-model jitter, {@link SchedulePerturbation}) and judge each run's end. Returns
 * every run judged, the violating ones first found last when `stopAtFirst`.
 */
export function exploreWakeups(scenario: Scenario, options: ExploreOptions): ExploredRun[] {
  const out: ExploredRun[] = [];
  const first = options.firstSeed ?? 1;
  for (let i = 0; i < options.runs; i++) {
    const seed = first + i;
    const run = runScenario(scenario, {
      ...(options.variants === undefined ? {} : { variants: options.variants }),
      schedule: { seed, ...(options.spread === undefined ? {} : { spread: options.spread }) },
    });
    const verdict = wakeups(run);
    out.push({ seed, verdict });
    if (!verdict.ok && (options.stopAtFirst ?? true)) break;
  }
  return out;
}

/**
 * The explored runs as one `wakeups` judgement (for `vmmux check --explore n`): a violation
 * names the schedule seed that strands a producer, so the run can be replayed
 * (`runScenario(scenario, { schedule: { seed } })`).
 */
export function judgeExplored(explored: readonly ExploredRun[], expect?: Expectations): Judgement {
  const findings: string[] = [];
  for (const r of explored)
    for (const f of r.verdict.findings) findings.push(`schedule seed ${r.seed}: ${f}`);
  const first = explored[0]?.seed;
  const last = explored.at(-1)?.seed;
  const notes = [
    first === undefined
      ? "no schedule explored"
      : `${explored.length} perturbed schedule(s) judged (seeds ${first}..${last})`,
  ];
  const v = verdict("wakeups", findings, notes);
  const expected = expect?.oracles?.wakeups ?? "pass";
  return {
    verdict: v,
    expected,
    asExpected: v.ok === (expected === "pass"),
    scope: `over ${explored.length} schedules`,
  };
}

/**
 * Run every oracle over `run` (and `rerun` for determinism) and judge against `expect`;
 * `fidelity` when a guest replays a trace on Linux.
 */
export function judge(run: RunResult, rerun: RunResult, expect?: Expectations): Judgement[] {
  const verdicts = [
    integrity(run),
    routing(run),
    interleaving(run),
    determinism(run, rerun),
    progress(run, expect),
    isolation(run),
    wakeups(run),
    // Only runs with a trace-driven Linux guest have anything for fidelity to judge.
    ...((run.fidelity ?? []).some((f) => f.skipped === null) ? [fidelity(run)] : []),
    // Every typed byte by named place, when some guest was typed to before its console was up.
    ...(typedEarly(run) ? [inputAccounting(run)] : []),
  ];
  return verdicts.map((v) => {
    const expected = expect?.oracles?.[v.oracle] ?? "pass";
    return { verdict: v, expected, asExpected: v.ok === (expected === "pass") };
  });
}
