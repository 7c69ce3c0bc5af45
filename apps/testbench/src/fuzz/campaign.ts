/**
 * `pnpm fuzz` / `vmmux fuzz` (issue 11 item 2): each hostile suite run for a number of
 * operations or minutes on a pool of workers, in batches. Batch `k` of a suite runs from a
 * seed derived from the campaign seed, the suite and `k`, and belongs to shard
 * `(k mod n) + 1` of `n`, so `n` machines with `--shard i/n` split one campaign without
 * overlap and any batch replays alone. A failing batch's shrunk script goes to the corpus.
 */
import { createRequire } from "node:module";
import { availableParallelism } from "node:os";
import { fileURLToPath, pathToFileURL } from "node:url";
import Tinypool from "tinypool";
import type { Shard } from "../explore/shard.js";
import {
  CORPUS_DIR,
  loadSuiteCorpus,
  SUITES,
  type SuiteName,
  violationKind,
  writeEntry,
} from "./corpus.js";
import { type BatchResult, type BatchTask, runBatch } from "./suites.js";
import type { SystemRunReport } from "./system.js";

/** Scripts per batch: about 20k transport or console operations, or five system runs. */
export const BATCH_RUNS: Record<SuiteName, number> = { transport: 40, console: 40, system: 5 };

export interface FuzzOptions {
  readonly suites: readonly SuiteName[];
  /** Operations per suite (this shard's share is `ops / n`); default 1,000,000 without `minutes`. */
  readonly ops?: number;
  /** Wall minutes per suite (instead of `ops`). */
  readonly minutes?: number;
  /** Worker processes; 0 runs in this thread. Default: the machine's available parallelism. */
  readonly workers?: number;
  readonly shard?: Shard;
  readonly seed?: number;
  /** A deliberately broken variant of the suite (only with one suite): the campaign must then fail. */
  readonly variant?: string;
  /** Where counterexamples are written (default the repository's `fuzz/corpus`). */
  readonly corpusDir?: string;
  /** Scripts per batch, by suite (default {@link BATCH_RUNS}). */
  readonly batchRuns?: Partial<Record<SuiteName, number>>;
  /**
   * Keep running after a failure (default: a suite stops issuing batches at its first); then
   * only the first failure of each kind (same violations but for numbers) is written.
   */
  readonly keepGoing?: boolean;
  /** Progress and result lines. */
  readonly onLine?: (text: string) => void;
  /** Each system run's report (the other guest's bytes, every PD's state). */
  readonly onSystemRun?: (report: SystemRunReport) => void;
}

export interface SuiteSummary {
  readonly suite: SuiteName;
  readonly batches: number;
  /** The seed of every batch run, in batch order (`--seed` of a batch replays it alone). */
  readonly batchSeeds: readonly number[];
  readonly scripts: number;
  readonly ops: number;
  readonly seconds: number;
  readonly opsPerSecond: number;
  /** Corpus files written, with what each violated. */
  readonly failures: readonly { readonly file: string; readonly violations: readonly string[] }[];
  /** Failing batches, all kinds included (more than `failures` only with `keepGoing`). */
  readonly failed: number;
}

export interface FuzzSummary {
  readonly seed: number;
  readonly shard: Shard;
  readonly suites: readonly SuiteSummary[];
  /** Corpus entries per suite after the campaign. */
  readonly corpus: Record<SuiteName, number>;
}

/** The seed of batch `k` of `suite`: a 32-bit mix of the campaign seed, suite and batch. */
export function batchSeed(seed: number, suite: SuiteName, k: number): number {
  let h =
    Math.imul(seed ^ 0x5bd1_e995, 0x9e37_79b1) ^ Math.imul(SUITES.indexOf(suite) + 1, 0x85eb_ca6b);
  h = Math.imul(h ^ (h >>> 15), 0x2c1b_3c6d) ^ Math.imul(k + 1, 0x27d4_eb2f);
  return (h ^ (h >>> 13)) | 0;
}

/** How a worker loads the batch module: built JS in threads, TypeScript through tsx in processes. */
function workerSetup() {
  const here = import.meta.url;
  if (here.endsWith(".js"))
    return {
      filename: fileURLToPath(new URL("./task.js", here)),
      runtime: "worker_threads" as const,
    };
  const tsx = createRequire(here).resolve("tsx/package.json");
  return {
    filename: fileURLToPath(new URL("./task.ts", here)),
    execArgv: [
      "--import",
      new URL("./dist/loader.mjs", pathToFileURL(tsx)).href,
      "--conditions=@vmmux/source",
    ],
    runtime: "child_process" as const,
  };
}

type Runner = (task: BatchTask) => Promise<BatchResult>;

