/**
 * `--out` streams its terminal cast and HTML report (issue 12): the files are the ones the
 * finished run's kept wire gives (`terminalCast`, `renderHtmlReport`), for guest output full of
 * markup and escape sequences, in v2 and v3; and a run whose artefacts fail leaves nothing.
 * `--timeline-window` writes the whole timeline's part in the window, clipped at its edges; a
 * check that fails after its runs leaves no cast open; a large timeline gets a hint.
 */
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  truncateSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { TraceEvent } from "@vmmux/microkit-pd";
import { describe, expect, test } from "vitest";
import { formatAsciicast } from "../asciicast.js";
import { main } from "../commands.js";
import { OutputDir } from "../output-dir.js";
import { runPrepared } from "../real/prepare.js";
import { renderHtmlReport, reportInputOfRun } from "../report/index.js";
import { terminalCast } from "../report.js";
import { BUNDLED_SYSTEM, syntheticCast } from "../testing/synthetic.js";
import { prepareScenario, replayCommand } from "./common.js";
import { streamedArtefacts, timelineHint, writeRunArtefacts } from "./replay.js";

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

const DEFAULT_SCENARIO = fileURLToPath(
  new URL("../../../../traces/scenarios/default.json", import.meta.url),
);

/** The trace events of a replay --out of the default scenario, with `extra` flags. */
async function defaultTimeline(...extra: string[]): Promise<TraceEvent[]> {
  const out = mkdtempSync(join(tmpdir(), "vmmux-window-"));
  const r = await cli("replay", DEFAULT_SCENARIO, "--json", "--out", out, ...extra);
  expect(r.status).toBe(0);
  const text = readFileSync(join(out, "default.perfetto.json"), "utf8");
  return (JSON.parse(text) as { traceEvents: TraceEvent[] }).traceEvents;
}

const isClipped = (e: TraceEvent) =>
  e.args !== undefined && ("whole_start_us" in e.args || "whole_end_us" in e.args);
const key = (e: TraceEvent) => JSON.stringify(e);

describe("replay --out --timeline-window", () => {
  test("writes the whole timeline's events inside the window, clipped at its edges", async () => {
    const [from, to] = [5e6, 6e6]; // µs
    const whole = await defaultTimeline();
    const part = await defaultTimeline("--timeline-window", "5:6");
    expect(part.length).toBeGreaterThan(1000);
    expect(part.filter((e) => e.ph === "M")).toEqual(whole.filter((e) => e.ph === "M"));
    for (const e of part) {
      if (e.ph === "M") continue;
      expect(e.ts).toBeGreaterThanOrEqual(from);
      if (e.ph === "X") expect(e.ts! + e.dur!).toBeLessThanOrEqual(to);
      else if (e.ph === "E") expect(e.ts).toBeLessThanOrEqual(to);
      else expect(e.ts).toBeLessThan(to);
    }
    // What lies wholly in the window is written as it is; nothing else is unmarked, but for
    // each counter's value at `from`.
    const inside = (e: TraceEvent) => {
      if (e.ph === "M") return false;
      if (e.ph === "X") return e.ts! >= from && e.ts! + e.dur! <= to;
      if (e.ph === "E") return e.ts! >= from && e.ts! <= to;
      return e.ts! >= from && e.ts! < to;
    };
    const expected = whole.filter(inside).map(key).sort();
    const wholeKeys = new Set(whole.map(key));
    const started = part.filter((e) => e.ph === "C" && e.ts === from && !wholeKeys.has(key(e)));
    for (const c of started) {
      const before = whole.filter((e) => e.ph === "C" && e.name === c.name && e.ts! < from);
      expect(c.args).toEqual(before.at(-1)!.args);
    }
    const unmarked = part.filter((e) => e.ph !== "M" && !isClipped(e) && !started.includes(e));
    expect(unmarked.map(key).sort()).toEqual(expected);
    // Each clipped slice is a whole slice across an edge, cut to the window.
    const crossing = whole.filter(
      (e) => e.ph === "X" && e.ts! < to && e.ts! + e.dur! >= from && !inside(e),
    );
    const clipped = part.filter((e) => e.ph === "X" && isClipped(e));
    expect(clipped.length).toBe(crossing.length);
    expect(clipped.length).toBeGreaterThan(0);
    const ns = (t: number) => Math.round(t * 1000);
    for (const c of clipped) {
      const start = (c.args!.whole_start_us as number | undefined) ?? c.ts!;
      const end = (c.args!.whole_end_us as number | undefined) ?? c.ts! + c.dur!;
      const match = crossing.find(
        (w) =>
          w.tid === c.tid &&
          `${w.name} (clipped)` === c.name &&
          ns(w.ts!) === ns(start) &&
          ns(w.ts! + w.dur!) === ns(end) &&
          JSON.stringify(w.args) === JSON.stringify(c.args!.whole_args),
      );
      expect(match, c.name).toBeDefined();
      expect(ns(c.ts!)).toBe(Math.max(ns(start), ns(from)));
      expect(ns(c.ts! + c.dur!)).toBe(Math.min(ns(end), ns(to)));
    }
  });

  test("a large timeline gets one hint line, unless a window was given", () => {
    const dir = mkdtempSync(join(tmpdir(), "vmmux-hint-"));
    const file = join(dir, "big.perfetto.json");
    writeFileSync(file, "");
    truncateSync(file, 4096);
    const written = [join(dir, "big.terminal.cast"), file];
    expect(timelineHint(written, {}, 4096)).toBeUndefined();
    expect(timelineHint(written, {}, 4095)).toMatch(
      /^vmmux: the timeline is 0 MiB, .*--timeline-window from:to.*--perfetto-gz.*\n$/,
    );
    expect(timelineHint(written, { perfettoGz: true }, 4095)).not.toContain("--perfetto-gz");
    const window = { fromSeconds: 1, toSeconds: 2, fromNs: 1e9, toNs: 2e9 };
    expect(timelineHint(written, { timelineWindow: window }, 4095)).toBeUndefined();
  });
});

describe("check --out when something fails after its runs", () => {
  /** Files under `dir` this process holds open. */
  const openUnder = (dir: string) =>
    readdirSync("/proc/self/fd")
      .map((fd) => {
        try {
          return readlinkSync(`/proc/self/fd/${fd}`);
        } catch {
          return "";
        }
      })
      .filter((target) => target.startsWith(dir));

  test("leaves no terminal cast open or behind", async () => {
    const file = scenarioFile();
    const out = mkdtempSync(join(tmpdir(), "vmmux-out-"));
    const printing = main(["check", file, "--out", out], {
      out: () => {
        throw new Error("stdout is gone");
      },
      err: () => {},
      isTty: false,
      progressAfterMs: 0,
      record: { stdin: null, echo: null },
    });
    await expect(printing).rejects.toThrow("stdout is gone");
    expect(openUnder(out)).toEqual([]);
    expect(readdirSync(out)).toEqual([]);
  });
});
