/**
 * asciicast v2 and v3 (https://docs.asciinema.org/manual/asciicast/v2/, .../v3/): the format
 * of guest streams and host-terminal recordings (DESIGN.md "Traces and scenarios"). Line 1
 * is a JSON header object; every further non-empty line is `[time, code, data]` with `code`
 * one of `o` (output), `i` (input), `m` (marker) or `r` (resize, `"COLSxROWS"`).
 *
 * v2: `time` is seconds since the start; the header has `width` and `height`.
 * v3 (asciinema 3.0's default): `time` is the interval since the previous event; the header
 * has `term: { cols, rows, type?, version? }`; lines starting with `#` are comments; an `x`
 * event records the exit status. Both load into the same in-memory form (absolute times,
 * `width`/`height`), so every reader takes either.
 */
import { rename, writeFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";

/** v3's description of the recording terminal beyond its size. */
export interface AsciicastTerm {
  /** `TERM`, e.g. `xterm-256color`. */
  readonly type?: string;
  /** The terminal's own version string (its XTVERSION answer). */
  readonly version?: string;
}

export interface AsciicastHeader {
  /** The format the recording was read from (or is to be written in by default). */
  readonly version: 2 | 3;
  /** Columns (v3: `term.cols`). */
  readonly width: number;
  /** Rows (v3: `term.rows`). */
  readonly height: number;
  readonly timestamp?: number;
  readonly duration?: number;
  readonly title?: string;
  readonly env?: Readonly<Record<string, string>>;
  /** v3 only: the terminal's type and version. */
  readonly term?: AsciicastTerm;
}

/** `x` (exit status) occurs only in v3. */
export type AsciicastEventCode = "o" | "i" | "m" | "r" | "x";

export interface AsciicastEvent {
  /** Seconds since the start of the recording. */
  readonly time: number;
  readonly code: AsciicastEventCode;
  readonly data: string;
}

export interface Asciicast {
  readonly header: AsciicastHeader;
  readonly events: readonly AsciicastEvent[];
}

/** A malformed recording: names the file, the 1-based line and the field at fault. */
export class AsciicastError extends Error {
  readonly code = "ASCIICAST_INVALID";
  constructor(
    readonly file: string,
    readonly line: number,
    readonly field: string,
    readonly problem: string,
  ) {
    super(`${file}:${line}: ${field}: ${problem}`);
    this.name = "AsciicastError";
  }
}

const EVENT_CODES: Record<2 | 3, ReadonlySet<string>> = {
  2: new Set(["o", "i", "m", "r"]),
  3: new Set(["o", "i", "m", "r", "x"]),
};

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function parseHeader(text: string, file: string): AsciicastHeader {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new AsciicastError(file, 1, "header", `not JSON (${(error as Error).message})`);
  }
  if (!isRecord(value)) throw new AsciicastError(file, 1, "header", "must be a JSON object");
  if (value.version !== 2 && value.version !== 3) {
    throw new AsciicastError(
      file,
      1,
      "version",
      `must be 2 or 3, found ${JSON.stringify(value.version)}`,
    );
  }
  if (value.version === 3) return parseHeaderV3(value, file);
  for (const field of ["width", "height"] as const) {
    const size = value[field];
    if (typeof size !== "number" || !Number.isInteger(size) || size <= 0) {
      throw new AsciicastError(file, 1, field, "must be a positive integer");
    }
  }
  checkCommonFields(value, file);
  if (value.duration !== undefined && (typeof value.duration !== "number" || value.duration < 0)) {
    throw new AsciicastError(file, 1, "duration", "must be a non-negative number");
  }
  return value as unknown as AsciicastHeader;
}

/** `timestamp`, `title` and `env`, alike in v2 and v3. */
function checkCommonFields(value: Record<string, unknown>, file: string): void {
  if (
    value.timestamp !== undefined &&
    (typeof value.timestamp !== "number" || value.timestamp < 0)
  ) {
    throw new AsciicastError(file, 1, "timestamp", "must be a non-negative number");
  }
  if (value.title !== undefined && typeof value.title !== "string") {
    throw new AsciicastError(file, 1, "title", "must be a string");
  }
  if (value.env !== undefined) {
    if (!isRecord(value.env) || Object.values(value.env).some((v) => typeof v !== "string")) {
      throw new AsciicastError(file, 1, "env", "must be an object of strings");
    }
  }
}

function parseHeaderV3(value: Record<string, unknown>, file: string): AsciicastHeader {
  const term = value.term;
  if (!isRecord(term)) {
    throw new AsciicastError(file, 1, "term", "must be an object with cols and rows");
  }
  for (const field of ["cols", "rows"] as const) {
    const size = term[field];
    if (typeof size !== "number" || !Number.isInteger(size) || size <= 0) {
      throw new AsciicastError(file, 1, `term.${field}`, "must be a positive integer");
    }
  }
  for (const field of ["type", "version"] as const) {
    if (term[field] !== undefined && typeof term[field] !== "string") {
      throw new AsciicastError(file, 1, `term.${field}`, "must be a string");
    }
  }
  checkCommonFields(value, file);
  const described: AsciicastTerm = {
    ...(term.type === undefined ? {} : { type: term.type as string }),
    ...(term.version === undefined ? {} : { version: term.version as string }),
  };
  return {
    version: 3,
    width: term.cols as number,
    height: term.rows as number,
    ...(value.timestamp === undefined ? {} : { timestamp: value.timestamp as number }),
    ...(value.title === undefined ? {} : { title: value.title as string }),
    ...(value.env === undefined ? {} : { env: value.env as Record<string, string> }),
    ...(Object.keys(described).length === 0 ? {} : { term: described }),
  };
}

