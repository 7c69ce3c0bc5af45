/**
 * Exploration on every core (issue 12 item 4): the perturbed runs of `check --explore` spread
 * over this thread and a tinypool of worker threads, one shard of the campaign at a time.
 * Results come back in seed order and are cut at the first violation exactly as a sequential
 * exploration is, so they are the same for any number of workers and, merged (`merge.ts`),
 * any sharding.
 *
 * This thread takes runs too, between handing runs to the pool: it has the code loaded and,
 * after `check`'s own runs, compiled hot, while each pool thread first loads the modules and
 * warms its JIT (measured on sddf-clients: about 0.9 CPU s a thread, ~15 runs' worth), which
 * `Exploration` starts before `check`'s runs. So `workers` counts this thread: n > 1 starts
 * n - 1 pool threads, 1 or 0 starts none.
 *
 * Workers run the built JavaScript (`dist/explore/task.js`) when this module is built, and
 * the TypeScript sources through tsx when it runs from sources (vitest, `vmmux:dev`).
 */

import { createRequire } from "node:module";
import { availableParallelism } from "node:os";
import { setImmediate as nextTurn } from "node:timers/promises";
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
  /**
   * Threads that run the campaign, this one included: n > 1 adds n - 1 pool threads; 0 or 1
   * runs it all in this thread. Default: the machine's available parallelism.
   */
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

/**
 * Runs a pool thread holds, its current one included: it starts the next without waiting for
 * this thread, which hands out runs only between its own (with 2, a pool thread waited ~10% of
 * its time for one while this thread ran one). Near the end it holds one, so that this thread
 * does not idle while a pool thread works through a queue.
 */
const QUEUED_PER_WORKER = 3;
/** Below this many runs left per thread, pool threads hold one run at a time. */
const TAPER_PER_THREAD = 4;

/**
 * One shard of an exploration campaign, its pool threads started (and warming up) as soon as
 * it is made: `vmmux check` makes it before its own two runs, so the threads load the code and
 * compile it hot beside those runs instead of after them (sddf-clients, 64 runs, a loaded
 * 2-core machine: the pool thread then takes ~30 runs, ~23 when started after them). `run`
 * explores once; `close` stops the threads of one that will not run.
 */
export class Exploration {
  readonly #options: ParallelExploreOptions;
  readonly #seeds: readonly number[];
  readonly #poolThreads: number;
  readonly #pool: Tinypool | undefined;
  #started = false;

  constructor(options: ParallelExploreOptions) {
    this.#options = options;
    this.#seeds = shardSeeds(options.runs, options.firstSeed ?? 1, options.shard ?? WHOLE);
    this.#poolThreads = Math.max(
      0,
      Math.min(options.workers ?? availableParallelism(), this.#seeds.length) - 1,
    );
    if (this.#poolThreads === 0) return;
    this.#pool = new Tinypool({
      ...workerSetup(),
      minThreads: this.#poolThreads,
      maxThreads: this.#poolThreads,
      concurrentTasksPerWorker: QUEUED_PER_WORKER,
    });
    // Each pool thread warms up on the campaign's first seed: loads the modules, the scenario
    // and its system, and compiles the hot code (sddf-clients in a fresh thread: ~0.3 s to
    // load, ~0.45 s for the run, against ~0.05 s warm; a second warm-up run would not fit in
    // `check`'s runs). The threads start ready (tinypool's start-up), so each warm-up goes to
    // its own thread now, even while this thread runs `check`'s runs without turning its
    // event loop. The verdict is dropped, so the exploration is the same with or without it
    // (a run does not depend on the runs before it in its thread); a failure shows again in
    // the counted runs, and the pool's end stops a warm-up still running.
    const first = this.#task(this.#seeds[0]!);
    for (let t = 0; t < this.#poolThreads; t++) this.#pool.run(first).catch(() => {});
  }

  #task(seed: number): ExploreTask {
    const { spread } = this.#options;
    return {
      scenarioFile: this.#options.scenarioFile,
      overrides: this.#options.overrides ?? {},
      seed,
      ...(spread === undefined ? {} : { spread }),
    };
  }

  /** Stop the pool threads (an exploration that will not run, or after it ran). */
  async close(): Promise<void> {
    await this.#pool?.destroy();
  }

  /** Explore the shard on this thread and the pool's, then close the pool. */
  async run(): Promise<ExploreShardResult> {
    if (this.#started) throw new Error("an exploration runs once");
    this.#started = true;
    try {
      return await this.#explore();
    } finally {
      await this.close();
    }
  }

  async #explore(): Promise<ExploreShardResult> {
    const options = this.#options;
    const firstSeed = options.firstSeed ?? 1;
    const shard = options.shard ?? WHOLE;
    const stopAtFirst = options.stopAtFirst ?? true;
    const overrides = options.overrides ?? {};
    const seeds = this.#seeds;
    const pool = this.#pool;
    const poolThreads = this.#poolThreads;
    const task = (seed: number) => this.#task(seed);
    const results: ExploreTaskResult[] = [];
    /** Lowest violating seed so far: later seeds cannot change the cut result. */
    let cut = Number.POSITIVE_INFINITY;
    const done = (r: ExploreTaskResult) => {
      results.push(r);
      if (!r.verdict.ok && stopAtFirst) cut = Math.min(cut, r.seed);
      options.onRun?.(results.length, seeds.length);
    };
    let next = 0;
    /** The next seed to run, in seed order; none once the seeds run out or pass the cut. */
    const take = (): number | undefined => {
      const seed = seeds[next];
      if (seed === undefined || seed > cut) return undefined;
      next++;
      return seed;
    };
    const inFlight = new Set<Promise<void>>();
    let failure: { error: unknown } | undefined;
    const handOut = () => {
      while (pool !== undefined && failure === undefined) {
        const left = seeds.length - next;
        const depth = left > TAPER_PER_THREAD * (poolThreads + 1) ? QUEUED_PER_WORKER : 1;
        if (inFlight.size >= poolThreads * depth) return;
        const seed = take();
        if (seed === undefined) return;
        const p: Promise<void> = (pool.run(task(seed)) as Promise<ExploreTaskResult>).then(
          (r) => {
            inFlight.delete(p);
            done(r);
            handOut();
          },
          (error: unknown) => {
            inFlight.delete(p);
            failure ??= { error };
          },
        );
        inFlight.add(p);
      }
    };
    handOut();
    for (let seed = take(); seed !== undefined && failure === undefined; seed = take()) {
      done(runExploreTask(task(seed)));
      if (pool === undefined) continue;
      // Let the pool's finished runs in, and hand it more, before this thread takes the next.
      await nextTurn();
      handOut();
    }
    while (inFlight.size > 0) await Promise.race(inFlight);
    if (failure !== undefined) throw failure.error;
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
}

/** Run one shard of an exploration campaign on `workers` threads, this one included. */
export function exploreParallel(options: ParallelExploreOptions): Promise<ExploreShardResult> {
  return new Exploration(options).run();
}
