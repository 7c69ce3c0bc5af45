/**
 * `vmmux live` (DESIGN.md "Interfaces people use"): the user's terminal is the far end of
 * the PL011's wire. Typed bytes start on the UART's RX line at the current virtual time;
 * characters leaving its TX line are written to stdout as they leave; virtual time follows
 * the wall clock times `speed` (`pacer.ts`). Switching guests is the RX virtualiser's own
 * sequence, `Ctrl+\ <n> Enter` (sddf-serial §6.2); vmmux's own keys hide behind `Ctrl+]`
 * (`keys.ts`).
 *
 * On a TTY stdin is put in raw mode and restored on every way out (quit, EOF, signal, throw).
 * Without a TTY, bytes are fed as they arrive, and at end of input the session ends once
 * the typed bytes have been taken in and the wire has been quiet for a while.
 */

import type { Readable, Writable } from "node:stream";
import { fileURLToPath } from "node:url";
import { COLOUR_END, colourStart } from "@vmmux/sddf-serial";
import { loadScenario, type Scenario, withKnobs } from "../scenario.js";
import { LiveError } from "./errors.js";
import { HostEscape } from "./keys.js";
import { Pacer } from "./pacer.js";
import { type LiveGuestCounts, LiveSystem } from "./system.js";

/** The scenario whose system and knobs the default session uses (its guests get shells). */
export const DEFAULT_LIVE_SCENARIO = fileURLToPath(
  new URL("../../../../traces/scenarios/default.json", import.meta.url),
);

/** Wall ms between turns when the model is ahead of the clock. */
const TICK_MS = 4;
/** Wall ms of simulation per turn at most, so typed keys are taken in promptly. */
const TURN_BUDGET_MS = 20;
/** Virtual ns per `runUntil` call inside a turn. */
const CHUNK_NS = 2_000_000;
/** Virtual backlog kept when the model is slower than asked (`Pacer.maxLagNs`). */
const MAX_LAG_NS = 100_000_000;
/** After end of input: the wire must be quiet this long (virtual ns) before the session ends. */
const DRAIN_QUIET_NS = 500_000_000;
/** After end of input: end anyway after this much virtual time. */
const DRAIN_LIMIT_NS = 120_000_000_000;

/** VMM findings listed per guest in the summary. */
const FINDINGS_SHOWN = 3;

const SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;
const SIGNAL_NUMBERS: Record<(typeof SIGNALS)[number], number> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGTERM: 15,
};

export type TerminalInput = Readable & {
  readonly isTTY?: boolean;
  readonly isRaw?: boolean;
  setRawMode?(mode: boolean): unknown;
};
export type TerminalOutput = Writable & { readonly isTTY?: boolean };

/** The streams and clock of the user's terminal (all optional: the process's own by default). */
export interface LiveTerminal {
  readonly stdin?: TerminalInput;
  readonly stdout?: TerminalOutput;
  readonly stderr?: TerminalOutput;
  /** Wall clock in ms; default `performance.now`. */
  readonly wallClock?: () => number;
  /** Listen for SIGINT/SIGTERM/SIGHUP (default true; tests running in-process pass false). */
  readonly handleSignals?: boolean;
}

export interface LiveOptions extends LiveTerminal {
  /** A scenario file: its system, knobs and guests (traces, then the shell where there is one). */
  readonly scenarioFile?: string;
  readonly profile?: "reference" | "hardened";
  readonly seed?: number;
  /** Virtual seconds per wall second; default 1. */
  readonly speed?: number;
  /** virt_tx colour codes; default the scenario's (on). */
  readonly colour?: boolean;
  /**
   * Hold input that does not come from a terminal (a pipe) until every shell has printed its
   * prompt (default true); false types it as it arrives, to show what early input does.
   */
  readonly holdPipedInput?: boolean;
}

export type LiveEnd = "quit" | "end-of-input" | "signal" | "output-closed";

