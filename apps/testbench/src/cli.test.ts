/**
 * The `vmmux` executable as a user runs it: a child process (tsx on the sources, so the
 * test needs no build), its exit status, stdout and stderr, and the artefacts it writes.
 */
import { spawnSync } from "node:child_process";
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { gunzipSync } from "node:zlib";
import { describe, expect, test } from "vitest";
import { formatAsciicast, outputText, parseAsciicast } from "./asciicast.js";
import { invokedAs, replayCommand } from "./commands/common.js";
import { main } from "./commands.js";
import { BUNDLED_SYSTEM, syntheticCast } from "./testing/synthetic.js";

const packageDir = fileURLToPath(new URL("..", import.meta.url));
const repoDir = fileURLToPath(new URL("../../..", import.meta.url));
const tsx = join(packageDir, "node_modules", ".bin", "tsx");

/** The CLI in this process, with captured output. */
async function inProcess(...args: string[]) {
  return inProcessWith({}, ...args);
}

/** The same, with stdout taken for a terminal when `tty` is set (progress shown at once). */
async function inProcessWith(options: { tty?: boolean }, ...args: string[]) {
  let stdout = "";
  let stderr = "";
  const status = await main(args, {
    out: (text) => {
      stdout += text;
    },
    err: (text) => {
      stderr += text;
    },
    isTty: options.tty === true,
    progressAfterMs: 0,
    record: { stdin: null, echo: null },
  });
  return { status, stdout, stderr };
}

/** The environment of a shell that started `vmmux` directly (not through pnpm or npm). */
const plainEnv = Object.fromEntries(
  Object.entries(process.env).filter(([k]) => !/^(npm_|PNPM_)/i.test(k)),
);

/** The CLI as a child process. */
function vmmux(...args: string[]) {
  const child = spawnSync(
    tsx,
    ["--conditions=@vmmux/source", join(packageDir, "src/cli.ts"), ...args],
    {
      cwd: repoDir,
      encoding: "utf8",
      timeout: 60_000,
      env: plainEnv,
    },
  );
  return { status: child.status, stdout: child.stdout, stderr: child.stderr };
}

function smallScenario(expectJson: string): string {
  const dir = mkdtempSync(join(tmpdir(), "vmmux-check-"));
  for (const k of [1, 2]) {
    const cast = syntheticCast([
      [0.01, `guest${k} says hello\r\n`],
      [0.02, `guest${k} says bye\r\n`],
    ]);
    writeFileSync(join(dir, `g${k}.cast`), formatAsciicast(cast));
  }
  const file = join(dir, "small.json");
  writeFileSync(
    file,
    JSON.stringify({
      system: BUNDLED_SYSTEM,
      guests: [1, 2].map((k) => ({ name: `guest${k}`, kind: "sddf-client", trace: `g${k}.cast` })),
      keyboard: [{ at: 0.03, text: "x\u001c1\ry" }],
      knobs: { seed: 7, durationLimit: 2 },
      expect: JSON.parse(expectJson),
    }),
  );
  return file;
}

describe("vmmux schema", () => {
  test("prints the JSON Schema that traces/scenarios/scenario.schema.json holds", async () => {
    const r = await inProcess("schema");
    expect(r.status).toBe(0);
    const bundled = readFileSync(join(repoDir, "traces/scenarios/scenario.schema.json"), "utf8");
    // Regenerate with `vmmux schema > traces/scenarios/scenario.schema.json` after a schema change.
    expect(JSON.parse(r.stdout)).toEqual(JSON.parse(bundled));
  });
});

describe("vmmux record", () => {
  test("records a command's output as asciicast and passes on its exit status", async () => {
    const dir = mkdtempSync(join(tmpdir(), "vmmux-rec-"));
    const output = join(dir, "out.cast");
    const script = "process.stdout.write('hello\\n'); process.exitCode = 3;";
    const r = await inProcess("record", "-o", output, "--", process.execPath, "-e", script);
    expect(r.status).toBe(3);
    expect(r.stderr).toMatch(/^vmmux record: \d+ events to .*out\.cast; exit status 3\n$/);
    const cast = parseAsciicast(readFileSync(output, "utf8"));
    expect(
      cast.events
        .filter((e) => e.code === "o")
        .map((e) => e.data)
        .join(""),
    ).toBe("hello\n");
  });
});

