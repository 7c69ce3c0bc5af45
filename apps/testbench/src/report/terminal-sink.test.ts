/** The terminal written as it is produced is the cast built from the finished run, v2 and v3. */
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, test } from "vitest";
import { formatAsciicast } from "../asciicast.js";
import { terminalCast } from "../report.js";
import { runScenario } from "../run.js";
import { syntheticScenario } from "../testing/synthetic.js";
import { TerminalCastWriter } from "./terminal-sink.js";

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
