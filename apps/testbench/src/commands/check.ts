/**
 * `vmmux check <scenario>` (DESIGN.md "Interfaces people use"): run the scenario, rerun it
 * for determinism, optionally explore perturbed schedules on a worker pool (one shard of the
 * campaign with `--shard i/n`, its results kept for `vmmux merge` with `--explore-out`), and
 * judge every oracle; exit 1 with the seed and a replay command on a violation. The progress
 * line follows every phase (issue 9 item 7). As `system/check.ts` does, the first run keeps no
 * event log (PD faults are found as it goes; `--out` streams its timeline) and the determinism
 * rerun keeps only its digest.
 */
import type { Command } from "commander";
import { writeFileAtomic } from "../asciicast.js";
import type { Io } from "../commands.js";
import { Exploration, type ExploreShardResult } from "../explore/pool.js";
import type { Shard } from "../explore/shard.js";
import { judge, judgeExplored } from "../oracles.js";
import { OutputDir } from "../output-dir.js";
import { hasRealGuests, runPrepared } from "../real/prepare.js";
import { formatJudgements, formatReport, runJson } from "../report.js";
import { idleNote } from "../roles.js";
import type { RunResult } from "../run.js";
import type { Scenario } from "../scenario.js";
import { visibleControls } from "../terminal-queries.js";
import {
  ExitRequest,
  knobOverrides,
  NO_FAST_FORWARD_HELP,
  Progress,
  parseCount,
  parseSeed,
  parseShardFlag,
  parseWorkers,
  prepareScenario,
  type RunFlags,
  replayCommand,
} from "./common.js";
import {
  type ArtefactFlags,
  artefactOptions,
  checkTimelineWindow,
  type StreamedArtefacts,
  streamedArtefacts,
  timelineHint,
  writeRunArtefacts,
} from "./replay.js";

interface CheckFlags extends RunFlags, ArtefactFlags {
  readonly json?: boolean;
  readonly explore?: number;
  readonly workers?: number;
  readonly shard?: Shard;
  readonly exploreOut?: string;
}

/** The first violating schedule seed of an exploration, if any. */
export function firstViolation(explored: ExploreShardResult["explored"]): number | undefined {
  return explored.find((r) => !r.verdict.ok)?.seed;
}

export function registerCheckCommand(program: Command, io: Io): void {
  const command = program
    .command("check")
    .description("run a scenario twice and judge it with the oracles; exit 1 on a violation")
    .argument("<scenario>", "a scenario .json file")
    .option("--json", "print machine-readable verdicts")
    .option("--seed <n>", "override the scenario's seed", parseSeed)
    .option("--no-fast-forward", NO_FAST_FORWARD_HELP)
    .option("--schedule <seed>", "perturb the schedule as `--explore` does", parseSeed)
    .option(
      "--explore <n>",
      "also rerun with n perturbed schedules and judge no lost wake-ups on each",
      parseCount,
    )
    .option(
      "--workers <n>",
      "threads for --explore, this one included (default: every core; 0 or 1: this one alone)",
      parseWorkers,
    )
    .option(
      "--shard <i/n>",
      "run only shard i of n of the --explore campaign (one CI job each; see vmmux merge)",
      parseShardFlag,
    )
    .option("--explore-out <file>", "write the --explore results as JSON for vmmux merge")
    .option("--out <dir>", "write the first run's artefacts and the verdicts here");
  artefactOptions(command).action(async (file: string, flags: CheckFlags) => {
    if (flags.explore === undefined) {
      const stray = ["workers", "shard", "exploreOut"].find(
        (k) => flags[k as keyof CheckFlags] !== undefined,
      );
      if (stray !== undefined) {
        io.err(`vmmux check: --${stray.replace("O", "-o")} needs --explore <n>\n`);
        throw new ExitRequest(2);
      }
    }
    checkTimelineWindow("check", flags, io);
    const scenario = prepareScenario(file, flags);
    if (flags.explore !== undefined && hasRealGuests(scenario)) {
      io.err(
        "vmmux check: --explore cannot run real guests (an emulated PC per schedule is too costly); check without it\n",
      );
      throw new ExitRequest(2);
    }
    const out = flags.out === undefined ? undefined : OutputDir.prepare(flags.out);
    try {
      await checkRuns(io, file, flags, scenario, out);
    } finally {
      // Nothing half-written stays behind when a run fails (a no-op once committed).
      out?.abort();
    }
  });
}

