/**
 * Deterministic sharding of an exploration campaign (issue 12 item 4): run `i` of a campaign
 * (schedule seed `firstSeed + i`) belongs to shard `(i mod n) + 1` of `n`, so a CI matrix of
 * `n` jobs covers every run exactly once, whatever the number of workers in each job.
 */

export interface Shard {
  /** 1-based. */
  readonly index: number;
  readonly count: number;
}

export const WHOLE: Shard = { index: 1, count: 1 };

export class ShardError extends Error {
  readonly code = "SHARD_BAD";
}

/** `"i/n"` with 1 ≤ i ≤ n ≤ 10000. */
export function parseShard(text: string): Shard {
  const m = /^(\d{1,5})\/(\d{1,5})$/.exec(text.trim());
  const index = Number(m?.[1]);
  const count = Number(m?.[2]);
  if (m === null || !(index >= 1 && index <= count && count <= 10_000)) {
    throw new ShardError(`shard '${text}' is not i/n with 1 <= i <= n <= 10000`);
  }
  return { index, count };
}

/** The schedule seeds of a campaign that fall to `shard`, ascending. */
export function shardSeeds(runs: number, firstSeed: number, shard: Shard = WHOLE): number[] {
  const out: number[] = [];
  for (let i = shard.index - 1; i < runs; i += shard.count) out.push(firstSeed + i);
  return out;
}
