/**
 * A JSON-safe copy of a parsed system for machine-readable output (`vmmux sdf --json`):
 * `bigint` addresses and sizes become `"0x…"` strings, everything else is kept as it is.
 */
import type { SystemDescription } from "./types.js";

export type JsonValue =
  | string
  | number
  | boolean
  | null
  | readonly JsonValue[]
  | { readonly [key: string]: JsonValue };

function toJson(value: unknown): JsonValue {
  if (typeof value === "bigint") return `0x${value.toString(16)}`;
  if (value === null || typeof value !== "object") return value as JsonValue;
  if (Array.isArray(value)) return value.map(toJson);
  const out: Record<string, JsonValue> = {};
  for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = toJson(v);
  return out;
}

export function systemToJson(system: SystemDescription): JsonValue {
  return toJson(system);
}
