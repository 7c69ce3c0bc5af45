/**
 * The `vmmux` command line (DESIGN.md "Interfaces people use"): `sdf`, `replay`, `check`.
 * Output goes through an injectable `Io` so the commands run in-process in tests as well
 * as from `cli.ts`.
 */
import { basename, extname, join } from "node:path";
import type { Readable, Writable } from "node:stream";
import { loadSystemFile, SdfError, summariseSystem } from "@vmmux/microkit-pd";
import { Command, CommanderError, InvalidArgumentError } from "commander";
import { AsciicastError, writeFileAtomic } from "./asciicast.js";
import { ScenarioError, WiringError } from "./errors.js";
import { LiveError } from "./live/errors.js";
import { type LiveTerminal, liveSession } from "./live/live.js";
import { exploreWakeups, judge, judgeExplored } from "./oracles.js";
import { recordCommand } from "./record/index.js";
import { renderHtmlReport, reportInputOfRun } from "./report/index.js";
import { formatJudgements, formatReport, runJson, terminalText, writeArtefacts } from "./report.js";
import { type RunResult, runScenario } from "./run.js";
import {
  type Knobs,
  loadScenario,
  type Scenario,
  scenarioJsonSchema,
  withKnobs,
} from "./scenario.js";

export interface Io {
  out(text: string): void;
  err(text: string): void;
  /** Whether stdout is a terminal (progress is shown only then). */
  readonly isTty: boolean;
  /**
   * What `vmmux record` forwards to the command and where it shows the command's output;
   * default the process's stdin and stdout (tests pass `null`s).
   */
  readonly record?: { readonly stdin: Readable | null; readonly echo: Writable | null };
  /** The terminal `vmmux live` talks to; default the process's stdin, stdout and stderr. */
  readonly live?: LiveTerminal;
}

export const processIo: Io = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  isTty: process.stdout.isTTY === true,
};

/** Thrown by a command to end with `exitCode` after it has printed its own explanation. */
class ExitRequest extends Error {
  constructor(readonly exitCode: number) {
    super(`exit ${exitCode}`);
  }
}

function parseSeed(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) > 2 ** 32 - 1) {
    throw new InvalidArgumentError("must be an integer 0..4294967295");
  }
  return Number(value);
}

function parseSeconds(value: string): number {
  const seconds = Number(value);
  if (!(seconds > 0) || !Number.isFinite(seconds)) {
    throw new InvalidArgumentError("must be a positive number of seconds");
  }
  return seconds;
}

interface RunFlags {
  readonly seed?: number;
  readonly colour?: boolean;
  /** Seed of a perturbed schedule (`RunOptions.schedule`), to replay an `--explore` finding. */
  readonly schedule?: number;
}

function parseCount(value: string): number {
  const count = Number(value);
  if (!Number.isInteger(count) || count < 1 || count > 10_000) {
    throw new InvalidArgumentError("must be a whole number from 1 to 10000");
  }
  return count;
}

function prepare(file: string, flags: RunFlags): Scenario {
  const overrides: Partial<Knobs> = {};
  if (flags.seed !== undefined) Object.assign(overrides, { seed: flags.seed });
  if (flags.colour === false) Object.assign(overrides, { colour: false });
  return withKnobs(loadScenario(file), overrides);
}

/** Run with a progress line on stderr when stdout is a terminal and the run is slow. */
function runWithProgress(
  scenario: Scenario,
  io: Io,
  recordEvents: boolean,
  scheduleSeed?: number,
): RunResult {
  const started = Date.now();
  let shown = false;
  const result = runScenario(scenario, {
    recordEvents,
    ...(scheduleSeed === undefined ? {} : { schedule: { seed: scheduleSeed } }),
    onProgress: (now, limit) => {
      if (!io.isTty || Date.now() - started < 1000) return;
      shown = true;
      io.err(
        `\r\x1b[2Kvmmux: ${(now / 1e9).toFixed(1)} s of virtual time (limit ${limit / 1e9} s)`,
      );
    },
  });
  if (shown) io.err("\r\x1b[2K");
  return result;
}

