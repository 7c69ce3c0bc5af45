/**
 * The report input of a finished replay: its terminal, timeline (a `TimelineSummary` made as it
 * ran, else from its kept event log), per-guest numbers, losses and, when given, the oracles'
 * judgements.
 */
import { runMetrics } from "../metrics.js";
import type { Judgement } from "../oracles.js";
import { terminalCast } from "../report.js";
import type { RunResult } from "../run.js";
import type { HtmlReportInput, ReportPageInput } from "./html.js";
import { type Timeline, timelineFromPerfetto } from "./timeline.js";

export interface ReportOfRunOptions {
  /** The command that reruns this run, e.g. `vmmux replay <file> --seed <n>`. */
  readonly replayCommand: string;
  readonly judgements?: readonly Judgement[];
  readonly title?: string;
  /** The timeline to show (`TimelineSummary.timeline`); default from the run's kept log. */
  readonly timeline?: Timeline;
}

export function reportInputOfRun(run: RunResult, options: ReportOfRunOptions): HtmlReportInput {
  const page = reportPageOfRun(run, options);
  return { ...page, terminal: terminalCast(run, page.title) };
}

/**
 * {@link reportInputOfRun} without the terminal, which the run may have written as it went
 * (`TerminalCastWriter`; `html-stream.ts` then reads it back) and not kept.
 */
export function reportPageOfRun(run: RunResult, options: ReportOfRunOptions): ReportPageInput {
  const metrics = runMetrics(run);
  const title = options.title ?? `vmmux replay of ${run.scenarioFile}`;
  const trace = options.timeline === undefined ? run.perfetto() : undefined;
  const timeline = options.timeline ?? (trace ? timelineFromPerfetto(trace) : undefined);
  return {
    title,
    scenario: run.scenarioFile,
    seed: run.seed,
    profile: run.profile,
    replayCommand: options.replayCommand,
    virtualTime: metrics.virtualTime,
    ...(timeline ? { timeline } : {}),
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
