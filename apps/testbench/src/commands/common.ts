/**
 * What the `vmmux` commands share: argument parsers, scenario loading with the CLI's
 * overrides, the progress line, and the re-run line printed for a finding.
 */
import { InvalidArgumentError } from "commander";
import type { Io } from "../commands.js";
import { parseShard, type Shard } from "../explore/shard.js";
import { commandLine } from "../record/record.js";
import { type Knobs, loadScenario, type Scenario, withKnobs } from "../scenario.js";
import { QUERY_MODES, type QueryMode, visibleControls } from "../terminal-queries.js";

/** Thrown by a command to end with `exitCode` after it has printed its own explanation. */
export class ExitRequest extends Error {
  constructor(readonly exitCode: number) {
    super(`exit ${exitCode}`);
  }
}

export function parseSeed(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) > 2 ** 32 - 1) {
    throw new InvalidArgumentError("must be an integer 0..4294967295");
  }
  return Number(value);
}

export function parseSeconds(value: string): number {
  const seconds = Number(value);
  if (!(seconds > 0) || !Number.isFinite(seconds)) {
    throw new InvalidArgumentError("must be a positive number of seconds");
  }
  return seconds;
}

export function parseCount(value: string): number {
  const count = Number(value);
  if (!Number.isInteger(count) || count < 1 || count > 10_000) {
    throw new InvalidArgumentError("must be a whole number from 1 to 10000");
  }
  return count;
}

export function parseSpeed(value: string): number {
  const speed = Number(value);
  if (!(speed > 0) || !Number.isFinite(speed)) {
    throw new InvalidArgumentError("must be a positive number (virtual seconds per second)");
  }
  return speed;
}

export function parseProfile(value: string): "reference" | "hardened" {
  if (value !== "reference" && value !== "hardened") {
    throw new InvalidArgumentError('must be "reference" or "hardened"');
  }
  return value;
}

export function parseQueryMode(value: string): QueryMode {
  if (!(QUERY_MODES as readonly string[]).includes(value)) {
    throw new InvalidArgumentError(`must be one of ${QUERY_MODES.join(", ")}`);
  }
  return value as QueryMode;
}

export function parseCastVersion(value: string): 2 | 3 {
  if (value !== "2" && value !== "3") throw new InvalidArgumentError("must be 2 or 3");
  return Number(value) as 2 | 3;
}

/** `--timeline-window from:to`: virtual seconds of the run the Perfetto file holds, as ns. */
export interface TimelineWindowFlag {
  readonly fromNs?: number;
  readonly toNs?: number;
  /** The window as the user gave it, in seconds (`null`: open). */
  readonly fromSeconds: number | null;
  readonly toSeconds: number | null;
}

const WINDOW_FORM = "must be from:to in virtual seconds, e.g. 300:305, 300: or :305";

/** One end of `--timeline-window` in seconds (`null`: left open). */
function windowEnd(text: string): number | null {
  if (text === "") return null;
  if (text.startsWith("-")) throw new InvalidArgumentError("its times must not be negative");
  if (!/^(\d+(\.\d*)?|\.\d+)$/.test(text)) throw new InvalidArgumentError(WINDOW_FORM);
  const seconds = Number(text);
  if (!Number.isSafeInteger(Math.round(seconds * 1e9))) {
    throw new InvalidArgumentError(`${text} s is past the longest run a clock of ns can time`);
  }
  return seconds;
}

export function parseTimelineWindow(value: string): TimelineWindowFlag {
  const parts = value.split(":");
  if (parts.length !== 2) throw new InvalidArgumentError(WINDOW_FORM);
  const from = windowEnd(parts[0]!.trim());
  const to = windowEnd(parts[1]!.trim());
  if (from === null && to === null) {
    throw new InvalidArgumentError("must give from, to or both, e.g. 300:305, 300: or :305");
  }
  const fromNs = from === null ? undefined : Math.round(from * 1e9);
  const toNs = to === null ? undefined : Math.round(to * 1e9);
  if (fromNs !== undefined && toNs !== undefined && !(fromNs < toNs)) {
    throw new InvalidArgumentError(`is empty: from (${from} s) must be before to (${to} s)`);
  }
  return {
    ...(fromNs === undefined ? {} : { fromNs }),
    ...(toNs === undefined ? {} : { toNs }),
    fromSeconds: from,
    toSeconds: to,
  };
}

