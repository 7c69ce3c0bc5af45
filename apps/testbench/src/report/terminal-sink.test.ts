/**
 * The terminal written as it is produced is the cast built from the finished run, v2 and v3;
 * its events are seen as they are written; a v2 file rewritten as v3 line by line is the
 * whole file's v3.
 */
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, test } from "vitest";
import { type AsciicastEvent, formatAsciicast, parseAsciicast } from "../asciicast.js";
import { terminalCast } from "../report.js";
import { runScenario } from "../run.js";
import { syntheticScenario } from "../testing/synthetic.js";
import { castFileToVersion3, TerminalCastWriter } from "./terminal-sink.js";

const scenario = syntheticScenario({
  guests: [
    {
      output: [
        [0.001, "héllo\n".repeat(20)],
        [0.2, "later\n"],
      ],
    },
    { output: [[0.05, "wörld\n".repeat(20)]] },
  ],
  knobs: { durationLimit: 1 },
});

test.each([2, 3] as const)("streamed v%i cast equals the finished run's", async (version) => {
  const dir = mkdtempSync(join(tmpdir(), "vmmux-cast-"));
  const path = join(dir, "t.terminal.cast");
  const writer = new TerminalCastWriter(path, "t", version);
  const run = runScenario(scenario, { onWire: writer.onWire });
  await writer.close();
  const cast = terminalCast(run, "t");
  expect(cast.events.length).toBeGreaterThan(2);
  expect(readFileSync(path, "utf8")).toBe(formatAsciicast(cast, version));
  expect(readdirSync(dir)).toEqual(["t.terminal.cast"]);
});

test("the writer shows each event as written; a v2 file rewritten as v3 is its v3", async () => {
  const dir = mkdtempSync(join(tmpdir(), "vmmux-cast-"));
  const path = join(dir, "t.terminal.cast");
  const seen: AsciicastEvent[] = [];
  const writer = new TerminalCastWriter(path, "t", 2, (e) => seen.push(e));
  const run = runScenario(scenario, { onWire: writer.onWire, keepWire: true });
  await writer.close();
  expect(seen).toEqual(terminalCast(run, "t").events);
  const v2 = readFileSync(path, "utf8");
  await castFileToVersion3(path);
  expect(readFileSync(path, "utf8")).toBe(formatAsciicast(parseAsciicast(v2), 3));
  expect(readdirSync(dir)).toEqual(["t.terminal.cast"]);
});

test("a v2 file of many events at unrounded times rewritten as v3 is its v3", async () => {
  const dir = mkdtempSync(join(tmpdir(), "vmmux-cast-"));
  const path = join(dir, "t.terminal.cast");
  const events = Array.from({ length: 2000 }, (_, i) => ({
    time: i * 0.001234567 + (i % 7) * 1e-7,
    code: "o" as const,
    data: `line ${i} \u001b[3${i % 8}mé\u{1f600}\r\n`,
  }));
  const v2 = formatAsciicast({ header: { version: 2, width: 80, height: 24 }, events });
  writeFileSync(path, v2);
  await castFileToVersion3(path);
  expect(readFileSync(path, "utf8")).toBe(formatAsciicast(parseAsciicast(v2), 3));
});
