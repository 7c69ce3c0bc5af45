/** The streamed Perfetto file: the same bytes as the whole string, gzip when asked, atomic. */
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { describe, expect, test } from "vitest";
import { runScenario } from "../run.js";
import { syntheticScenario } from "../testing/synthetic.js";
import { writePerfettoFile } from "./perfetto-file.js";

const run = runScenario(
  syntheticScenario({
    guests: [{ output: [[0.001, "one\n".repeat(30)]] }, { output: [[0.001, "two\n".repeat(30)]] }],
    knobs: { durationLimit: 0.5 },
  }),
  { recordEvents: true },
);

describe("writePerfettoFile", () => {
  test(".json holds exactly JSON.stringify(trace); .json.gz the same compressed; no temporary left", async () => {
    const trace = run.perfetto()!;
    expect(trace.traceEvents.length).toBeGreaterThan(2000);
    const dir = mkdtempSync(join(tmpdir(), "vmmux-perfetto-"));
    await writePerfettoFile(trace, join(dir, "t.perfetto.json"));
    await writePerfettoFile(trace, join(dir, "t.perfetto.json.gz"));
    const whole = JSON.stringify(trace);
    expect(readFileSync(join(dir, "t.perfetto.json"), "utf8")).toBe(whole);
    expect(gunzipSync(readFileSync(join(dir, "t.perfetto.json.gz"))).toString("utf8")).toBe(whole);
    expect(readdirSync(dir).sort()).toEqual(["t.perfetto.json", "t.perfetto.json.gz"]);
  });

  test("an unwritable place fails and leaves nothing", async () => {
    const dir = mkdtempSync(join(tmpdir(), "vmmux-perfetto-"));
    await expect(
      writePerfettoFile(run.perfetto()!, join(dir, "missing", "t.perfetto.json")),
    ).rejects.toThrow();
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe("RunOptions.perfettoFile", () => {
  test("streams during the run the trace a kept log gives, keeping no log; .gz compresses", async () => {
    const dir = mkdtempSync(join(tmpdir(), "vmmux-perfetto-"));
    const scenario = syntheticScenario({
      guests: [
        { output: [[0.001, "one\n".repeat(30)]] },
        { output: [[0.001, "two\n".repeat(30)]] },
      ],
      knobs: { durationLimit: 0.5 },
    });
    const streamed = runScenario(scenario, {
      recordEvents: true,
      retainLog: false,
      perfettoFile: join(dir, "s.perfetto.json"),
    });
    const gz = runScenario(scenario, {
      recordEvents: true,
      retainLog: false,
      perfettoFile: join(dir, "s.perfetto.json.gz"),
    });
    await Promise.all([streamed.streamed, gz.streamed]);
    expect(streamed.perfetto()).toBeUndefined();
    const kept = JSON.parse(JSON.stringify(run.perfetto()));
    expect(JSON.parse(readFileSync(join(dir, "s.perfetto.json"), "utf8"))).toEqual(kept);
    expect(
      JSON.parse(gunzipSync(readFileSync(join(dir, "s.perfetto.json.gz"))).toString()),
    ).toEqual(kept);
    expect(readdirSync(dir).sort()).toEqual(["s.perfetto.json", "s.perfetto.json.gz"]);
  });
});
