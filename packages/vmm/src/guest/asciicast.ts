/**
 * asciicast v2 streams (DESIGN.md "Traces"): a JSON header line, then `[seconds, code, text]`
 * events. The guest replays the `o` events; `i` and `m` events are kept for callers.
 */
import { VmmError } from "../errors.js";

export interface CastEvent {
  /** Seconds since the start of the recording. */
  readonly time: number;
  readonly code: string;
  readonly data: string;
}

export interface Cast {
  readonly header: Readonly<Record<string, unknown>>;
  readonly events: readonly CastEvent[];
}

/** Parse an asciicast v2 text; errors name the line. */
export function parseAsciicast(text: string, file = "<cast>"): Cast {
  const lines = text.split("\n");
  let header: Record<string, unknown> | undefined;
  const events: CastEvent[] = [];
  let last = 0;
  lines.forEach((raw, index) => {
    const line = raw.trim();
    if (line.length === 0) return;
    const where = `${file}:${index + 1}`;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      throw new VmmError("CAST_MALFORMED", `${where}: not json`);
    }
    if (header === undefined) {
      if (typeof value !== "object" || value === null || Array.isArray(value))
        throw new VmmError("CAST_MALFORMED", `${where}: header is not an object`);
      const h = value as Record<string, unknown>;
      if (h.version !== 2) throw new VmmError("CAST_MALFORMED", `${where}: field version is not 2`);
      header = h;
      return;
    }
    if (!Array.isArray(value) || value.length < 3)
      throw new VmmError("CAST_MALFORMED", `${where}: event is not [time, code, data]`);
    const [time, code, data] = value as unknown[];
    if (typeof time !== "number" || !Number.isFinite(time) || time < last)
      throw new VmmError("CAST_MALFORMED", `${where}: field time is not a non-decreasing number`);
    if (typeof code !== "string" || typeof data !== "string")
      throw new VmmError("CAST_MALFORMED", `${where}: fields code and data must be strings`);
    last = time;
    events.push({ time, code, data });
  });
  if (header === undefined) throw new VmmError("CAST_MALFORMED", `${file}:1: header missing`);
  return { header, events };
}

/** The output (`o`) events of a cast. */
export function outputEvents(cast: Cast): CastEvent[] {
  return cast.events.filter((e) => e.code === "o");
}
