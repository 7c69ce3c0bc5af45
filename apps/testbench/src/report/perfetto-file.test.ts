/**
 * The streamed Perfetto file: the same bytes as the whole string, gzip when asked (the same bytes
 * again once inflated), atomic, and a bad place found before the run.
 */
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

describe("RunOptions.perfettoFile as .json.gz", () => {
  const scenario = syntheticScenario({
    guests: [
      { output: [[0.001, "one\n".repeat(300)]] },
      { output: [[0.001, "two\n".repeat(300)]] },
    ],
    knobs: { durationLimit: 2 },
  });

  test("inflates to exactly the bytes of the .json of the same run, folded or not", async () => {
    const dir = mkdtempSync(join(tmpdir(), "vmmux-perfetto-"));
    for (const fold of [true, false]) {
      const files = [`${fold}.perfetto.json`, `${fold}.perfetto.json.gz`].map((f) => join(dir, f));
      for (const file of files) {
        const options = { recordEvents: true, retainLog: false, perfettoFold: fold };
        await runScenario(scenario, { ...options, perfettoFile: file }).streamed;
      }
      const json = readFileSync(files[0]!);
      const gz = readFileSync(files[1]!);
      expect(json.length).toBeGreaterThan(100_000);
      expect(gunzipSync(gz).equals(json)).toBe(true);
      expect(gz.length * 5).toBeLessThan(json.length);
    }
  });

  test("a directory that is not there fails before the run starts, leaving nothing", () => {
    const dir = mkdtempSync(join(tmpdir(), "vmmux-perfetto-"));
    let progressed = false;
    expect(() =>
      runScenario(scenario, {
        recordEvents: true,
        retainLog: false,
        perfettoFile: join(dir, "missing", "t.perfetto.json.gz"),
        onProgress: () => {
          progressed = true;
        },
      }),
    ).toThrow(/ENOENT/);
    expect(progressed).toBe(false);
    expect(readdirSync(dir)).toEqual([]);
  });
});
