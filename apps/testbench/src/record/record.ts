/**
 * `vmmux record -- <command>` (DESIGN.md "Interfaces people use"): run a command with plain
 * pipes (no pseudo-terminal, so no native dependency), show its output live, forward the
 * user's keystrokes to it and keep both, timestamped, as an asciicast (v2, or v3) recording that
 * `replay` loads as a guest stream. QEMU's `-nographic` console speaks through stdio, so a
 * real serial session records this way.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readdir, stat, unlink } from "node:fs/promises";
import { constants } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import type { Readable, Writable } from "node:stream";
import { TextDecoder } from "node:util";
import {
  type Asciicast,
  type AsciicastEvent,
  type AsciicastHeader,
  formatAsciicast,
  writeFileAtomic,
} from "../asciicast.js";
import { RecordError } from "./errors.js";

export interface RecordOptions {
  readonly command: string;
  readonly args?: readonly string[];
  /** Path of the asciicast to write; replaced atomically when the command exits. */
  readonly output: string;
  /**
   * The user's keystrokes, forwarded to the command and recorded as `"i"` events. Default
   * `process.stdin`, put in raw mode when it is a TTY; `null` gives the command an empty stdin.
   */
  readonly stdin?: Readable | null;
  /** Where the command's stdout and stderr are shown live (default `process.stdout`; `null`: nowhere). */
  readonly echo?: Writable | null;
  /** Variables set over the recorder's own environment. */
  readonly env?: Readonly<Record<string, string>>;
  readonly cwd?: string;
  /** Stop the command (SIGTERM, then SIGKILL 2 s later) after this long; the recording is kept. */
  readonly timeoutMs?: number;
  /** Terminal size for the header; default the `echo` TTY's size (its resizes become `"r"` events), else 80x24. */
  readonly size?: { readonly width: number; readonly height: number };
  /** Header title; default the command line. */
  readonly title?: string;
  /** asciicast version to write: 2 (default) or 3 (relative intervals, `term` header). */
  readonly castVersion?: 2 | 3;
}

export interface RecordResult {
  readonly output: string;
  readonly cast: Asciicast;
  /** The command's exit code, or `null` when a signal ended it. */
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  /** Shell-style exit status to pass on: the exit code, or 128 + the signal number. */
  readonly status: number;
  /** The command was stopped because `timeoutMs` ran out. */
  readonly timedOut: boolean;
}

const KILL_GRACE_MS = 2000;
/** How long output pipes may stay open after the command exited. */
const DRAIN_MS = 500;
const FORWARDED_SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;