describe("vmmux sdf", () => {
  test("summarises a valid system file and exits 0", async () => {
    const r = await inProcess("sdf", join(repoDir, "traces/systems/serial-two-guests.system"));
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("5 protection domain(s)");
    expect(r.stdout).toContain("uart_driver[1] <-> serial_virt_tx[0]");
  });

  test("exits 1 with the located error on a bad file", async () => {
    const dir = mkdtempSync(join(tmpdir(), "vmmux-cli-"));
    const file = join(dir, "bad.system");
    writeFileSync(
      file,
      '<system>\n  <protection_domain name="a" priority="300">\n    <program_image path="a.elf" />\n  </protection_domain>\n</system>\n',
    );
    const r = await inProcess("sdf", file);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("bad.system:2");
    expect(r.stdout).toBe("");
  });
});

describe("vmmux replay", () => {
  test("the executable runs the default scenario: muxed terminal, then the report", () => {
    const r = vmmux("replay", "traces/scenarios/sddf-clients.json");
    expect(r.status).toBe(0);
    expect(r.stdout.slice(0, 65)).toBe(
      "Begin input\r\n\x1b[31m[    0.000000] Booting Linux on physical CPU 0x",
    );
    expect(r.stdout).toContain("\x1b[32m[    0.000000] Booting Linux");
    expect(r.stdout).toMatch(/^guest1 +14833 +14833 /m);
    expect(r.stdout).toMatch(/^guest2 +14956 +14956 /m);
    // stdout is a pipe: no progress line.
    expect(r.stderr).toBe("");
  });

  test("--json and --out: machine-readable results and atomically written artefacts", async () => {
    const out = mkdtempSync(join(tmpdir(), "vmmux-out-"));
    const file = smallScenario("{}");
    const r = await inProcess("replay", file, "--json", "--no-colour", "--seed", "9", "--out", out);
    expect(r.status).toBe(0);
    expect(r.stderr).toContain("artefacts:");
    const results = JSON.parse(r.stdout);
    expect([results.seed, results.colour, results.idle]).toEqual([9, false, true]);
    expect(
      results.guests.map((g: { name: string; complete: boolean }) => [g.name, g.complete]),
    ).toEqual([
      ["guest1", true],
      ["guest2", true],
    ]);
    expect(readdirSync(out).sort()).toEqual([
      "small.perfetto.json",
      "small.report.html",
      "small.report.json",
      "small.terminal.cast",
    ]);
    const html = readFileSync(join(out, "small.report.html"), "utf8");
    expect(html).toContain(`vmmux replay ${file} --seed 9`);
    const cast = parseAsciicast(readFileSync(join(out, "small.terminal.cast"), "utf8"));
    const text = cast.events.map((e) => e.data).join("");
    expect(text).toContain("guest1 says hello\r\n");
    expect(text).not.toContain("\x1b[");
    const trace = JSON.parse(readFileSync(join(out, "small.perfetto.json"), "utf8"));
    expect(trace.traceEvents.length).toBeGreaterThan(100);
  });

  test("--no-fast-forward simulates every trap and gives the same results", async () => {
    const file = smallScenario("{}");
    const fast = await inProcess("replay", file, "--json");
    const slow = await inProcess("replay", file, "--json", "--no-fast-forward");
    expect(slow.status).toBe(0);
    expect(slow.stdout).toBe(fast.stdout);
  });

  test("a scenario error is reported with file, line and field, exit 1", async () => {
    const dir = mkdtempSync(join(tmpdir(), "vmmux-cli-"));
    const file = join(dir, "s.json");
    writeFileSync(file, `{\n  "system": "x.system",\n  "guests": [],\n  "knobs": {}\n}\n`);
    const r = await inProcess("replay", file);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(
      `vmmux: ${file}:3: guests: too small: expected array to have >=1 items\n`,
    );
  });
});