async function checkRuns(
  io: Io,
  file: string,
  flags: CheckFlags,
  scenario: Scenario,
  out: OutputDir | undefined,
): Promise<void> {
  const streamed = out === undefined ? undefined : streamedArtefacts(out, file, flags);
  const runs: RunResult[] = [];
  try {
    await judgeRuns(io, file, flags, scenario, out, streamed, runs);
  } finally {
    // Whatever fails after the first run (judging, exploring, printing) leaves no cast open and
    // its timeline moved into the staging directory before the set is dropped (so that move
    // fails no one unheard); no-ops once the artefacts are written.
    await runs[0]?.streamed.catch(() => undefined);
    await streamed?.cast.abort();
  }
}

async function judgeRuns(
  io: Io,
  file: string,
  flags: CheckFlags,
  scenario: Scenario,
  out: OutputDir | undefined,
  streamed: StreamedArtefacts | undefined,
  /** Gets the first run as soon as it has ended. */
  runs: RunResult[],
): Promise<void> {
  const schedule = flags.schedule === undefined ? {} : { schedule: { seed: flags.schedule } };
  const progress = new Progress(io, "vmmux check");
  const phases = flags.explore === undefined ? 2 : 3;
  const label =
    flags.shard === undefined ? "" : ` (shard ${flags.shard.index}/${flags.shard.count})`;
  // The exploration's pool threads start now and warm up while this thread does the two runs.
  const exploration =
    flags.explore === undefined
      ? undefined
      : new Exploration({
          scenarioFile: file,
          overrides: knobOverrides(flags),
          runs: flags.explore,
          ...(flags.workers === undefined ? {} : { workers: flags.workers }),
          ...(flags.shard === undefined ? {} : { shard: flags.shard }),
          onRun: (done, total) =>
            progress.show(`run 3 of 3: explored ${done} of ${total} schedules${label}`),
        });
  let run: RunResult;
  let judgements: ReturnType<typeof judge>;
  try {
    run = await runPrepared(scenario, {
      recordEvents: true,
      retainLog: false,
      // Integrity and interleaving are judged as the wire goes; --out's terminal cast is
      // written as it goes too, so no wire is kept.
      keepWire: false,
      judgeWire: true,
      ...streamed?.runOptions,
      ...schedule,
      onProgress: progress.phase(`run 1 of ${phases}`),
    });
    runs.push(run);
    progress.begin(`run 2 of ${phases} (determinism)`);
    const rerun = await runPrepared(scenario, {
      recordEvents: false,
      keepWire: false,
      ...schedule,
      onProgress: progress.phase(`run 2 of ${phases} (determinism)`),
    });
    judgements = judge(run, rerun, scenario.expect);
  } catch (error) {
    // The exploration's threads end with it when it runs; here it never will.
    await exploration?.close();
    throw error;
  }
  let explored: ExploreShardResult | undefined;
  if (exploration !== undefined) {
    progress.begin(`run 3 of 3: exploring schedules${label}`);
    explored = await exploration.run();
    judgements.push(judgeExplored(explored.explored, scenario.expect));
    if (flags.exploreOut !== undefined) {
      await writeFileAtomic(flags.exploreOut, `${JSON.stringify(explored, null, 2)}\n`);
    }
  }
  progress.clear();
  const failed = judgements.filter((j) => !j.asExpected);
  if (flags.json === true) {
    io.out(`${JSON.stringify(runJson(run, judgements), null, 2)}\n`);
  } else {
    io.out(`${formatReport(run)}\n${idleNote(run)}\noracles:\n${formatJudgements(judgements)}\n`);
  }
  if (out !== undefined) {
    const written = await writeRunArtefacts(
      out,
      run,
      file,
      flags,
      runJson(run, judgements),
      streamed,
    );
    (flags.json === true ? io.err : io.out)(`artefacts: ${visibleControls(written.join(", "))}\n`);
    const hint = timelineHint(written, flags);
    if (hint !== undefined) io.err(hint);
  }
  if (failed.length > 0) {
    const stranded = explored === undefined ? undefined : firstViolation(explored.explored);
    io.err(
      `vmmux check: ${failed.map((j) => j.verdict.oracle).join(", ")} not as expected; seed ${run.seed}\n` +
        `replay: ${visibleControls(replayCommand(file, run.seed, flags.schedule))}\n` +
        (stranded === undefined
          ? ""
          : `explored schedule that strands a producer: ${visibleControls(replayCommand(file, run.seed, stranded))}\n`),
    );
    throw new ExitRequest(1);
  }
}
