/**
 * Exploration on a worker pool gives the same runs and verdicts as one thread, for 1, 2 and
 * 4 workers (this thread taking runs beside the pool's), and sharded 1/3..3/3 then merged,
 * also with the pool started and warmed up while this thread runs `check`'s runs; a
 * run's verdict does not depend on the runs a thread ran before it; the cut at the first
 * violation is the sequential one whichever thread ran the violating seed; merging refuses
 * incomplete or mixed campaigns.
 */
import { fileURLToPath } from "node:url";
import { describe, expect, test } from "vitest";
import type { Verdict } from "../oracles/verdict.js";
import { exploreWakeups } from "../oracles.js";
import { runJson } from "../report.js";
import { runScenario, scenarioSystem } from "../run.js";
import { loadScenario } from "../scenario.js";
import { checkScenario } from "../system/check.js";
import { MergeError, mergeExploreResults } from "./merge.js";
import { Exploration, type ExploreShardResult, exploreParallel, inSeedOrder } from "./pool.js";
import { parseShard, ShardError, shardSeeds } from "./shard.js";

const bundled = (name: string) =>
  fileURLToPath(new URL(`../../../../traces/scenarios/${name}`, import.meta.url));
const scenarioFile = bundled("wakeup-window.json");
const RUNS = 8;

const verdict = (ok: boolean): Verdict => ({
  oracle: "wakeups",
  ok,
  findings: ok ? [] : ["stranded"],
  notes: [],
});

describe("shards", () => {
  test("1/3..3/3 cover every run once", () => {
    const parts = [1, 2, 3].map((index) => shardSeeds(10, 5, { index, count: 3 }));
    expect(parts[0]).toEqual([5, 8, 11, 14]);
    expect(parts.flat().sort((a, b) => a - b)).toEqual(shardSeeds(10, 5));
  });

  test("parse i/n, and refuse what is not", () => {
    expect(parseShard("2/3")).toEqual({ index: 2, count: 3 });
    for (const bad of ["0/3", "4/3", "1/0", "a/b", "1/3/4", ""])
      expect(() => parseShard(bad)).toThrow(ShardError);
  });

  test("results in seed order are cut after the first violation, as one thread cuts them", () => {
    const results = [7, 3, 5, 1].map((seed) => ({
      seed,
      verdict: verdict(seed !== 5 && seed !== 7),
    }));
    expect(inSeedOrder(results, true).map((r) => r.seed)).toEqual([1, 3, 5]);
    expect(inSeedOrder(results, false).map((r) => r.seed)).toEqual([1, 3, 5, 7]);
  });
});

describe("exploration on a worker pool", () => {
  test("1, 2 and 4 workers, and 3 shards merged, give what one thread gives", async () => {
    const sequential = exploreWakeups(loadScenario(scenarioFile), {
      runs: RUNS,
      stopAtFirst: false,
    });
    expect(sequential).toHaveLength(RUNS);
    const whole = (workers: number) =>
      exploreParallel({ scenarioFile, runs: RUNS, workers, stopAtFirst: false });
    for (const workers of [1, 2, 4]) {
      const r = await whole(workers);
      expect(r.explored).toEqual(sequential);
    }
    const shards: ExploreShardResult[] = [];
    for (const index of [3, 1, 2]) {
      shards.push(
        await exploreParallel({
          scenarioFile,
          runs: RUNS,
          workers: 2,
          stopAtFirst: false,
          shard: { index, count: 3 },
        }),
      );
    }
    // Shards travel as JSON between CI jobs.
    const merged = mergeExploreResults(shards.map((s) => JSON.parse(JSON.stringify(s))));
    expect(merged.explored).toEqual(sequential);
    expect(merged.judgement.verdict.ok).toBe(true);
  }, 120_000);

  test("a pool started before check's two runs, warming up while they run, gives what one thread gives", async () => {
    const sequential = exploreWakeups(loadScenario(scenarioFile), {
      runs: RUNS,
      stopAtFirst: false,
    });
    for (const workers of [1, 2, 4]) {
      const exploration = new Exploration({
        scenarioFile,
        runs: RUNS,
        workers,
        stopAtFirst: false,
      });
      // As `vmmux check --explore`: this thread runs the scenario twice (without turning its
      // event loop) while the pool threads start and warm up, then explores.
      checkScenario(loadScenario(scenarioFile), { keepWire: false });
      const r = await exploration.run();
      expect(r.explored, `${workers} workers`).toEqual(sequential);
      await expect(exploration.run()).rejects.toThrow(/runs once/);
    }
    // One that never runs (check's own runs failed) stops its threads.
    await new Exploration({ scenarioFile, runs: RUNS, workers: 3 }).close();
  }, 120_000);

  test("a run's verdict is the same after other runs in its thread as alone in a fresh one", () => {
    // This thread and each pool thread run several seeds in a row on one loaded scenario.
    const inARow = exploreWakeups(loadScenario(scenarioFile), { runs: RUNS, stopAtFirst: false });
    for (const seed of [RUNS, 1, 5]) {
      const alone = exploreWakeups(loadScenario(scenarioFile), { runs: 1, firstSeed: seed });
      expect(alone).toEqual([inARow[seed - 1]]);
    }
  }, 60_000);

  test("runs on one system description parsed once give the digests and report JSON of runs that parse it", () => {
    // What each exploring thread does (task.ts): one parse, then runs in a row on it.
    const names = ["sddf-clients", "sdfgen-clients", "vm-restart", "wakeup-window"];
    for (const name of names) {
      const scenario = loadScenario(bundled(`${name}.json`));
      const system = scenarioSystem(scenario);
      for (const seed of [3, 4]) {
        const schedule = { seed };
        const parsed = runScenario(scenario, { keepWire: false, schedule });
        const shared = runScenario(scenario, { keepWire: false, schedule, system });
        expect(shared.digest, `${name} seed ${seed}`).toBe(parsed.digest);
        expect(JSON.stringify(runJson(shared))).toBe(JSON.stringify(runJson(parsed)));
      }
    }
  }, 120_000);

  test("the cut at the first violation is the sequential one on 1, 2 and 3 threads", async () => {
    // vmm-wakeup.json strands a producer on schedule seed 2 (vmm-wakeup.test.ts).
    const file = bundled("vmm-wakeup.json");
    const sequential = exploreWakeups(loadScenario(file), { runs: 6 });
    expect(sequential.map((r) => [r.seed, r.verdict.ok])).toEqual([
      [1, true],
      [2, false],
    ]);
    for (const workers of [1, 2, 3]) {
      const r = await exploreParallel({ scenarioFile: file, runs: 6, workers });
      expect(r.explored).toEqual(sequential);
    }
  }, 120_000);

  test("merging refuses a missing shard, a repeated one and another campaign's", async () => {
    const part = (index: number, runs = 3) =>
      exploreParallel({ scenarioFile, runs, workers: 0, shard: { index, count: 2 } });
    const [a, b, other] = [await part(1), await part(2), await part(2, 4)];
    expect(() => mergeExploreResults([a])).toThrow(/2\/2 missing/);
    expect(() => mergeExploreResults([a, a, b])).toThrow(MergeError);
    expect(() => mergeExploreResults([a, other])).toThrow(/another campaign/);
    expect(mergeExploreResults([b, a]).explored.map((r) => r.seed)).toEqual([1, 2, 3]);
  }, 60_000);
});