async function runSuite(
  suite: SuiteName,
  options: FuzzOptions,
  run: Runner,
  parallel: number,
): Promise<SuiteSummary> {
  const seed = options.seed ?? 1;
  const shard = options.shard ?? { index: 1, count: 1 };
  const runs = options.batchRuns?.[suite] ?? BATCH_RUNS[suite];
  const target =
    options.minutes === undefined ? Math.ceil((options.ops ?? 1_000_000) / shard.count) : Infinity;
  const deadline =
    options.minutes === undefined ? Infinity : performance.now() + options.minutes * 60_000;
  const line = options.onLine ?? (() => {});
  const start = performance.now();
  let ops = 0;
  let scripts = 0;
  let batches = 0;
  let failed = 0;
  const seeds: number[] = [];
  const kinds = new Set<string>();
  let stop = false;
  let lastShown = start;
  const failures: { file: string; violations: readonly string[] }[] = [];
  const done = (r: BatchResult) => {
    batches++;
    ops += r.ops;
    scripts += r.scripts;
    for (const report of r.systemRuns ?? []) options.onSystemRun?.(report);
    if (r.entry !== undefined) failed++;
    if (r.entry !== undefined && !kinds.has(violationKind(r.entry.violations))) {
      kinds.add(violationKind(r.entry.violations));
      const file = writeEntry(r.entry, options.corpusDir ?? CORPUS_DIR);
      failures.push({ file, violations: r.entry.violations });
      line(`${suite}: FAILED in batch seed ${r.seed}: ${r.entry.violations.join("; ")}`);
      line(`${suite}: counterexample (${r.entry.script?.length ?? "seed"} ops) written to ${file}`);
      if (options.keepGoing !== true) stop = true;
    }
    const now = performance.now();
    if (now - lastShown > 10_000) {
      lastShown = now;
      line(`${suite}: ${ops} ops, ${Math.round(ops / ((now - start) / 1000))} ops/s`);
    }
  };
  const inFlight = new Set<Promise<void>>();
  // Batch k of the suite belongs to shard (k mod n) + 1.
  for (let k = shard.index - 1; ; k += shard.count) {
    if (stop || ops >= target || performance.now() >= deadline) break;
    const task: BatchTask = {
      suite,
      seed: batchSeed(seed, suite, k),
      runs,
      ...(options.variant === undefined ? {} : { variant: options.variant }),
    };
    seeds.push(task.seed);
    const p: Promise<void> = run(task).then((r) => {
      inFlight.delete(p);
      done(r);
    });
    inFlight.add(p);
    // Every worker busy with one batch, no more: the ops target is then overshot by at most
    // `parallel` batches.
    if (inFlight.size >= parallel) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
  const seconds = (performance.now() - start) / 1000;
  return {
    suite,
    batches,
    batchSeeds: seeds,
    scripts,
    ops,
    seconds,
    opsPerSecond: seconds > 0 ? ops / seconds : 0,
    failures,
    failed,
  };
}

/** Run the campaign; the summary says what ran, how fast, and what was written to the corpus. */
export async function runFuzz(options: FuzzOptions): Promise<FuzzSummary> {
  if (options.variant !== undefined && options.suites.length !== 1)
    throw new RangeError("a broken variant applies to one suite: give --suite too");
  const workers = Math.max(0, options.workers ?? availableParallelism());
  const pool =
    workers === 0
      ? undefined
      : new Tinypool({ ...workerSetup(), minThreads: workers, maxThreads: workers });
  const run: Runner =
    pool === undefined
      ? async (task) => runBatch(task)
      : (task) => pool.run(task) as Promise<BatchResult>;
  const suites: SuiteSummary[] = [];
  try {
    for (const suite of options.suites) {
      const s = await runSuite(suite, options, run, Math.max(1, workers));
      suites.push(s);
      options.onLine?.(formatSuite(s));
    }
  } finally {
    await pool?.destroy();
  }
  const dir = options.corpusDir ?? CORPUS_DIR;
  const corpus = Object.fromEntries(
    SUITES.map((s) => [s, loadSuiteCorpus(s, dir).length]),
  ) as Record<SuiteName, number>;
  return {
    seed: options.seed ?? 1,
    shard: options.shard ?? { index: 1, count: 1 },
    suites,
    corpus,
  };
}

const count = (n: number) => Math.round(n).toLocaleString("en-GB");

export function formatSuite(s: SuiteSummary): string {
  return `${s.suite}: ${count(s.ops)} ops in ${count(s.scripts)} scripts (${s.batches} batches), ${s.seconds.toFixed(1)} s, ${count(s.opsPerSecond)} ops/s, ${s.failed === 0 ? "clean" : `${s.failed} failing batch(es), ${s.failures.length} kind(s) kept`}`;
}

export function formatSummary(f: FuzzSummary): string {
  const ops = f.suites.reduce((n, s) => n + s.ops, 0);
  const failed = f.suites.reduce((n, s) => n + s.failed, 0);
  const corpus = SUITES.map((s) => `${s} ${f.corpus[s]}`).join(", ");
  return `fuzz: ${f.suites.length} suite(s), ${count(ops)} ops, ${failed === 0 ? "clean" : `${failed} failing batch(es)`}; seed ${f.seed}, shard ${f.shard.index}/${f.shard.count}; corpus: ${corpus}`;
}
