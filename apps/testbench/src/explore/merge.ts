/**
 * One verdict from the shards of a campaign (`--shard i/n` on n machines): the shards must
 * be of the same campaign and together cover every shard once; their runs are joined in seed
 * order and cut at the first violation as one exploration would be.
 */

import type { Judgement } from "../oracles/verdict.js";
import { type ExploredRun, judgeExplored } from "../oracles.js";
import type { Expectations } from "../scenario.js";
import { type ExploreShardResult, inSeedOrder } from "./pool.js";

export class MergeError extends Error {
  readonly code = "MERGE_BAD";
}

export interface MergedExplore {
  readonly explored: readonly ExploredRun[];
  /** The `wakeups` judgement over every run, as `check --explore` gives it. */
  readonly judgement: Judgement;
}

const campaign = (r: ExploreShardResult) =>
  JSON.stringify([
    r.scenario,
    r.overrides,
    r.runs,
    r.firstSeed,
    r.spread,
    r.stopAtFirst,
    r.shard.count,
  ]);

export function mergeExploreResults(
  shards: readonly ExploreShardResult[],
  expect?: Expectations,
): MergedExplore {
  const first = shards[0];
  if (first === undefined) throw new MergeError("no shard results to merge");
  for (const s of shards) {
    if (s.format !== "vmmux-explore/1")
      throw new MergeError(`not an exploration result (format ${JSON.stringify(s.format)})`);
    if (campaign(s) !== campaign(first)) {
      throw new MergeError(
        `shard ${s.shard.index}/${s.shard.count} is of another campaign than shard ${first.shard.index}/${first.shard.count} (scenario, knobs, runs, seeds, spread or shard count differ)`,
      );
    }
  }
  const seen = new Set(shards.map((s) => s.shard.index));
  if (seen.size !== shards.length) throw new MergeError("a shard is given more than once");
  const missing: number[] = [];
  for (let i = 1; i <= first.shard.count; i++) if (!seen.has(i)) missing.push(i);
  if (missing.length > 0) {
    throw new MergeError(
      `shard(s) ${missing.map((i) => `${i}/${first.shard.count}`).join(", ")} missing`,
    );
  }
  const explored = inSeedOrder(
    shards.flatMap((s) => s.explored),
    first.stopAtFirst,
  );
  return { explored, judgement: judgeExplored(explored, expect) };
}
