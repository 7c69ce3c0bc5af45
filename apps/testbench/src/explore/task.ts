/**
 * One perturbed run of an exploration, as a worker runs it: the scenario is loaded from its
 * file (a scenario in memory holds functions and cannot cross threads), the run judged for
 * no lost wake-ups, and only the verdict goes back. Each thread loads a scenario and parses
 * its system file once for all the runs it takes (parsing was ~5% of a sddf-clients run).
 */
import { wakeups } from "../oracles/system.js";
import type { Verdict } from "../oracles/verdict.js";
import { runScenario } from "../run.js";
import { type Knobs, loadScenario, type Scenario, withKnobs } from "../scenario.js";
import { scenarioSystem } from "../system/build.js";

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

interface Loaded {
  readonly scenario: Scenario;
  readonly system: ReturnType<typeof scenarioSystem>;
}

const loaded = new Map<string, Loaded>();

/** Judge one schedule seed of `task`'s scenario. */
export function runExploreTask(task: ExploreTask): ExploreTaskResult {
  const key = `${task.scenarioFile}\n${JSON.stringify(task.overrides)}`;
  let entry = loaded.get(key);
  if (entry === undefined) {
    const scenario = withKnobs(loadScenario(task.scenarioFile), task.overrides);
    entry = { scenario, system: scenarioSystem(scenario) };
    loaded.set(key, entry);
  }
  const { scenario, system } = entry;
  const run = runScenario(scenario, {
    system,
    keepWire: false,
    schedule: { seed: task.seed, ...(task.spread === undefined ? {} : { spread: task.spread }) },
  });
  return { seed: task.seed, verdict: wakeups(run) };
}

export default runExploreTask;