export interface LiveResult {
  readonly end: LiveEnd;
  /** Shell-style exit status: 0, or 128 + the signal number. */
  readonly status: number;
  readonly virtualTimeNs: number;
  readonly wallMs: number;
  /** The pace asked for (virtual seconds per wall second). */
  readonly speed: number;
  /** Virtual ns given up because the model ran slower than `speed`. */
  readonly slippedNs: number;
  readonly bytesTyped: number;
  readonly guests: readonly LiveGuestCounts[];
  readonly loss: Readonly<Record<string, number>>;
  /** Wire bytes from the virtualiser itself (colour codes) or untagged. */
  readonly otherWireBytes: number;
}

/** The scenario a session runs and what its guests do. */
export function liveScenario(options: LiveOptions): {
  scenario: Scenario;
  workload: "shell" | "scenario";
} {
  if (options.speed !== undefined && !(options.speed > 0 && Number.isFinite(options.speed))) {
    throw new LiveError("LIVE_INVALID_OPTIONS", "--speed", "must be a positive number");
  }
  const file = options.scenarioFile ?? DEFAULT_LIVE_SCENARIO;
  const loaded = loadScenario(file);
  const scenario = withKnobs(loaded, {
    ...(options.profile === undefined ? {} : { profile: options.profile }),
    ...(options.seed === undefined ? {} : { seed: options.seed }),
    ...(options.colour === undefined ? {} : { colour: options.colour }),
  });
  if (scenario.knobs.lineAtomic && scenario.knobs.profile === "reference") {
    throw new LiveError(
      "LIVE_INVALID_OPTIONS",
      "--profile",
      `reference cannot run ${file}: its line-atomic mux exists only under hardened`,
    );
  }
  if (options.scenarioFile === undefined) {
    const notVm = scenario.guests.find((g) => g.kind !== "vm");
    if (notVm !== undefined) {
      throw new LiveError(
        "LIVE_NO_SHELL_SYSTEM",
        file,
        `guest '${notVm.name}' is not a vm guest, so it cannot run the shell`,
      );
    }
    return { scenario, workload: "shell" };
  }
  return { scenario, workload: "scenario" };
}

function paint(text: string, k: number, colour: boolean): string {
  if (!colour) return text;
  return `${String.fromCharCode(...colourStart(k))}${text}${String.fromCharCode(...COLOUR_END)}`;
}

/** The lines printed at the start and on `Ctrl+] ?`: how to switch guests and how to quit. */
export function helpLine(live: LiveSystem, colour: boolean): string {
  const guests = live.guests
    .map((g) => `${paint(g.name, g.index, colour)}: Ctrl+\\ ${g.index} Enter`)
    .join("   ");
  return (
    `vmmux live: your terminal is the UART. Switch input to ${guests}\n` +
    `vmmux live: typing goes to ${paint(live.guests[live.selected]?.name ?? "-", live.selected, colour)} now. Quit: Ctrl+] q   Help: Ctrl+] ?`
  );
}

/** The notice shown when virt_rx switched clients (host-side, never on the wire). */
export function switchNotice(live: LiveSystem, colour: boolean): string {
  const g = live.guests[live.selected];
  return `[vmmux live: typing goes to ${g === undefined ? "no guest" : paint(g.name, g.index, colour)}]`;
}

/** Notes on a scenario session: which guests have no shell; the scenario's keyboard is unused. */
export function scenarioNotes(live: LiveSystem, scenario: Scenario): string[] {
  const notes: string[] = [];
  for (const g of live.guests) {
    if (g.shell) continue;
    notes.push(
      g.kind === "vm"
        ? `${g.name} is a hostile guest (it writes random registers and descriptors): it has no shell`
        : `${g.name} is an sDDF client PD: it replays its trace and echoes what you type, but has no shell`,
    );
  }
  if (scenario.keyboard.length > 0) {
    notes.push(
      `the scenario's recorded keyboard input (${scenario.keyboard.length} strokes) is not replayed: you are the keyboard`,
    );
  }
  return notes;
}

const seconds = (ns: number) => `${(ns / 1e9).toFixed(3)} s`;

