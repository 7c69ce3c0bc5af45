/**
 * How log records read in the Perfetto export (perfetto.ts): µs times and durations that nest,
 * the labels of records a folded cycle holds, and free-form arguments made safe for JSON.
 */
import type { RuntimeEvent } from "./event-log.js";

/** Trace Event times are µs. */
export const us = (ns: number): number => ns / 1000;

/**
 * The µs duration of a slice from `start` to `end` (ns), computed from the ns difference so it
 * prints short, and ending at `us(end)` at the latest in floating point (slices must nest).
 */
export function spanUs(start: number, end: number): number {
  const dur = us(end - start);
  const from = us(start);
  const to = us(end);
  return from + dur > to ? to - from - Math.abs(to) * Number.EPSILON : dur;
}

/** The track (thread) and slice label of a kernel record a folded cycle may hold. */
export function cycleLabel(e: RuntimeEvent): [string, string | null] {
  switch (e.type) {
    case "entry":
      return [e.thread, e.ch === undefined ? e.entry : `${e.entry}(${e.ch})`];
    case "entry-end":
      return [e.thread, null];
    case "fault":
      return [e.thread, `fault → ${e.handler}`];
    case "reply":
      return [e.from, `reply → ${e.to}`];
    case "irq":
      return [e.thread, `irq ${e.irq} ${e.outcome}`];
    case "irq-ack":
      return [e.thread, `irq ${e.irq} ack`];
    case "ppcall":
      return [e.from, `ppcall → ${e.to}[${e.ch}]`];
    case "deferred":
      return [e.thread, `deferred ${e.op}(${e.ch}) ${e.phase}`];
    case "budget":
      return [e.thread, `budget ${e.action}`];
    default:
      return ["unknown", e.type];
  }
}

/** Whether `value` holds anything JSON would drop or change (a bigint, NaN, a class instance). */
function needsJsonCopy(value: unknown, depth: number): boolean {
  switch (typeof value) {
    case "string":
    case "boolean":
      return false;
    case "number":
      return !Number.isFinite(value);
    case "object": {
      if (value === null) return false;
      if (depth === 0) return true;
      const proto = Object.getPrototypeOf(value);
      if (Array.isArray(value)) return value.some((v) => needsJsonCopy(v, depth - 1));
      if (proto !== Object.prototype && proto !== null) return true;
      for (const k in value) {
        if (needsJsonCopy((value as Record<string, unknown>)[k], depth - 1)) return true;
      }
      return false;
    }
    default:
      return true;
  }
}

/**
 * Event arguments as JSON can carry them: device and fault arguments are free-form, and a bigint
 * (a 64-bit register value) would make the whole export fail; it is written as a decimal string.
 * Plain JSON values (the usual case) are passed on as they are.
 */
export function jsonArgs(args: Readonly<Record<string, unknown>>): Record<string, unknown> {
  if (!needsJsonCopy(args, 8)) return args as Record<string, unknown>;
  return JSON.parse(
    JSON.stringify(args, (_key, value: unknown) =>
      typeof value === "bigint" ? value.toString() : value,
    ),
  ) as Record<string, unknown>;
}