describe("vmmux check", () => {
  test("passes and exits 0 when every oracle holds", async () => {
    const r = await inProcess("check", smallScenario('{"guests": {"guest2": {"complete": true}}}'));
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^integrity +pass$/m);
    expect(r.stdout).toMatch(/^determinism +pass$/m);
  });

  test("exits 1 on a violation, naming the seed and the replay command", () => {
    const file = smallScenario('{"guests": {"guest2": {"firstByteAfter": 5}}}');
    const r = vmmux("check", file);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/^progress +VIOLATION$/m);
    expect(r.stdout).toMatch(/guest2: first byte at 0\.0\d+ s, expected after 5 s/);
    expect(r.stderr).toContain("seed 7");
    expect(r.stderr).toContain(`replay: vmmux replay ${file} --seed 7`);
  });

  test("--explore judges no lost wake-ups over perturbed schedules, --schedule replays one", async () => {
    const file = join(repoDir, "traces/scenarios/wakeup-window.json");
    const explored = await inProcess("check", file, "--explore", "8");
    expect(explored.status).toBe(0);
    expect(explored.stdout).toMatch(/^wakeups +pass/m);
    expect(explored.stdout.match(/^wakeups +pass/gm)?.length).toBe(1);
    expect(explored.stdout).toMatch(/^wakeups over 8 schedules +pass/m);
    const replayed = await inProcess("check", file, "--schedule", "4", "--json");
    expect(replayed.status).toBe(0);
    expect(JSON.parse(replayed.stdout).schedule).toEqual({ seed: 4 });
  });

  test("--explore refuses a count that is not a whole number", async () => {
    const r = await inProcess("check", "traces/scenarios/wakeup-window.json", "--explore", "2.5");
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("must be a whole number");
  });
});

describe("the vmmux executable (bin/vmmux.js)", () => {
  const launcher = join(packageDir, "bin", "vmmux.js");

  test("--version prints the package version; from the sources when asked", () => {
    const version = JSON.parse(readFileSync(join(packageDir, "package.json"), "utf8")).version;
    const r = spawnSync(process.execPath, [launcher, "--version"], {
      encoding: "utf8",
      env: { ...plainEnv, VMMUX_FROM_SOURCES: "1" },
      timeout: 60_000,
    });
    expect([r.status, r.stdout, r.stderr]).toEqual([0, `${version}\n`, ""]);
  });

  test("before a build, without tsx, it says in one line what to do", () => {
    const dir = mkdtempSync(join(tmpdir(), "vmmux-bin-"));
    mkdirSync(join(dir, "bin"));
    copyFileSync(launcher, join(dir, "bin", "vmmux.js"));
    const r = spawnSync(process.execPath, [join(dir, "bin", "vmmux.js"), "replay", "x.json"], {
      encoding: "utf8",
      env: plainEnv,
      timeout: 60_000,
    });
    expect(r.status).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/^vmmux: not built yet: run `pnpm build` .*\n$/);
    expect(r.stderr.split("\n")).toHaveLength(2);
  });

  test("the re-run line names the command as the user started it", () => {
    expect(invokedAs({})).toBe("vmmux");
    expect(invokedAs({ npm_config_user_agent: "pnpm/12.4.2 npm/? node/v20" })).toBe(
      "pnpm exec vmmux",
    );
    expect(invokedAs({ npm_config_user_agent: "pnpm/12.4.2", npm_lifecycle_event: "vmmux" })).toBe(
      "pnpm vmmux",
    );
    expect(invokedAs({ npm_config_user_agent: "npm/10.8.2 node/v20" })).toBe("npx vmmux");
    expect(replayCommand("my scenarios/a.json", 7, 3)).toMatch(
      /vmmux replay 'my scenarios\/a\.json' --seed 7 --schedule 3$/,
    );
  });
});