/** A timeline window as the report says it. */
export function describeTimelineWindow(window: TimelineWindowFlag): string {
  const { fromSeconds: from, toSeconds: to } = window;
  if (from === null) return `up to ${to} s of virtual time`;
  if (to === null) return `from ${from} s of virtual time on`;
  return `${from} s to ${to} s of virtual time`;
}

export interface RunFlags {
  readonly seed?: number;
  readonly colour?: boolean;
  /** Seed of a perturbed schedule (`RunOptions.schedule`), to replay an `--explore` finding. */
  readonly schedule?: number;
  /** `false` from `--no-fast-forward`: simulate every trapped WFI (the `fastForward` knob). */
  readonly fastForward?: boolean;
}

/** The knobs the flags override (also what exploration workers apply to the scenario). */
export function knobOverrides(flags: RunFlags): Partial<Knobs> {
  const overrides: Partial<Knobs> = {};
  if (flags.seed !== undefined) Object.assign(overrides, { seed: flags.seed });
  if (flags.colour === false) Object.assign(overrides, { colour: false });
  if (flags.fastForward === false) Object.assign(overrides, { fastForward: false });
  return overrides;
}

export function prepareScenario(file: string, flags: RunFlags): Scenario {
  return withKnobs(loadScenario(file), knobOverrides(flags));
}

/** `--workers`: threads for an exploration; 0 runs it in the command's own thread. */
export function parseWorkers(value: string): number {
  const workers = Number(value);
  if (!/^\d+$/.test(value) || workers > 256) {
    throw new InvalidArgumentError("must be a whole number from 0 to 256");
  }
  return workers;
}

/** `--shard i/n`. */
export function parseShardFlag(value: string): Shard {
  try {
    return parseShard(value);
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
}

/**
 * How the user started `vmmux`, so a printed command runs as shown from the same shell:
 * `pnpm vmmux` (the root script), `pnpm exec vmmux`, `npx vmmux`, or plain `vmmux`.
 */
export function invokedAs(env: NodeJS.ProcessEnv = process.env): string {
  const agent = env.npm_config_user_agent ?? "";
  if (env.npm_lifecycle_event === "vmmux") {
    return agent.startsWith("npm/") ? "npm run vmmux --" : "pnpm vmmux";
  }
  if (agent.startsWith("pnpm/")) return "pnpm exec vmmux";
  if (agent.startsWith("npm/")) return "npx vmmux";
  return "vmmux";
}

/** The command that replays a run: the scenario (shell-quoted), its seed and schedule. */
export function replayCommand(file: string, seed: number, schedule?: number): string {
  const args = ["replay", file, "--seed", String(seed)];
  if (schedule !== undefined) args.push("--schedule", String(schedule));
  return `${invokedAs()} ${commandLine(args[0]!, args.slice(1))}`;
}

/** `--no-fast-forward`, for the commands that run scenarios. */
export const NO_FAST_FORWARD_HELP =
  "simulate every trapped WFI instead of advancing idle loops by arithmetic (same results, slower)";

/** Wall ms before the progress line appears; runs shorter than this show none. */
const PROGRESS_DELAY_MS = 1000;
/** Wall ms between two updates of the line. */
const PROGRESS_EVERY_MS = 100;

/**
 * One progress line on stderr, rewritten in place, through every phase of a command; shown
 * only when stdout is a terminal and the command has run for a second.
 */
export class Progress {
  readonly #started = Date.now();
  #lastShown = 0;
  #shown = false;

  constructor(
    private readonly io: Io,
    private readonly command: string,
  ) {}

  show(text: string): void {
    const now = Date.now();
    const delay = this.io.progressAfterMs ?? PROGRESS_DELAY_MS;
    if (!this.io.isTty || now - this.#started < delay) return;
    if (now - this.#lastShown < PROGRESS_EVERY_MS) return;
    this.#lastShown = now;
    this.#shown = true;
    this.io.err(`\r\x1b[2K${this.command}: ${visibleControls(text)}`);
  }

  /** A run's `onProgress` callback for the phase called `phase`. */
  phase(phase: string): (now: number, limit: number) => void {
    return (now, limit) =>
      this.show(
        `${phase}${phase === "" ? "" : ": "}${(now / 1e9).toFixed(1)} s of virtual time (limit ${limit / 1e9} s)`,
      );
  }

  /** Start a phase: the line changes at once rather than at the next tick. */
  begin(phase: string): void {
    this.#lastShown = 0;
    this.show(phase);
  }

  clear(): void {
    if (this.#shown) this.io.err("\r\x1b[2K");
    this.#shown = false;
  }
}