/** Nanosecond rounding of summed v3 intervals: exact for the microsecond times writers use. */
function ns(seconds: number): number {
  return Math.round(seconds * 1e9) / 1e9;
}

function parseEvent(
  text: string,
  file: string,
  line: number,
  previous: number,
  version: 2 | 3,
): AsciicastEvent {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new AsciicastError(file, line, "event", `not JSON (${(error as Error).message})`);
  }
  if (!Array.isArray(value) || value.length !== 3) {
    throw new AsciicastError(file, line, "event", "must be an array [time, code, data]");
  }
  const [stamp, code, data] = value as [unknown, unknown, unknown];
  if (typeof stamp !== "number" || !Number.isFinite(stamp) || stamp < 0) {
    throw new AsciicastError(
      file,
      line,
      "time",
      version === 3
        ? "must be a non-negative number of seconds since the previous event"
        : "must be a non-negative number of seconds",
    );
  }
  const time = version === 3 ? ns(previous + stamp) : stamp;
  if (time < previous) {
    throw new AsciicastError(file, line, "time", `goes backwards (${time} after ${previous})`);
  }
  const codes = EVENT_CODES[version];
  if (typeof code !== "string" || !codes.has(code)) {
    throw new AsciicastError(
      file,
      line,
      "code",
      `must be one of ${[...codes].join(", ")}; found ${JSON.stringify(code)}`,
    );
  }
  if (typeof data !== "string") throw new AsciicastError(file, line, "data", "must be a string");
  if (code === "r" && !/^\d+x\d+$/.test(data)) {
    throw new AsciicastError(
      file,
      line,
      "data",
      `resize must be "COLSxROWS", found ${JSON.stringify(data)}`,
    );
  }
  return { time, code: code as AsciicastEventCode, data };
}

/** Parse an asciicast v2 or v3 text. `file` names the source in errors. */
export function parseAsciicast(text: string, file = "<asciicast>"): Asciicast {
  const lines = text.split("\n");
  const first = lines[0]?.trim() ?? "";
  if (first === "") throw new AsciicastError(file, 1, "header", "file is empty");
  const header = parseHeader(first, file);
  const events: AsciicastEvent[] = [];
  let previous = 0;
  for (let index = 1; index < lines.length; index++) {
    const raw = lines[index]!.trim();
    if (raw === "" || (header.version === 3 && raw.startsWith("#"))) continue;
    const event = parseEvent(raw, file, index + 1, previous, header.version);
    previous = event.time;
    events.push(event);
  }
  return { header, events };
}

/**
 * Serialise as asciicast text (one JSON value per line, trailing newline), in `version`
 * (default: the header's). Times are kept to the microsecond; v3 intervals are differences
 * of the rounded times, so they add up to them exactly. `x` events exist only in v3 and are
 * left out of v2.
 */
export function formatAsciicast(cast: Asciicast, version: 2 | 3 = cast.header.version): string {
  const lines = [JSON.stringify(headerFor(cast.header, version))];
  let previousUs = 0;
  for (const event of cast.events) {
    const us = Math.round(event.time * 1e6);
    if (version === 2) {
      if (event.code === "x") continue;
      lines.push(JSON.stringify([Number(event.time.toFixed(6)), event.code, event.data]));
    } else {
      lines.push(JSON.stringify([(us - previousUs) / 1e6, event.code, event.data]));
    }
    previousUs = us;
  }
  return `${lines.join("\n")}\n`;
}

function headerFor(header: AsciicastHeader, version: 2 | 3): object {
  if (version === header.version && version === 2) return header;
  const common = {
    ...(header.timestamp === undefined ? {} : { timestamp: header.timestamp }),
    ...(header.title === undefined ? {} : { title: header.title }),
    ...(header.env === undefined ? {} : { env: header.env }),
  };
  if (version === 2) {
    return { version: 2, width: header.width, height: header.height, ...common };
  }
  const type = header.term?.type ?? header.env?.TERM;
  return {
    version: 3,
    term: {
      cols: header.width,
      rows: header.height,
      ...(type === undefined ? {} : { type }),
      ...(header.term?.version === undefined ? {} : { version: header.term.version }),
    },
    ...common,
  };
}

/** All `o` data concatenated: what the recorded program printed. */
export function outputText(cast: Asciicast): string {
  let text = "";
  for (const event of cast.events) if (event.code === "o") text += event.data;
  return text;
}

/**
 * Write a file so that readers see either the old content or the whole new one: write a
 * temporary file beside it, then rename (DESIGN.md "nothing is written half-way").
 */
export async function writeFileAtomic(path: string, content: string | Uint8Array): Promise<void> {
  const temporary = join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now()}.tmp`);
  await writeFile(temporary, content);
  await rename(temporary, path);
}