describe("--out is checked before the run", () => {
  test.each([
    [
      "a file",
      () => {
        const file = join(mkdtempSync(join(tmpdir(), "vmmux-out-")), "f");
        writeFileSync(file, "");
        return [file, `${file}: it is a file, not a directory`] as const;
      },
    ],
    [
      "/proc/x",
      () => ["/proc/x", "/proc/x: /proc does not allow new files or directories"] as const,
    ],
  ])("%s: one sentence, no errno code, nothing run", async (_, make) => {
    const [out, problem] = make();
    for (const command of ["replay", "check"]) {
      const r = await inProcess(command, smallScenario("{}"), "--out", out);
      expect(r.status).toBe(1);
      expect(r.stdout).toBe("");
      expect(r.stderr).toBe(`vmmux: cannot write artefacts to ${problem}\n`);
    }
  });

  test("check --out writes the run's artefacts with the verdicts, --cast-version 3 a v3 cast", async () => {
    const out = mkdtempSync(join(tmpdir(), "vmmux-out-"));
    const args = ["--out", out, "--cast-version", "3", "--perfetto-gz"];
    const r = await inProcess("check", smallScenario("{}"), ...args);
    expect(r.status).toBe(0);
    expect(readdirSync(out).sort()).toEqual([
      "small.perfetto.json.gz",
      "small.report.html",
      "small.report.json",
      "small.terminal.cast",
    ]);
    const report = JSON.parse(readFileSync(join(out, "small.report.json"), "utf8"));
    expect(report.oracles.map((o: { oracle: string }) => o.oracle)).toContain("determinism");
    const castText = readFileSync(join(out, "small.terminal.cast"), "utf8");
    expect(JSON.parse(castText.split("\n")[0]!)).toMatchObject({ version: 3, term: { cols: 100 } });
    expect(outputText(parseAsciicast(castText))).toContain("guest1 says hello");
    const trace = JSON.parse(
      gunzipSync(readFileSync(join(out, "small.perfetto.json.gz"))).toString(),
    );
    expect(trace.traceEvents.length).toBeGreaterThan(100);
  });
});

