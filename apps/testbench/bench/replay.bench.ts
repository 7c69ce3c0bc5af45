/**
 * Replay speed of the bundled scenarios. Numbers are ratios against a baseline measured in
 * this process (the default scenario, no event log), and against real time (virtual
 * seconds simulated per wall second). Run: `pnpm --filter @vmmux/testbench bench`.
 */
import { fileURLToPath } from "node:url";
import { type RunOptions, runScenario } from "../src/run.js";
import { loadScenario, type Scenario, withKnobs } from "../src/scenario.js";

const scenarioPath = (name: string) =>
  fileURLToPath(new URL(`../../../traces/scenarios/${name}`, import.meta.url));

interface Case {
  readonly name: string;
  readonly scenario: Scenario;
  readonly options: RunOptions;
  /** Runs to take the best of (default `VMMUX_BENCH_REPEATS`). */
  readonly repeats?: number;
}

const base = loadScenario(scenarioPath("sddf-clients.json"));
const cases: Case[] = [
  { name: "sddf-clients (baseline)", scenario: base, options: {} },
  { name: "sddf-clients + event log", scenario: base, options: { recordEvents: true } },
  { name: "sddf-clients, QEMU UART", scenario: withKnobs(base, { uart: "qemu" }), options: {} },
  { name: "sddf-clients, colour off", scenario: withKnobs(base, { colour: false }), options: {} },
  { name: "starved", scenario: loadScenario(scenarioPath("starved.json")), options: {} },
  // Two VMMs with Linux guests that spin through trapped WFIs: far more kernel events.
  {
    name: "default: two VMMs",
    scenario: loadScenario(scenarioPath("default.json")),
    options: {},
    repeats: 1,
  },
];

const repeats = Number(process.env.VMMUX_BENCH_REPEATS ?? 5);

function measure(c: Case) {
  let best = Number.POSITIVE_INFINITY;
  let virtualSeconds = 0;
  let events = 0;
  for (let i = 0; i < (c.repeats ?? repeats); i++) {
    const started = performance.now();
    const run = runScenario(c.scenario, c.options);
    best = Math.min(best, performance.now() - started);
    virtualSeconds = run.virtualTime / 1e9;
    events = run.events;
  }
  return { wallMs: best, virtualSeconds, events };
}

runScenario(base); // warm-up
runScenario(base, { recordEvents: true });
const results = cases.map((c) => ({ name: c.name, ...measure(c) }));
const baseline = results[0]!.wallMs;
const rows = [
  ["case", "wall ms (best)", "× baseline", "virtual s", "× real time", "kernel events/s"],
  ...results.map((r) => [
    r.name,
    r.wallMs.toFixed(0),
    (r.wallMs / baseline).toFixed(2),
    r.virtualSeconds.toFixed(3),
    (r.virtualSeconds / (r.wallMs / 1000)).toFixed(1),
    Math.round(r.events / (r.wallMs / 1000)).toLocaleString("en"),
  ]),
];
const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
for (const r of rows)
  console.log(
    r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join("  "),
  );

if (process.env.VMMUX_BENCH_ENGINE !== "0") {
  const { runEngineBench } = await import("./engine.bench.js");
  runEngineBench();
}

if (process.env.VMMUX_BENCH_REAL !== "0") {
  const { runRealGuestBench } = await import("./real-guest.bench.js");
  await runRealGuestBench();
}
