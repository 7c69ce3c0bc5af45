/**
 * asciicast v2 (https://docs.asciinema.org/manual/asciicast/v2/): the format of guest
 * streams and host-terminal recordings (DESIGN.md "Traces and scenarios"). Line 1 is a
 * JSON header object; every further non-empty line is `[time, code, data]` with `time`
 * in seconds since the start, `code` one of `o` (output), `i` (input), `m` (marker) or
 * `r` (resize, `"COLSxROWS"`).
 */
import { rename, writeFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";

export interface AsciicastHeader {
  readonly version: 2;
  readonly width: number;
  readonly height: number;
  readonly timestamp?: number;
  readonly duration?: number;
  readonly title?: string;
  readonly env?: Readonly<Record<string, string>>;
}

export type AsciicastEventCode = "o" | "i" | "m" | "r";

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

const EVENT_CODES: ReadonlySet<string> = new Set(["o", "i", "m", "r"]);

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
  if (value.version !== 2) {
    throw new AsciicastError(
      file,
      1,
      "version",
      `must be 2, found ${JSON.stringify(value.version)}`,
    );
  }
  for (const field of ["width", "height"] as const) {
    const size = value[field];
    if (typeof size !== "number" || !Number.isInteger(size) || size <= 0) {
      throw new AsciicastError(file, 1, field, "must be a positive integer");
    }
  }
  for (const field of ["timestamp", "duration"] as const) {
    if (value[field] !== undefined && (typeof value[field] !== "number" || value[field] < 0)) {
      throw new AsciicastError(file, 1, field, "must be a non-negative number");
    }
  }
  if (value.title !== undefined && typeof value.title !== "string") {
    throw new AsciicastError(file, 1, "title", "must be a string");
  }
  if (value.env !== undefined) {
    if (!isRecord(value.env) || Object.values(value.env).some((v) => typeof v !== "string")) {
      throw new AsciicastError(file, 1, "env", "must be an object of strings");
    }
  }
  return value as unknown as AsciicastHeader;
}

function parseEvent(text: string, file: string, line: number, previous: number): AsciicastEvent {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new AsciicastError(file, line, "event", `not JSON (${(error as Error).message})`);
  }
  if (!Array.isArray(value) || value.length !== 3) {
    throw new AsciicastError(file, line, "event", "must be an array [time, code, data]");
  }
  const [time, code, data] = value as [unknown, unknown, unknown];
  if (typeof time !== "number" || !Number.isFinite(time) || time < 0) {
    throw new AsciicastError(file, line, "time", "must be a non-negative number of seconds");
  }
  if (time < previous) {
    throw new AsciicastError(file, line, "time", `goes backwards (${time} after ${previous})`);
  }
  if (typeof code !== "string" || !EVENT_CODES.has(code)) {
    throw new AsciicastError(
      file,
      line,
      "code",
      `must be one of o, i, m, r; found ${JSON.stringify(code)}`,
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

/** Parse an asciicast v2 text. `file` names the source in errors. */
export function parseAsciicast(text: string, file = "<asciicast>"): Asciicast {
  const lines = text.split("\n");
  const first = lines[0]?.trim() ?? "";
  if (first === "") throw new AsciicastError(file, 1, "header", "file is empty");
  const header = parseHeader(first, file);
  const events: AsciicastEvent[] = [];
  let previous = 0;
  for (let index = 1; index < lines.length; index++) {
    const raw = lines[index]!.trim();
    if (raw === "") continue;
    const event = parseEvent(raw, file, index + 1, previous);
    previous = event.time;
    events.push(event);
  }
  return { header, events };
}

/** Serialise to asciicast v2 text (one JSON value per line, trailing newline). */
export function formatAsciicast(cast: Asciicast): string {
  const lines = [JSON.stringify(cast.header)];
  for (const event of cast.events) {
    lines.push(JSON.stringify([Number(event.time.toFixed(6)), event.code, event.data]));
  }
  return `${lines.join("\n")}\n`;
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
