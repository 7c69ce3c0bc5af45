/**
 * `vmmux check <scenario>` (DESIGN.md "Interfaces people use"): run the scenario, rerun it
 * for determinism, optionally explore perturbed schedules, and judge every oracle; exit 1
 * with the seed and a replay command on a violation. The progress line follows every
 * phase (issue 9 item 7).
 */
import type { Command } from "commander";
import type { Io } from "../commands.js";
import { type ExploredRun, exploreWakeups, judge, judgeExplored } from "../oracles.js";
import { OutputDir } from "../output-dir.js";
import { formatJudgements, formatReport, runJson } from "../report.js";
import { runScenario } from "../run.js";
import type { Scenario } from "../scenario.js";
import { visibleControls } from "../terminal-queries.js";
import {
  ExitRequest,
  NO_FAST_FORWARD_HELP,
  Progress,
  parseCastVersion,
  parseCount,
  parseSeed,
  prepareScenario,
  type RunFlags,
  replayCommand,
} from "./common.js";
import { type ArtefactFlags, writeRunArtefacts } from "./replay.js";

/** `exploreWakeups` one schedule at a time, so each one shows on the progress line. */
function explore(scenario: Scenario, runs: number, progress: Progress): ExploredRun[] {
  const explored: ExploredRun[] = [];
  for (let i = 0; i < runs; i++) {
    progress.begin(`exploring schedule ${i + 1} of ${runs}`);
    const [run] = exploreWakeups(scenario, { runs: 1, firstSeed: 1 + i });
    explored.push(run!);
    if (!run!.verdict.ok) break;
  }
  return explored;
}

export function registerCheckCommand(program: Command, io: Io): void {
  program
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
    .option("--out <dir>", "write the first run's artefacts and the verdicts here")
    .option(
      "--cast-version <n>",
      "asciicast version of the terminal artefact: 2 or 3",
      parseCastVersion,
    )
    .action(
      async (
        file: string,
        flags: RunFlags & ArtefactFlags & { json?: boolean; explore?: number },
      ) => {
        const scenario = prepareScenario(file, flags);
        const out = flags.out === undefined ? undefined : OutputDir.prepare(flags.out);
        const schedule = flags.schedule === undefined ? {} : { schedule: { seed: flags.schedule } };
        const progress = new Progress(io, "vmmux check");
        const phases = flags.explore === undefined ? 2 : 3;
        const run = runScenario(scenario, {
          recordEvents: true,
          ...schedule,
          onProgress: progress.phase(`run 1 of ${phases}`),
        });
        progress.begin(`run 2 of ${phases} (determinism)`);
        const rerun = runScenario(scenario, {
          recordEvents: true,
          ...schedule,
          onProgress: progress.phase(`run 2 of ${phases} (determinism)`),
        });
        const judgements = judge(run, rerun, scenario.expect);
        if (flags.explore !== undefined) {
          judgements.push(
            judgeExplored(explore(scenario, flags.explore, progress), scenario.expect),
          );
        }
        progress.clear();
        const failed = judgements.filter((j) => !j.asExpected);
        if (flags.json === true) {
          io.out(`${JSON.stringify(runJson(run, judgements), null, 2)}\n`);
        } else {
          io.out(`${formatReport(run)}\n\noracles:\n${formatJudgements(judgements)}\n`);
        }
        if (out !== undefined) {
          const written = await writeRunArtefacts(out, run, file, flags, runJson(run, judgements));
          (flags.json === true ? io.err : io.out)(
            `artefacts: ${visibleControls(written.join(", "))}\n`,
          );
        }
        if (failed.length > 0) {
          io.err(
            `vmmux check: ${failed.map((j) => j.verdict.oracle).join(", ")} not as expected; seed ${run.seed}\n` +
              `replay: ${visibleControls(replayCommand(file, run.seed, flags.schedule))}\n`,
          );
          throw new ExitRequest(1);
        }
      },
    );
}
