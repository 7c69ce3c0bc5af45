/**
 * One measured run in its own process, so its max RSS is its own (`engine.bench.ts` starts
 * it). Prints one JSON line: wall ms of the work alone (process start excluded), virtual
 * seconds, wire bytes, CPU ms of the work, max RSS and the live heap at the end in MB, and what
 * the kind adds.
 */
import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { streamedArtefacts, writeRunArtefacts } from "../src/commands/replay.js";
import { Exploration as ExplorationFromSources } from "../src/explore/pool.js";
import { runMetrics } from "../src/metrics.js";
import { OutputDir } from "../src/output-dir.js";
import { runScenario } from "../src/run.js";
import { loadScenario, looped, parseScenario, type Scenario, withKnobs } from "../src/scenario.js";
import { checkScenario } from "../src/system/check.js";
import { syntheticCast, syntheticScenario } from "../src/testing/synthetic.js";

export type ChildSpec =
  | { readonly kind: "replay" | "check" | "out"; readonly scenario: ScenarioSpec }
  | {
      readonly kind: "explore";
      readonly file: string;
      readonly runs: number;
      readonly workers: number;
      /** Start the pool after check's runs, cold (as before `Exploration`); default false. */
      readonly coldPool?: boolean;
    };

/**
 * A bundled scenario file (optionally cut short), both VM guests printing without pause, or a
 * generated system of `vms` VMs booting the two recorded guests in turn.
 */
export type ScenarioSpec =
  | { readonly file: string; readonly seconds?: number }
  | { readonly saturatedMiB: number; readonly baud?: number }
  | { readonly vms: number };

/** Default wire rate of the saturated case: the fastest the driver allows at its 24 MHz UARTCLK. */
const SATURATED_BAUD = 1_500_000;
const CHUNK = 1024;

function saturated(mib: number, baud = SATURATED_BAUD): Scenario {
  const line = `${"x".repeat(CHUNK - 2)}\r\n`;
  // Each guest prints half the output, a chunk every 2 ms (faster than the wire drains).
  const chunks = (mib * 1024 * 1024) / CHUNK / 2;
  const cast = syntheticCast([[0.001, line]]);
  const trace = looped(cast, { times: chunks, gap: 0.001, speed: 1 });
  const s = syntheticScenario({
    kind: "vm",
    guests: [{ output: [] }, { output: [] }],
    knobs: { baud, durationLimit: (mib * 1024 * 1024 * 10) / baud + 2 },
  });
  return { ...s, guests: s.guests.map((g) => ({ ...g, trace })) };
}

/** `vms` VMs on the system `vmmux gen --vms <n>` writes, guest i replaying recorded boot i mod 2. */
function manyVms(vms: number): Scenario {
  const recorded = new URL("../../../traces/recorded/", import.meta.url);
  const guests = Array.from({ length: vms }, (_, i) => ({
    name: `guest${i + 1}`,
    kind: "vm",
    pd: `CLIENT_VMM_${i}`,
    trace: new URL(`qemu-arm64-guest${(i % 2) + 1}.cast`, recorded).pathname,
  }));
  const text = JSON.stringify({ system: { gen: { vms } }, guests });
  return parseScenario(text, fileURLToPath(new URL(`vms${vms}.json`, recorded)));
}

function scenarioOf(spec: ScenarioSpec): Scenario {
  if ("saturatedMiB" in spec) return saturated(spec.saturatedMiB, spec.baud);
  if ("vms" in spec) return manyVms(spec.vms);
  const s = loadScenario(spec.file);
  return spec.seconds === undefined ? s : withKnobs(s, { durationLimit: spec.seconds });
}

async function main(spec: ChildSpec): Promise<Record<string, unknown>> {
  if (spec.kind === "explore") {
    // As `vmmux check --explore` runs: the built pool (worker threads) when there is a build;
    // from sources its workers are child processes that compile the sources through tsx first.
    const built = new URL("../dist/explore/pool.js", import.meta.url);
    const from = (path: string) => new URL(`../dist/${path}`, import.meta.url).href;
    const dist = existsSync(built);
    const { Exploration } = dist
      ? ((await import(built.href)) as { Exploration: typeof ExplorationFromSources })
      : { Exploration: ExplorationFromSources };
    const warm = dist
      ? {
          ...((await import(from("system/check.js"))) as { checkScenario: typeof checkScenario }),
          ...((await import(from("scenario.js"))) as { loadScenario: typeof loadScenario }),
        }
      : { checkScenario, loadScenario };
    // `check` loads the scenario, starts the exploration's pool threads (they warm up), runs
    // the scenario twice in this thread (which takes runs of the exploration too), then
    // explores: only the exploration is timed.
    const scenario = warm.loadScenario(spec.file);
    const prepare = () =>
      new Exploration({
        scenarioFile: spec.file,
        runs: spec.runs,
        workers: spec.workers,
        stopAtFirst: false,
      });
    const early = spec.coldPool === true ? undefined : prepare();
    warm.checkScenario(scenario);
    const started = performance.now();
    const r = await (early ?? prepare()).run();
    return { wallMs: performance.now() - started, runs: r.explored.length, built: dist };
  }
  const scenario = scenarioOf(spec.scenario);
  const started = performance.now();
  if (spec.kind === "check") {
    const { run } = checkScenario(scenario);
    const m = runMetrics(run);
    return { wallMs: performance.now() - started, virtual: m.virtualTime, wire: m.wireBytes };
  }
  if (spec.kind === "out") {
    // As `replay --out` does (its own functions): the terminal cast and the timeline streamed to
    // their files during the run, the report's timeline summarised alongside, no log or wire
    // kept; then the report JSON and the HTML report (its recording read back from the cast).
    const dir = mkdtempSync(join(tmpdir(), "vmmux-bench-"));
    const out = OutputDir.prepare(dir);
    const file = "file" in spec.scenario ? spec.scenario.file : "generated.json";
    const streamed = streamedArtefacts(out, file, {});
    const run = runScenario(scenario, { recordEvents: true, ...streamed.runOptions });
    const written = await writeRunArtefacts(out, run, file, {}, undefined, streamed);
    const perfetto = written.find((p) => p.includes(".perfetto.json"))!;
    const bytes = statSync(perfetto).size;
    rmSync(dir, { recursive: true });
    const m = runMetrics(run);
    return {
      wallMs: performance.now() - started,
      virtual: m.virtualTime,
      wire: m.wireBytes,
      perfettoMB: bytes / 1e6,
    };
  }
  const run = runScenario(scenario, { keepWire: false });
  const m = runMetrics(run);
  return {
    wallMs: performance.now() - started,
    virtual: m.virtualTime,
    wire: m.wireBytes,
    written: m.guests.reduce((n, g) => n + g.bytesWritten, 0),
  };
}

const spec = JSON.parse(process.argv[2]!) as ChildSpec;
const cpuStart = process.cpuUsage();
const result = await main(spec);
// CPU time of this process during the work (its own threads): steadier than wall time on a
// machine shared with other jobs.
const cpu = process.cpuUsage(cpuStart);
// Max RSS includes garbage V8 had not yet collected; the live heap after a full collection
// is what the run really keeps.
(globalThis as { gc?: () => void }).gc?.();
console.log(
  JSON.stringify({
    ...result,
    cpuMs: (cpu.user + cpu.system) / 1000,
    maxRssMB: process.resourceUsage().maxRSS / 1024,
    liveHeapMB: process.memoryUsage().heapUsed / 1e6,
  }),
);