/** The summary printed at the end: per guest bytes in and out, loss points by name. */
export function formatSummary(result: LiveResult, scenario: Scenario): string {
  const out: string[] = [];
  const pace = result.wallMs > 0 ? result.virtualTimeNs / 1e6 / result.wallMs : 0;
  out.push(
    `vmmux live: ${result.end}; ${seconds(result.virtualTimeNs)} of virtual time in ${(result.wallMs / 1000).toFixed(1)} s ` +
      `(×${pace.toFixed(2)}, asked ×${result.speed}` +
      `${result.slippedNs > 0 ? `; fell behind by ${seconds(result.slippedNs)}` : ""}), ` +
      `profile ${scenario.knobs.profile}, seed ${scenario.knobs.seed}`,
  );
  const rows = [["guest", "typed in", "wrote", "on wire", "loss points"]];
  for (const g of result.guests) {
    const loss = Object.entries(g.loss)
      .filter(([, n]) => n !== 0)
      .map(([k, n]) => `${k}=${n}`);
    rows.push([
      g.name,
      String(g.bytesIn),
      String(g.bytesOut),
      String(g.bytesOnWire),
      loss.length === 0 ? "none" : loss.join(" "),
    ]);
  }
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  for (const r of rows) {
    out.push(
      `  ${r.map((cell, c) => (c === 0 || c === r.length - 1 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join("  ")}`.trimEnd(),
    );
  }
  const system = Object.entries(result.loss)
    .filter(([, n]) => n !== 0)
    .map(([k, n]) => `${k}=${n}`);
  out.push(
    `  typed ${result.bytesTyped} bytes; wire also carried ${result.otherWireBytes} virtualiser bytes (begin string, colour codes)`,
  );
  out.push(`  system loss and stall points: ${system.length === 0 ? "none" : system.join(" ")}`);
  for (const g of result.guests) {
    if (g.findings.length === 0) continue;
    const shown = g.findings.slice(0, FINDINGS_SHOWN);
    out.push(`  ${g.name}: ${g.findings.length} VMM finding(s) kept, the first ${shown.length}:`);
    for (const f of shown) out.push(`    ${f}`);
  }
  return out.join("\n");
}

