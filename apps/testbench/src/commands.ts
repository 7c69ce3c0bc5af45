/**
 * The `vmmux` command line (DESIGN.md "Interfaces people use"); one module per command in
 * `commands/`. Output goes through an injectable `Io` so the commands run in-process in
 * tests as well as from `cli.ts`.
 */
import { readFileSync } from "node:fs";
import type { Readable, Writable } from "node:stream";
import { SdfError } from "@vmmux/microkit-pd";
import { Command, CommanderError } from "commander";
import { AsciicastError } from "./asciicast.js";
import { registerCheckCommand } from "./commands/check.js";
import { ExitRequest } from "./commands/common.js";
import { registerFuzzCommand } from "./commands/fuzz.js";
import { registerGuestAssetsCommand } from "./commands/guest-assets.js";
import { registerMergeCommand } from "./commands/merge.js";
import {
  registerLiveCommand,
  registerRecordCommand,
  registerSchemaCommand,
} from "./commands/other.js";
import { registerReplayCommand } from "./commands/replay.js";
import { ScenarioError, WiringError } from "./errors.js";
import { registerGenCommand } from "./gen/command.js";
import { LiveError } from "./live/errors.js";
import type { LiveTerminal } from "./live/live.js";
import { OutputDirError } from "./output-dir.js";
import { registerSdfCommand } from "./sdf-command.js";
import { visibleControls } from "./terminal-queries.js";

export interface Io {
  out(text: string): void;
  err(text: string): void;
  /** Whether stdout is a terminal (progress is shown only then). */
  readonly isTty: boolean;
  /** Wall ms a command runs before its progress line appears (default 1000). */
  readonly progressAfterMs?: number;
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

/** This package's version (`package.json` is one level up from both `src/` and `dist/`). */
export function vmmuxVersion(): string {
  const manifest = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));
  return String(manifest.version);
}

/** Build the `vmmux` program. `exitOverride` keeps commander from calling process.exit. */
export function createProgram(io: Io = processIo): Command {
  const program = new Command("vmmux")
    .description("Two Linux guests on seL4 Microkit sharing one PL011 UART, as an executable model")
    .version(vmmuxVersion(), "-V, --version", "print the version")
    .configureOutput({
      writeOut: io.out,
      // Commander's messages quote what the user typed: escape control bytes in them.
      writeErr: (text) => io.err(visibleControls(text, true)),
    })
    .enablePositionalOptions()
    .exitOverride();

  registerSdfCommand(program, io);
  registerGenCommand(program, io);
  registerGuestAssetsCommand(program, io);
  registerSchemaCommand(program, io);
  registerReplayCommand(program, io);
  registerCheckCommand(program, io);
  registerMergeCommand(program, io);
  registerFuzzCommand(program, io);
  registerRecordCommand(program, io);
  registerLiveCommand(program, io);
  return program;
}

const KNOWN_ERRORS = [
  ScenarioError,
  WiringError,
  SdfError,
  AsciicastError,
  LiveError,
  OutputDirError,
] as const;

/** Run the command line; resolves to the process exit code. */
export async function main(argv: readonly string[], io: Io = processIo): Promise<number> {
  try {
    await createProgram(io).parseAsync([...argv], { from: "user" });
    return 0;
  } catch (error) {
    if (error instanceof ExitRequest) return error.exitCode;
    if (error instanceof CommanderError) return error.exitCode;
    // Our own and our dependencies' typed errors carry a stable `code` and a located message;
    // what they quote from an input file may hold control bytes, shown escaped.
    const coded = error instanceof Error && typeof (error as { code?: unknown }).code === "string";
    if (coded || KNOWN_ERRORS.some((cls) => error instanceof cls)) {
      io.err(`vmmux: ${visibleControls((error as Error).message, true)}\n`);
      return 1;
    }
    throw error;
  }
}