/** A command line as a person would type it into a POSIX shell. */
export function commandLine(command: string, args: readonly string[] = []): string {
  return [command, ...args]
    .map((word) => (/^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`))
    .join(" ");
}

/** Shell-style status of a finished process. */
export function exitStatus(exitCode: number | null, signal: NodeJS.Signals | null): number {
  if (exitCode !== null) return exitCode;
  return 128 + (signal === null ? 0 : (constants.signals[signal] ?? 0));
}

function validate(options: RecordOptions, line: string): void {
  const invalid = (problem: string) => new RecordError("RECORD_INVALID_OPTIONS", line, problem);
  if (options.command === "") throw invalid("no command to record");
  if (
    options.timeoutMs !== undefined &&
    !(Number.isFinite(options.timeoutMs) && options.timeoutMs > 0)
  ) {
    throw invalid(`timeout must be a positive number of milliseconds, got ${options.timeoutMs}`);
  }
  const size = options.size;
  if (
    size !== undefined &&
    !(Number.isInteger(size.width) && size.width > 0 && Number.isInteger(size.height))
  ) {
    throw invalid(`terminal size must be positive integers, got ${size.width}x${size.height}`);
  }
  if (size !== undefined && size.height <= 0) {
    throw invalid(`terminal size must be positive integers, got ${size.width}x${size.height}`);
  }
}

/** Fail before the session rather than lose it at the end: the output's folder must exist. */
async function checkOutputPath(output: string): Promise<void> {
  const folder = dirname(output);
  const fail = (problem: string) => new RecordError("RECORD_WRITE_FAILED", output, problem);
  const folderStat = await stat(folder).catch(() => undefined);
  if (folderStat === undefined) throw fail(`folder ${folder} does not exist`);
  if (!folderStat.isDirectory()) throw fail(`${folder} is not a folder`);
  const existing = await stat(output).catch(() => undefined);
  if (existing?.isDirectory()) throw fail("is a folder");
}

/** Remove the temporary files `writeFileAtomic` of this process may have left beside `output`. */
async function removeTemporaries(output: string): Promise<void> {
  const prefix = `.${basename(output)}.${process.pid}.`;
  const names = await readdir(dirname(output)).catch(() => [] as string[]);
  await Promise.all(
    names
      .filter((name) => name.startsWith(prefix) && name.endsWith(".tmp"))
      .map((name) => unlink(join(dirname(output), name)).catch(() => undefined)),
  );
}

type TtyOutput = Writable & { isTTY?: boolean; columns?: number; rows?: number };

function terminalSize(options: RecordOptions, echo: Writable | null): [number, number] {
  if (options.size) return [options.size.width, options.size.height];
  const tty = echo as TtyOutput | null;
  if (tty?.isTTY && tty.columns && tty.rows) return [tty.columns, tty.rows];
  return [80, 24];
}

interface RawModeInput {
  readonly isTTY?: boolean;
  readonly isRaw?: boolean;
  setRawMode?(mode: boolean): unknown;
}

/**
 * Record `options.command` until it exits, then write the asciicast atomically. Rejects
 * with a {@link RecordError} (and writes nothing) when the command cannot start or the file
 * cannot be written; a command that fails is still a recording, with its status kept.
 */
export async function recordCommand(options: RecordOptions): Promise<RecordResult> {
  const args = options.args ?? [];
  const line = commandLine(options.command, args);
  validate(options, line);
  const output = resolve(options.output);
  await checkOutputPath(output);

  const stdin = options.stdin === undefined ? process.stdin : options.stdin;
  const echo = options.echo === undefined ? process.stdout : options.echo;
  const [width, height] = terminalSize(options, echo);
  const env = { ...process.env, ...options.env };
  const header: AsciicastHeader = {
    version: options.castVersion ?? 2,
    width,
    height,
    timestamp: Math.floor(Date.now() / 1000),
    title: options.title ?? line,
    env: Object.fromEntries(
      (["TERM", "SHELL"] as const).flatMap((k) => (env[k] ? [[k, env[k]]] : [])),
    ),
  };

  const events: AsciicastEvent[] = [];
  let started = performance.now();
  let last = 0;
  /** Seconds since the start to the microsecond the file keeps; never less than the previous event's. */
  const now = (): number => {
    const micros = Math.round((performance.now() - started) * 1000) / 1e6;
    last = Math.max(last, micros);
    return last;
  };

  const child: ChildProcess = spawn(options.command, args, {
    stdio: ["pipe", "pipe", "pipe"],
    env,
    cwd: options.cwd,
    // Its own process group, so a timeout or a forwarded signal reaches what it started too.
    detached: true,
  });
  started = performance.now();

  const ttyInput = stdin as (Readable & RawModeInput) | null;
  const wasRaw = ttyInput?.isTTY ? ttyInput.isRaw === true : false;
  let rawSet = false;
  const restoreTerminal = (): void => {
    if (rawSet) {
      ttyInput?.setRawMode?.(wasRaw);
      rawSet = false;
    }
  };
  const signalChild = (signal: NodeJS.Signals): void => {
    if (child.pid === undefined) return;
    try {
      process.kill(-child.pid, signal);
    } catch {
      child.kill(signal);
    }
  };
  const forward = (signal: NodeJS.Signals) => (): void => {
    restoreTerminal();
    signalChild(signal);
  };
  const signalHandlers = FORWARDED_SIGNALS.map((s) => [s, forward(s)] as const);

  const onOutput = (decoder: TextDecoder) => (chunk: Buffer) => {
    const data = decoder.decode(chunk, { stream: true });
    if (data !== "") events.push({ time: now(), code: "o", data });
    echo?.write(chunk);
  };
  const outDecoder = new TextDecoder();
  const errDecoder = new TextDecoder();
  const inDecoder = new TextDecoder();
  child.stdout?.on("data", onOutput(outDecoder));
  child.stderr?.on("data", onOutput(errDecoder));
  // The command may exit without reading its input: a broken pipe is not the recorder's failure.
  child.stdin?.on("error", () => undefined);
  const onInput = (chunk: Buffer | string) => {
    const bytes = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
    const data = inDecoder.decode(bytes, { stream: true });
    if (data !== "") events.push({ time: now(), code: "i", data });
    if (child.stdin?.writable) child.stdin.write(bytes);
  };
  const onInputEnd = () => child.stdin?.end();
  // The command sees a pipe, not the terminal, but the player should see the size change (asciicast "r").
  const tty = echo as TtyOutput | null;
  const onResize = () => {
    if (tty?.columns && tty.rows) {
      events.push({ time: now(), code: "r", data: `${tty.columns}x${tty.rows}` });
    }
  };
  const followResize = options.size === undefined && tty?.isTTY === true;

  let timedOut = false;
  let timeout: NodeJS.Timeout | undefined;
  let kill: NodeJS.Timeout | undefined;
  let drain: NodeJS.Timeout | undefined;

  const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>(
    (resolveClose, rejectClose) => {
      child.once("error", (error: NodeJS.ErrnoException) => {
        if (child.pid === undefined) {
          rejectClose(
            new RecordError(
              "RECORD_SPAWN_FAILED",
              line,
              `cannot start: ${error.code ?? error.message}`,
            ),
          );
        }
      });
      child.once("close", (code, signal) => resolveClose({ code, signal }));
      // A process the command left running may hold its pipes open: stop waiting for them.
      child.once("exit", (code, signal) => {
        drain = setTimeout(() => {
          child.stdout?.destroy();
          child.stderr?.destroy();
          resolveClose({ code, signal });
        }, DRAIN_MS);
      });
    },
  );

  const started$ = new Promise<boolean>((resolveSpawn) => {
    child.once("spawn", () => resolveSpawn(true));
    child.once("error", () => resolveSpawn(false));
  });
  if (await started$) {
    if (ttyInput?.isTTY && ttyInput.setRawMode) {
      ttyInput.setRawMode(true);
      rawSet = true;
    }
    process.once("exit", restoreTerminal);
    for (const [signal, handler] of signalHandlers) process.on(signal, handler);
    if (followResize) echo?.on("resize", onResize);
    if (stdin) {
      stdin.on("data", onInput);
      stdin.once("end", onInputEnd);
      stdin.resume();
    } else {
      child.stdin?.end();
    }
    if (options.timeoutMs !== undefined) {
      timeout = setTimeout(() => {
        timedOut = true;
        events.push({ time: now(), code: "m", data: `timeout after ${options.timeoutMs} ms` });
        signalChild("SIGTERM");
        kill = setTimeout(() => signalChild("SIGKILL"), KILL_GRACE_MS);
      }, options.timeoutMs);
    }
  }

  let result: { code: number | null; signal: NodeJS.Signals | null };
  try {
    result = await closed;
  } finally {
    clearTimeout(timeout);
    clearTimeout(kill);
    clearTimeout(drain);
    restoreTerminal();
    process.off("exit", restoreTerminal);
    for (const [signal, handler] of signalHandlers) process.off(signal, handler);
    echo?.off("resize", onResize);
    if (stdin) {
      stdin.off("data", onInput);
      stdin.off("end", onInputEnd);
      if (stdin === process.stdin) stdin.pause();
    }
  }
  for (const decoder of [outDecoder, errDecoder]) {
    const rest = decoder.decode();
    if (rest !== "") events.push({ time: now(), code: "o", data: rest });
  }

  const cast: Asciicast = { header, events };
  try {
    await writeFileAtomic(output, formatAsciicast(cast));
  } catch (error) {
    await removeTemporaries(output);
    throw new RecordError(
      "RECORD_WRITE_FAILED",
      output,
      `cannot write: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    );
  }
  return {
    output,
    cast,
    exitCode: result.code,
    signal: result.signal,
    status: exitStatus(result.code, result.signal),
    timedOut,
  };
}