/** Run one live session until the user quits, input ends (and drains) or a signal arrives. */
export async function liveSession(options: LiveOptions = {}): Promise<LiveResult> {
  const { scenario, workload } = liveScenario(options);
  const stdin = options.stdin ?? (process.stdin as TerminalInput);
  const stdout = options.stdout ?? (process.stdout as TerminalOutput);
  const stderr = options.stderr ?? (process.stderr as TerminalOutput);
  const clock = options.wallClock ?? (() => performance.now());
  const speed = options.speed ?? 1;

  let pendingOut: number[] = [];
  const live = new LiveSystem({
    scenario,
    workload,
    onWire: (byte) => {
      pendingOut.push(byte);
    },
  });
  const raw = stdin.isTTY === true && typeof stdin.setRawMode === "function";
  const wasRaw = stdin.isRaw === true;
  /** Our own lines end in `\r\n` on a terminal, so they start at column 0 whatever the output mode. */
  const say = (text: string) => {
    stderr.write(raw ? `${text.replaceAll("\n", "\r\n")}\r\n` : `${text}\n`);
  };
  const colourMessages = scenario.knobs.colour && stderr.isTTY === true;

  let end: LiveEnd | undefined;
  let signalNumber = 0;
  let eofAt: number | undefined;
  const hostKeys = new HostEscape();
  // Piped input arrives at once, before any guest is up; a guest's tty flushes what came before
  // it opened (Linux does), so piped bytes are held until every shell has printed its prompt.
  const held: number[][] = [];
  const holdPiped = !raw && (options.holdPipedInput ?? true);
  const typeOrHold = (bytes: ArrayLike<number>) => {
    if (holdPiped && (held.length > 0 || !live.shellsReady())) held.push(Array.from(bytes));
    else live.type(bytes);
  };
  const act = (actions: ReturnType<HostEscape["feed"]>) => {
    for (const a of actions) {
      if (a.kind === "type") typeOrHold(a.bytes);
      else if (a.kind === "help") say(`\n${helpLine(live, colourMessages)}`);
      else end ??= "quit";
    }
  };
  const onData = (chunk: Buffer | string) => {
    if (end !== undefined || eofAt !== undefined) return;
    act(hostKeys.feed(typeof chunk === "string" ? Buffer.from(chunk) : chunk));
  };
  const onEnd = () => {
    if (eofAt !== undefined) return;
    act(hostKeys.end());
    eofAt = live.now();
  };
  const onSignal = (signal: (typeof SIGNALS)[number]) => () => {
    end ??= "signal";
    signalNumber = SIGNAL_NUMBERS[signal];
  };
  const signalHandlers = SIGNALS.map((s) => [s, onSignal(s)] as const);
  const onOutputError = () => {
    end ??= "output-closed";
  };
  const restore = () => {
    if (raw) stdin.setRawMode?.(wasRaw);
  };

  let selected = live.selected;
  const wallStart = clock();
  const pacer = new Pacer({
    speed,
    maxLagNs: MAX_LAG_NS,
    wallStartMs: wallStart,
    virtualStartNs: 0,
  });
  const flush = () => {
    if (pendingOut.length === 0) return;
    const bytes = Buffer.from(pendingOut);
    pendingOut = [];
    stdout.write(bytes);
  };
  const drained = (): boolean => {
    if (eofAt === undefined) return false;
    const now = live.now();
    if (now - eofAt >= DRAIN_LIMIT_NS) return true;
    if (held.length > 0 || live.typingInFlight > 0) return false;
    if (now - Math.max(eofAt, live.lastOutputAt) < DRAIN_QUIET_NS) return false;
    return live.tracesDone();
  };

  try {
    if (raw) stdin.setRawMode?.(true);
    process.once("exit", restore);
    if (options.handleSignals ?? true) {
      for (const [signal, handler] of signalHandlers) process.on(signal, handler);
    }
    stdout.on("error", onOutputError);
    say(helpLine(live, colourMessages));
    if (workload === "scenario") {
      for (const note of scenarioNotes(live, scenario)) say(`vmmux live: ${note}`);
    }
    stdin.on("data", onData);
    stdin.once("end", onEnd);
    stdin.once("error", onEnd);
    stdin.resume();

    while (end === undefined) {
      const turnStart = clock();
      const target = pacer.target(turnStart);
      while (live.now() < target && end === undefined && clock() - turnStart < TURN_BUDGET_MS) {
        live.runUntil(Math.min(target, live.now() + CHUNK_NS));
        flush();
      }
      pacer.settle(live.now(), clock());
      if (held.length > 0 && live.shellsReady())
        for (const bytes of held.splice(0)) live.type(bytes);
      if (live.selected !== selected) {
        selected = live.selected;
        say(`\n${switchNotice(live, colourMessages)}`);
      }
      if (drained()) end = "end-of-input";
      if (end !== undefined) break;
      const wait = live.now() >= target ? TICK_MS : 0;
      await new Promise<void>((resolve) =>
        wait > 0 ? setTimeout(resolve, wait) : setImmediate(resolve),
      );
    }
  } finally {
    flush();
    stdin.off("data", onData);
    stdin.off("end", onEnd);
    stdin.off("error", onEnd);
    stdin.pause();
    for (const [signal, handler] of signalHandlers) process.off(signal, handler);
    stdout.off("error", onOutputError);
    restore();
    process.off("exit", restore);
  }

  const result: LiveResult = {
    end: end ?? "quit",
    status: end === "signal" ? 128 + signalNumber : 0,
    virtualTimeNs: live.now(),
    wallMs: clock() - wallStart,
    speed,
    slippedNs: pacer.slippedNs,
    bytesTyped: live.bytesTyped,
    guests: live.guestCounts(),
    loss: live.systemLoss(),
    otherWireBytes: live.otherWireBytes(),
  };
  // The guests' colour may still be set on the user's terminal: reset it before our summary.
  if (scenario.knobs.colour && stdout.isTTY === true) stdout.write("\x1b[0m");
  say(`\n${formatSummary(result, scenario)}`);
  return result;
}
