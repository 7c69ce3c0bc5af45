/**
 * Exploration on every core (issue 12 item 4): the perturbed runs of `check --explore` spread
 * over a tinypool of worker threads, one shard of the campaign at a time. Results come back
 * in seed order and are cut at the first violation exactly as a sequential exploration is,
 * so they are the same for any number of workers and, merged (`merge.ts`), any sharding.
 *
 * Workers run the built JavaScript (`dist/explore/task.js`) when this module is built, and
 * the TypeScript sources through tsx when it runs from sources (vitest, `vmmux:dev`).
 */

import { createRequire } from "node:module";
import { availableParallelism } from "node:os";
import { fileURLToPath, pathToFileURL } from "node:url";
import Tinypool from "tinypool";
import type { Knobs } from "../scenario.js";
import { type Shard, shardSeeds, WHOLE } from "./shard.js";
import { type ExploreTask, type ExploreTaskResult, runExploreTask } from "./task.js";

export interface ParallelExploreOptions {
  readonly scenarioFile: string;
  /** Knob overrides applied to the loaded scenario (`--seed`, `--no-colour`, ...). */
  readonly overrides?: Partial<Knobs>;
  /** Runs in the whole campaign. */
  readonly runs: number;
  readonly firstSeed?: number;
  readonly spread?: number;
  readonly shard?: Shard;
  /** Worker threads; 0 runs in this thread. Default: the machine's available parallelism. */
  readonly workers?: number;
  /** Stop at the first violation, in seed order (default true). */
  readonly stopAtFirst?: boolean;
  /** Called as each run finishes (in completion order). */
  readonly onRun?: (done: number, total: number) => void;
}

/** One shard's results, as JSON a CI job can keep and `mergeExploreResults` can join. */
export interface ExploreShardResult {
  readonly format: "vmmux-explore/1";
  readonly scenario: string;
  readonly overrides: Partial<Knobs>;
  readonly runs: number;
  readonly firstSeed: number;
  readonly spread: number | null;
  readonly stopAtFirst: boolean;
  readonly shard: Shard;
  /** Judged runs in seed order; after the first violation none when `stopAtFirst`. */
  readonly explored: readonly ExploreTaskResult[];
}

/** Results in seed order, cut after the first violation when asked. */
export function inSeedOrder(
  results: readonly ExploreTaskResult[],
  stopAtFirst: boolean,
): ExploreTaskResult[] {
  const sorted = [...results].sort((a, b) => a.seed - b.seed);
  if (!stopAtFirst) return sorted;
  const first = sorted.findIndex((r) => !r.verdict.ok);
  return first < 0 ? sorted : sorted.slice(0, first + 1);
}

/**
 * How a worker loads the task module: built JS in worker threads; the TypeScript sources
 * through tsx in child processes (Node 20's worker threads take no loader from `--import`).
 */
function workerSetup(): {
  filename: string;
  execArgv: string[];
  runtime: "worker_threads" | "child_process";
} {
  const here = import.meta.url;
  if (here.endsWith(".js")) {
    return {
      filename: fileURLToPath(new URL("./task.js", here)),
      execArgv: [],
      runtime: "worker_threads",
    };
  }
  const tsx = createRequire(here).resolve("tsx/package.json");
  const loader = new URL("./dist/loader.mjs", pathToFileURL(tsx)).href;
  return {
    filename: fileURLToPath(new URL("./task.ts", here)),
    execArgv: ["--import", loader, "--conditions=@vmmux/source"],
    runtime: "child_process",
  };
}

/** Run one shard of an exploration campaign on `workers` threads. */
export async function exploreParallel(
  options: ParallelExploreOptions,
): Promise<ExploreShardResult> {
  const firstSeed = options.firstSeed ?? 1;
  const shard = options.shard ?? WHOLE;
  const stopAtFirst = options.stopAtFirst ?? true;
  const overrides = options.overrides ?? {};
  const seeds = shardSeeds(options.runs, firstSeed, shard);
  const task = (seed: number): ExploreTask => ({
    scenarioFile: options.scenarioFile,
    overrides,
    seed,
    ...(options.spread === undefined ? {} : { spread: options.spread }),
  });
  const workers = Math.min(options.workers ?? availableParallelism(), seeds.length);
  const results: ExploreTaskResult[] = [];
  const done = (r: ExploreTaskResult) => {
    results.push(r);
    options.onRun?.(results.length, seeds.length);
  };
  if (workers <= 0) {
    for (const seed of seeds) {
      const r = runExploreTask(task(seed));
      done(r);
      if (!r.verdict.ok && stopAtFirst) break;
    }
  } else {
    const pool = new Tinypool({ ...workerSetup(), minThreads: workers, maxThreads: workers });
    try {
      /** Lowest violating seed so far: later seeds cannot change the cut result. */
      let cut = Number.POSITIVE_INFINITY;
      const inFlight = new Set<Promise<void>>();
      for (const seed of seeds) {
        if (seed > cut) break;
        const p: Promise<void> = (pool.run(task(seed)) as Promise<ExploreTaskResult>).then((r) => {
          inFlight.delete(p);
          done(r);
          if (!r.verdict.ok && stopAtFirst) cut = Math.min(cut, seed);
        });
        inFlight.add(p);
        // Keep every worker busy with one task queued behind it, no more.
        if (inFlight.size >= workers * 2) await Promise.race(inFlight);
      }
      await Promise.all(inFlight);
    } finally {
      await pool.destroy();
    }
  }
  return {
    format: "vmmux-explore/1",
    scenario: options.scenarioFile,
    overrides,
    runs: options.runs,
    firstSeed,
    spread: options.spread ?? null,
    stopAtFirst,
    shard,
    explored: inSeedOrder(results, stopAtFirst),
  };
}
