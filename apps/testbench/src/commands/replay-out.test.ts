/**
 * `--out` streams its terminal cast and HTML report (issue 12): the files are the ones the
 * finished run's kept wire gives (`terminalCast`, `renderHtmlReport`), for guest output full of
 * markup and escape sequences, in v2 and v3; and a run whose artefacts fail leaves nothing.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { formatAsciicast } from "../asciicast.js";
import { main } from "../commands.js";
import { OutputDir } from "../output-dir.js";
import { runPrepared } from "../real/prepare.js";
import { renderHtmlReport, reportInputOfRun } from "../report/index.js";
import { terminalCast } from "../report.js";
import { BUNDLED_SYSTEM, syntheticCast } from "../testing/synthetic.js";
import { prepareScenario, replayCommand } from "./common.js";
import { streamedArtefacts, writeRunArtefacts } from "./replay.js";

const HOSTILE = [
  '</script><script>alert("x")</script><!-- & \u0007',
  "\u001b]0;title\u0007\u001b[1;31mred\u001b[0m\r\r\n",
  "h\u00e9llo \u{1f600} \u001b[",
  "?25l half a sequence\u001b",
  "]2;unterminated\r\n",
];

function scenarioFile(): string {
  const dir = mkdtempSync(join(tmpdir(), "vmmux-replay-out-"));
  for (const k of [1, 2]) {
    const output = HOSTILE.map((text, i) => [0.01 + i * 0.05 + k * 0.02, text] as const);
    writeFileSync(join(dir, `g${k}.cast`), formatAsciicast(syntheticCast(output)));
  }
  const file = join(dir, "hostile-out.json");
  writeFileSync(
    file,
    JSON.stringify({
      system: BUNDLED_SYSTEM,
      guests: [1, 2].map((k) => ({ name: `guest${k}`, kind: "sddf-client", trace: `g${k}.cast` })),
      knobs: { seed: 3, durationLimit: 1 },
    }),
  );
  return file;
}

async function cli(...args: string[]) {
  let stderr = "";
  const status = await main(args, {
    out: () => {},
    err: (text) => {
      stderr += text;
    },
    isTty: false,
    progressAfterMs: 0,
    record: { stdin: null, echo: null },
  });
  return { status, stderr };
}

/** The cast and the report as they were made before streaming: from the run's kept wire. */
async function fromKeptWire(file: string) {
  const scratch = OutputDir.prepare(mkdtempSync(join(tmpdir(), "vmmux-replay-ref-")));
  try {
    const streamed = streamedArtefacts(scratch, file, {});
    const run = await runPrepared(prepareScenario(file, {}), {
      recordEvents: true,
      ...streamed.runOptions,
      keepWire: true,
    });
    await run.streamed;
    const cast = terminalCast(run, "vmmux replay of hostile-out");
    const html = renderHtmlReport(
      reportInputOfRun(run, {
        replayCommand: replayCommand(file, run.seed, undefined),
        timeline: streamed.summary.timeline(run.virtualTime, run.threads),
      }),
    );
    await streamed.cast.abort();
    return { cast, html };
  } finally {
    scratch.abort();
  }
}

describe("replay --out streams its terminal and report", () => {
  test.each([2, 3] as const)(
    "the cast (v%i) and the HTML report are the kept wire's",
    async (v) => {
      const file = scenarioFile();
      const out = mkdtempSync(join(tmpdir(), "vmmux-out-"));
      const r = await cli("replay", file, "--json", "--out", out, "--cast-version", String(v));
      expect(r.status).toBe(0);
      const expected = await fromKeptWire(file);
      expect(expected.cast.events.length).toBeGreaterThan(4);
      expect(readFileSync(join(out, "hostile-out.terminal.cast"), "utf8")).toBe(
        formatAsciicast(expected.cast, v),
      );
      expect(readFileSync(join(out, "hostile-out.report.html"), "utf8")).toBe(expected.html);
      expect(readdirSync(out).sort()).toEqual([
        "hostile-out.perfetto.json",
        "hostile-out.report.html",
        "hostile-out.report.json",
        "hostile-out.terminal.cast",
      ]);
    },
  );

  test("a run whose artefacts fail leaves the previous set alone and nothing staged", async () => {
    const file = scenarioFile();
    const dir = mkdtempSync(join(tmpdir(), "vmmux-out-"));
    writeFileSync(join(dir, "previous.txt"), "kept");
    const out = OutputDir.prepare(dir);
    const streamed = streamedArtefacts(out, file, {});
    const run = await runPrepared(prepareScenario(file, {}), {
      recordEvents: true,
      ...streamed.runOptions,
    });
    const failing = Object.assign(Object.create(run), {
      streamed: Promise.reject(new Error("the disk is full")),
    });
    await expect(writeRunArtefacts(out, failing, file, {}, undefined, streamed)).rejects.toThrow(
      "the disk is full",
    );
    expect(readdirSync(dir)).toEqual(["previous.txt"]);
    expect(existsSync(streamed.cast.path)).toBe(false);
  });
});
