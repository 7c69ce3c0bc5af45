/**
 * `vmmux check`'s two runs (DESIGN.md oracle 5): the first judges its wire as it goes
 * (`RunOptions.judgeWire`; keeping the wire is optional) and observes the kernel's events for
 * PD faults without keeping them (unless a timeline is wanted); the second keeps nothing but
 * its digest, which determinism compares.
 */
import { type Judgement, judge } from "../oracles.js";
import { type RunOptions, type RunResult, runScenario } from "../run.js";
import type { Scenario } from "../scenario.js";

export interface CheckOptions
  extends Pick<
    RunOptions,
    | "schedule"
    | "variants"
    | "fastForward"
    | "inlineSteps"
    | "exactCharacterEvents"
    | "onWire"
    | "onEvent"
    | "perfettoFile"
    | "perfettoFold"
  > {
  /**
   * Keep the first run's wire (`RunResult.wire`, the terminal; default true). The oracles do
   * not need it: they judge the wire as it goes.
   */
  readonly keepWire?: boolean;
  /** Keep the first run's whole event log (`RunResult.perfetto()`); default false. */
  readonly keepLog?: boolean;
  /** Progress of run 1 or 2, every `progressStepNs` of virtual time. */
  readonly onProgress?: (run: 1 | 2, now: number, limit: number) => void;
  readonly progressStepNs?: number;
}

export interface CheckResult {
  readonly run: RunResult;
  /** The determinism rerun: no wire kept (`wireKept` false), digest only. */
  readonly rerun: RunResult;
  readonly judgements: Judgement[];
}

/** Run `scenario` twice and judge it with every oracle against its expectations. */
export function checkScenario(scenario: Scenario, options: CheckOptions = {}): CheckResult {
  const { keepLog, keepWire, onProgress, onWire, onEvent, perfettoFile, perfettoFold, ...common } =
    options;
  const progress = (k: 1 | 2) =>
    onProgress === undefined
      ? {}
      : { onProgress: (now: number, limit: number) => onProgress(k, now, limit) };
  const run = runScenario(scenario, {
    ...common,
    ...progress(1),
    recordEvents: true,
    retainLog: keepLog ?? false,
    // Integrity and interleaving are judged as the wire goes, so keeping it is optional.
    keepWire: keepWire ?? true,
    judgeWire: true,
    ...(onWire === undefined ? {} : { onWire }),
    ...(onEvent === undefined ? {} : { onEvent }),
    ...(perfettoFile === undefined ? {} : { perfettoFile }),
    ...(perfettoFold === undefined ? {} : { perfettoFold }),
  });
  const rerun = runScenario(scenario, {
    ...common,
    ...progress(2),
    recordEvents: false,
    keepWire: false,
  });
  return { run, rerun, judgements: judge(run, rerun, scenario.expect) };
}
