/**
 * One perturbed run of an exploration, as a worker runs it: the scenario is loaded from its
 * file (a scenario in memory holds functions and cannot cross threads), the run judged for
 * no lost wake-ups, and only the verdict goes back.
 */
import { wakeups } from "../oracles/system.js";
import type { Verdict } from "../oracles/verdict.js";
import { runScenario } from "../run.js";
import { type Knobs, loadScenario, type Scenario, withKnobs } from "../scenario.js";

export interface ExploreTask {
  readonly scenarioFile: string;
  readonly overrides: Partial<Knobs>;
  readonly seed: number;
  readonly spread?: number;
}

export interface ExploreTaskResult {
  readonly seed: number;
  readonly verdict: Verdict;
}

const loaded = new Map<string, Scenario>();

/** Judge one schedule seed of `task`'s scenario. */
export function runExploreTask(task: ExploreTask): ExploreTaskResult {
  const key = `${task.scenarioFile}\n${JSON.stringify(task.overrides)}`;
  let scenario = loaded.get(key);
  if (scenario === undefined) {
    scenario = withKnobs(loadScenario(task.scenarioFile), task.overrides);
    loaded.set(key, scenario);
  }
  const run = runScenario(scenario, {
    keepWire: false,
    schedule: { seed: task.seed, ...(task.spread === undefined ? {} : { spread: task.spread }) },
  });
  return { seed: task.seed, verdict: wakeups(run) };
}

export default runExploreTask;
