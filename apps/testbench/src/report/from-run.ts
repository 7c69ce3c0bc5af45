/**
 * The report input of a finished replay: its terminal, timeline (when the run kept its event
 * log), per-guest numbers, losses and, when given, the oracles' judgements.
 */
import { runMetrics } from "../metrics.js";
import type { Judgement } from "../oracles.js";
import { terminalCast } from "../report.js";
import type { RunResult } from "../run.js";
import type { HtmlReportInput } from "./html.js";
import { timelineFromPerfetto } from "./timeline.js";

export interface ReportOfRunOptions {
  /** The command that reruns this run, e.g. `vmmux replay <file> --seed <n>`. */
  readonly replayCommand: string;
  readonly judgements?: readonly Judgement[];
  readonly title?: string;
}

export function reportInputOfRun(run: RunResult, options: ReportOfRunOptions): HtmlReportInput {
  const metrics = runMetrics(run);
  const title = options.title ?? `vmmux replay of ${run.scenarioFile}`;
  const trace = run.perfetto();
  return {
    title,
    scenario: run.scenarioFile,
    seed: run.seed,
    profile: run.profile,
    replayCommand: options.replayCommand,
    virtualTime: metrics.virtualTime,
    terminal: terminalCast(run, title),
    ...(trace ? { timeline: timelineFromPerfetto(trace) } : {}),
    guests: metrics.guests,
    loss: metrics.loss,
    totals: [
      { label: "wire bytes", value: metrics.wireBytes },
      { label: "kernel events", value: metrics.events },
      { label: "ended", value: metrics.idle ? "idle" : "at the duration limit" },
    ],
    ...(options.judgements
      ? {
          verdicts: options.judgements.map((j) => ({ ...j.verdict, asExpected: j.asExpected })),
        }
      : {}),
  };
}