describe("messages", () => {
  test("control bytes from the input are shown escaped, never sent to the terminal", async () => {
    const r = await inProcess("replay", "no\x1b[31msuch\x07.json");
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("no^[[31msuch^G.json");
    expect(r.stderr).not.toMatch(/[\x00-\x09\x0b-\x1f]/);
  });

  test("check shows progress through both runs and every explored schedule", async () => {
    const file = join(repoDir, "traces/scenarios/wakeup-window.json");
    const r = await inProcessWith({ tty: true }, "check", file, "--explore", "2", "--workers", "0");
    expect(r.status).toBe(0);
    expect(r.stderr).toContain("vmmux check: run 1 of 3: ");
    expect(r.stderr).toContain("vmmux check: run 2 of 3 (determinism)");
    expect(r.stderr).toContain("vmmux check: run 3 of 3: exploring schedules");
    expect(r.stderr.endsWith("\r\x1b[2K")).toBe(true);
  });

  test("replay on a terminal leaves the guests' queries out and says so", async () => {
    const dir = mkdtempSync(join(tmpdir(), "vmmux-q-"));
    for (const k of [1, 2]) {
      const cast = syntheticCast([[0.01, `g${k} \x1b[6nprompt\r\n`]]);
      writeFileSync(join(dir, `g${k}.cast`), formatAsciicast(cast));
    }
    const file = join(dir, "q.json");
    writeFileSync(
      file,
      JSON.stringify({
        system: BUNDLED_SYSTEM,
        guests: [1, 2].map((k) => ({
          name: `guest${k}`,
          kind: "sddf-client",
          trace: `g${k}.cast`,
        })),
        knobs: { seed: 1, durationLimit: 1 },
      }),
    );
    const tty = await inProcessWith({ tty: true }, "replay", file);
    expect(tty.stdout).not.toContain("\x1b[6n");
    expect(tty.stdout).toContain("prompt");
    expect(tty.stderr).toContain("vmmux: 2 terminal queries in the guests' output left out");
    const shown = await inProcessWith({ tty: true }, "replay", file, "--queries", "show");
    expect(shown.stdout).toContain("^[[6nprompt");
    const piped = await inProcess("replay", file);
    expect(piped.stdout.match(/\x1b\[6n/g)).toHaveLength(2);
    expect(piped.stderr).toBe("");
  });
});

describe("sharded exploration", () => {
  const file = join(repoDir, "traces/scenarios/wakeup-window.json");

  test("3 shards' --explore-out results merge into the verdict of one exploration", async () => {
    const dir = mkdtempSync(join(tmpdir(), "vmmux-shards-"));
    const whole = await inProcess("check", file, "--explore", "6", "--workers", "0", "--json");
    expect(whole.status).toBe(0);
    const wholeWakeups = JSON.parse(whole.stdout).oracles.at(-1);
    const parts: string[] = [];
    for (const index of [1, 2, 3]) {
      const part = join(dir, `shard${index}.json`);
      const args = ["--explore", "6", "--shard", `${index}/3`, "--workers", "1"];
      const r = await inProcess("check", file, ...args, "--explore-out", part);
      expect(r.status).toBe(0);
      parts.push(part);
    }
    const merged = await inProcess("merge", parts[2]!, parts[0]!, parts[1]!, "--json");
    expect(merged.status).toBe(0);
    const verdict = JSON.parse(merged.stdout);
    expect(verdict.explored.map((r: { seed: number }) => r.seed)).toEqual([1, 2, 3, 4, 5, 6]);
    expect([verdict.ok, verdict.findings, verdict.notes]).toEqual([
      wholeWakeups.ok,
      wholeWakeups.findings,
      wholeWakeups.notes,
    ]);
    const text = await inProcess("merge", ...parts);
    expect(text.stdout).toMatch(/^wakeups over 6 schedules +pass/m);

    const missing = await inProcess("merge", parts[0]!, parts[1]!);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toBe("vmmux: shard(s) 3/3 missing\n");
  });

  test("--workers, --shard and --explore-out need --explore", async () => {
    const r = await inProcess("check", file, "--workers", "2");
    expect(r.status).toBe(2);
    expect(r.stderr).toBe("vmmux check: --workers needs --explore <n>\n");
    const bad = await inProcess("check", file, "--explore", "2", "--shard", "4/3");
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toContain("shard '4/3' is not i/n");
  });
});

describe("--timeline-window", () => {
  const file = smallScenario("{}");

  test.each([
    ["5", "must be from:to in virtual seconds"],
    ["1:2:3", "must be from:to in virtual seconds"],
    ["a:b", "must be from:to in virtual seconds"],
    ["1e3:", "must be from:to in virtual seconds"],
    [":", "must give from, to or both"],
    ["-1:2", "must not be negative"],
    ["1:-2", "must not be negative"],
    ["6:5", "is empty: from (6 s) must be before to (5 s)"],
    ["0.5:.5", "is empty: from (0.5 s) must be before to (0.5 s)"],
  ])("refuses %s before any run, naming the flag", async (window, message) => {
    for (const command of ["replay", "check"]) {
      const out = mkdtempSync(join(tmpdir(), "vmmux-window-"));
      const r = await inProcess(command, file, "--out", out, "--timeline-window", window);
      expect(r.status).not.toBe(0);
      expect(r.stderr).toContain(`option '--timeline-window <from:to>' argument '${window}'`);
      expect(r.stderr).toContain(message);
      expect(r.stdout).toBe("");
      expect(readdirSync(out)).toEqual([]);
    }
  });

  test("needs --out", async () => {
    for (const command of ["replay", "check"]) {
      const r = await inProcess(command, file, "--timeline-window", "0.01:0.02");
      expect(r.status).toBe(2);
      expect(r.stderr).toBe(`vmmux ${command}: --timeline-window needs --out <dir>\n`);
      expect(r.stdout).toBe("");
    }
  });

  test("check --out says in its report which window the timeline holds; the rest is unchanged", async () => {
    const whole = mkdtempSync(join(tmpdir(), "vmmux-window-"));
    const part = mkdtempSync(join(tmpdir(), "vmmux-window-"));
    expect((await inProcess("check", file, "--json", "--out", whole)).status).toBe(0);
    const r = await inProcess("check", file, "--json", "--out", part, "--timeline-window", ".015:");
    expect(r.status).toBe(0);
    const report = (dir: string) =>
      JSON.parse(readFileSync(join(dir, "small.report.json"), "utf8"));
    const { timelineWindow, ...rest } = report(part);
    expect(timelineWindow).toEqual({ fromSeconds: 0.015, toSeconds: null });
    expect(rest).toEqual(report(whole));
    const html = readFileSync(join(part, "small.report.html"), "utf8");
    expect(html).toContain("Perfetto timeline <b>from 0.015 s of virtual time on</b>");
    const trace = JSON.parse(readFileSync(join(part, "small.perfetto.json"), "utf8"));
    const times = trace.traceEvents.filter((e: { ph: string }) => e.ph !== "M");
    expect(times.length).toBeGreaterThan(0);
    for (const e of times) expect(e.ts).toBeGreaterThanOrEqual(15_000);
  });
});
