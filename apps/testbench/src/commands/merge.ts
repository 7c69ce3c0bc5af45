/**
 * `vmmux merge <shard.json...>` (issue 12 item 4): join the `--explore-out` results of the
 * shards of one `check --explore n --shard i/n` campaign (one CI job per shard) into the one
 * `wakeups` verdict a single exploration gives; exit 1 when it is not as the scenario expects,
 * naming the schedule to replay.
 */
import { readFileSync } from "node:fs";
import type { Command } from "commander";
import type { Io } from "../commands.js";
import { MergeError, mergeExploreResults } from "../explore/merge.js";
import type { ExploreShardResult } from "../explore/pool.js";
import { formatJudgements } from "../report.js";
import { loadScenario, withKnobs } from "../scenario.js";
import { visibleControls } from "../terminal-queries.js";
import { ExitRequest, replayCommand } from "./common.js";

function readShard(file: string): ExploreShardResult {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    throw new MergeError(`${file}: cannot be read`);
  }
  try {
    return JSON.parse(text) as ExploreShardResult;
  } catch (error) {
    throw new MergeError(`${file}: not JSON (${(error as Error).message})`);
  }
}

export function registerMergeCommand(program: Command, io: Io): void {
  program
    .command("merge")
    .description("merge the --explore-out results of a sharded check --explore into one verdict")
    .argument(
      "<results...>",
      "one JSON file per shard (check --explore n --shard i/n --explore-out)",
    )
    .option("--json", "print the merged runs and verdict as JSON")
    .action((files: string[], flags: { json?: boolean }) => {
      const shards = files.map(readShard);
      const first = shards[0]!;
      // The scenario's expectations decide whether a violation is a finding or a failure.
      const scenario = withKnobs(loadScenario(first.scenario), first.overrides ?? {});
      const merged = mergeExploreResults(shards, scenario.expect);
      const j = merged.judgement;
      if (flags.json === true) {
        io.out(
          `${JSON.stringify(
            {
              scenario: first.scenario,
              runs: first.runs,
              shards: first.shard.count,
              explored: merged.explored,
              oracle: j.verdict.oracle,
              ok: j.verdict.ok,
              expected: j.expected,
              asExpected: j.asExpected,
              findings: j.verdict.findings,
              notes: j.verdict.notes,
            },
            null,
            2,
          )}\n`,
        );
      } else {
        io.out(
          `${first.shard.count} shard(s) of ${visibleControls(first.scenario)}, ${merged.explored.length} run(s) judged\n${formatJudgements([j])}\n`,
        );
      }
      if (!j.asExpected) {
        const stranded = merged.explored.find((r) => !r.verdict.ok)?.seed;
        io.err(
          `vmmux merge: wakeups not as expected\n${
            stranded === undefined
              ? ""
              : `replay: ${visibleControls(replayCommand(first.scenario, scenario.knobs.seed, stranded))}\n`
          }`,
        );
        throw new ExitRequest(1);
      }
    });
}