function parseSpeed(value: string): number {
  const speed = Number(value);
  if (!(speed > 0) || !Number.isFinite(speed)) {
    throw new InvalidArgumentError("must be a positive number (virtual seconds per second)");
  }
  return speed;
}

function parseProfile(value: string): "reference" | "hardened" {
  if (value !== "reference" && value !== "hardened") {
    throw new InvalidArgumentError('must be "reference" or "hardened"');
  }
  return value;
}

function replayCommand(file: string, seed: number, schedule?: number): string {
  return `vmmux replay ${file} --seed ${seed}${schedule === undefined ? "" : ` --schedule ${schedule}`}`;
}

/** Build the `vmmux` program. `exitOverride` keeps commander from calling process.exit. */
export function createProgram(io: Io = processIo): Command {
  const program = new Command("vmmux")
    .description("Two Linux guests on seL4 Microkit sharing one PL011 UART, as an executable model")
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .enablePositionalOptions()
    .exitOverride();

  program
    .command("sdf")
    .description("validate a Microkit system file and summarise it")
    .argument("<file>", "a .system file")
    .action((file: string) => {
      const { system, warnings } = loadSystemFile(file);
      io.out(`${summariseSystem(system, warnings)}\n`);
    });

  program
    .command("schema")
    .description("print the scenario files' JSON Schema (traces/scenarios/scenario.schema.json)")
    .action(() => {
      io.out(`${JSON.stringify(scenarioJsonSchema(), null, 2)}\n`);
    });

  program
    .command("replay")
    .description("run a scenario, show the muxed terminal, print a report, write artefacts")
    .argument("<scenario>", "a scenario .json file")
    .option(
      "--out <dir>",
      "write the terminal (asciicast), timeline (Perfetto JSON) and report here",
    )
    .option("--json", "print machine-readable results instead of the terminal and report")
    .option("--no-colour", "turn virt_tx's colour codes off for this run")
    .option("--seed <n>", "override the scenario's seed", parseSeed)
    .option("--schedule <seed>", "perturb the schedule as `check --explore` does", parseSeed)
    .action(async (file: string, flags: RunFlags & { out?: string; json?: boolean }) => {
      const scenario = prepare(file, flags);
      const run = runWithProgress(scenario, io, flags.out !== undefined, flags.schedule);
      if (flags.json === true) {
        io.out(`${JSON.stringify(runJson(run), null, 2)}\n`);
      } else {
        io.out(terminalText(run));
        io.out(`\x1b[0m\n${"─".repeat(72)}\n${formatReport(run)}\n`);
      }
      if (flags.out !== undefined) {
        const name = basename(file, extname(file));
        const written = await writeArtefacts(run, flags.out, name);
        const htmlPath = join(flags.out, `${name}.report.html`);
        const input = reportInputOfRun(run, {
          replayCommand: replayCommand(file, run.seed, flags.schedule),
        });
        await writeFileAtomic(htmlPath, renderHtmlReport(input));
        written.push(htmlPath);
        (flags.json === true ? io.err : io.out)(`artefacts: ${written.join(", ")}\n`);
      }
    });

  program
    .command("check")
    .description("run a scenario twice and judge it with the oracles; exit 1 on a violation")
    .argument("<scenario>", "a scenario .json file")
    .option("--json", "print machine-readable verdicts")
    .option("--seed <n>", "override the scenario's seed", parseSeed)
    .option("--schedule <seed>", "perturb the schedule as `--explore` does", parseSeed)
    .option(
      "--explore <n>",
      "also rerun with n perturbed schedules and judge no lost wake-ups on each",
      parseCount,
    )
    .action((file: string, flags: RunFlags & { json?: boolean; explore?: number }) => {
      const scenario = prepare(file, flags);
      const schedule = flags.schedule === undefined ? {} : { schedule: { seed: flags.schedule } };
      const run = runWithProgress(scenario, io, true, flags.schedule);
      const rerun = runScenario(scenario, { recordEvents: true, ...schedule });
      const judgements = judge(run, rerun, scenario.expect);
      if (flags.explore !== undefined) {
        judgements.push(
          judgeExplored(exploreWakeups(scenario, { runs: flags.explore }), scenario.expect),
        );
      }
      const failed = judgements.filter((j) => !j.asExpected);
      if (flags.json === true) {
        io.out(`${JSON.stringify(runJson(run, judgements), null, 2)}\n`);
      } else {
        io.out(`${formatReport(run)}\n\noracles:\n${formatJudgements(judgements)}\n`);
      }
      if (failed.length > 0) {
        io.err(
          `vmmux check: ${failed.map((j) => j.verdict.oracle).join(", ")} not as expected; seed ${run.seed}\n` +
            `replay: ${replayCommand(file, run.seed, flags.schedule)}\n`,
        );
        throw new ExitRequest(1);
      }
    });

  program
    .command("record")
    .description("record a command's console (e.g. QEMU -nographic) as asciicast v2")
    .requiredOption(
      "-o, --output <file>",
      "asciicast file to write (atomically, when the command exits)",
    )
    .option(
      "--timeout <seconds>",
      "stop the command after this long and keep the recording",
      parseSeconds,
    )
    .argument("<command>", "the command, after `--`")
    .argument("[args...]", "its arguments")
    .passThroughOptions()
    .action(
      async (command: string, args: string[], flags: { output: string; timeout?: number }) => {
        const r = await recordCommand({
          command,
          args,
          output: flags.output,
          ...(flags.timeout === undefined ? {} : { timeoutMs: flags.timeout * 1000 }),
          ...(io.record === undefined ? {} : io.record),
        });
        io.err(
          `vmmux record: ${r.cast.events.length} events to ${r.output}; ${r.timedOut ? "stopped at the timeout; " : ""}exit status ${r.status}\n`,
        );
        if (r.status !== 0) throw new ExitRequest(r.status);
      },
    );

  program
    .command("live")
    .description(
      "your terminal is the UART: two simulated guests with shells; Ctrl+\\ <n> Enter switches, Ctrl+] q quits",
    )
    .option(
      "--scenario <file>",
      "run this scenario's system, knobs and guests (traces, then shells)",
    )
    .option("--profile <profile>", "reference | hardened (default: the scenario's)", parseProfile)
    .option("--seed <n>", "override the scenario's seed", parseSeed)
    .option("--speed <x>", "virtual seconds per wall-clock second (default 1)", parseSpeed)
    .option("--no-colour", "turn virt_tx's colour codes off")
    .action(
      async (flags: {
        scenario?: string;
        profile?: "reference" | "hardened";
        seed?: number;
        speed?: number;
        colour?: boolean;
      }) => {
        const result = await liveSession({
          ...(flags.scenario === undefined ? {} : { scenarioFile: flags.scenario }),
          ...(flags.profile === undefined ? {} : { profile: flags.profile }),
          ...(flags.seed === undefined ? {} : { seed: flags.seed }),
          ...(flags.speed === undefined ? {} : { speed: flags.speed }),
          ...(flags.colour === false ? { colour: false } : {}),
          ...(io.live ?? {}),
        });
        if (result.status !== 0) throw new ExitRequest(result.status);
      },
    );

  return program;
}

const KNOWN_ERRORS = [ScenarioError, WiringError, SdfError, AsciicastError, LiveError] as const;

/** Run the command line; resolves to the process exit code. */
export async function main(argv: readonly string[], io: Io = processIo): Promise<number> {
  try {
    await createProgram(io).parseAsync([...argv], { from: "user" });
    return 0;
  } catch (error) {
    if (error instanceof ExitRequest) return error.exitCode;
    if (error instanceof CommanderError) return error.exitCode;
    // Our own and our dependencies' typed errors carry a stable `code` and a located message.
    const coded = error instanceof Error && typeof (error as { code?: unknown }).code === "string";
    if (coded || KNOWN_ERRORS.some((cls) => error instanceof cls)) {
      io.err(`vmmux: ${(error as Error).message}\n`);
      return 1;
    }
    throw error;
  }
}
