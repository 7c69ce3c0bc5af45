/**
 * The items the folded Perfetto export (perfetto-fold.ts) works on and how it compares them: a
 * kernel record or a fold of them, equal in shape when equal in every field but time.
 */
import type { RuntimeEvent } from "./event-log.js";

/** Cycles a run must repeat to be folded; shorter runs are exported record by record. */
export const MIN_FOLD_CYCLES = 2;
/** A kernel record, or a folded run of them, as a cycle holds it. */
export type FoldItem = RuntimeEvent | KernelFold;

/** A folded run of kernel records: `count` repetitions of `cycle` from `start` to `end` (ns). */
export interface KernelFold {
  readonly type: "fold";
  readonly cycle: readonly FoldItem[];
  readonly count: number;
  /** Idle periods of the cycle fast-forwarded inside the run, included in `count`'s span. */
  readonly fastForwarded: number;
  readonly start: number;
  readonly end: number;
  /** Per position of the cycle: its start in the first cycle and its end in the last. */
  readonly firstT: readonly number[];
  readonly lastT: readonly number[];
  /** Ns each thread held the core inside the run (`null`: idle not counted). */
  readonly ran: ReadonlyMap<string, number>;
  /** The thread on the core at the run's end when the cycle switches threads. */
  readonly holder: string | null | undefined;
}

/** Same record apart from its time (the shape a cycle repeats). */
export function sameShape(a: RuntimeEvent, b: RuntimeEvent): boolean {
  if (a.type !== b.type) return false;
  switch (a.type) {
    case "switch": {
      const o = b as typeof a;
      return a.from === o.from && a.to === o.to;
    }
    case "entry": {
      const o = b as typeof a;
      return a.thread === o.thread && a.entry === o.entry && a.ch === o.ch;
    }
    case "entry-end": {
      const o = b as typeof a;
      return a.thread === o.thread && a.entry === o.entry;
    }
    case "fault": {
      const o = b as typeof a;
      return a.thread === o.thread && a.handler === o.handler && sameValue(a.fault, o.fault, 4);
    }
    case "reply": {
      const o = b as typeof a;
      return a.from === o.from && a.to === o.to;
    }
    case "irq": {
      const o = b as typeof a;
      return a.irq === o.irq && a.thread === o.thread && a.ch === o.ch && a.outcome === o.outcome;
    }
    case "irq-ack": {
      const o = b as typeof a;
      return a.thread === o.thread && a.ch === o.ch && a.irq === o.irq;
    }
    case "ppcall": {
      const o = b as typeof a;
      return a.from === o.from && a.to === o.to && a.ch === o.ch;
    }
    case "deferred": {
      const o = b as typeof a;
      return a.thread === o.thread && a.op === o.op && a.ch === o.ch && a.phase === o.phase;
    }
    case "budget": {
      const o = b as typeof a;
      return a.thread === o.thread && a.sc === o.sc && a.action === o.action;
    }
    default:
      return false;
  }
}

/** Same record apart from its time, or folds of the same cycle whatever their counts. */
export function sameItem(a: FoldItem, b: FoldItem): boolean {
  if (a.type !== "fold" || b.type !== "fold")
    return a.type !== "fold" && b.type !== "fold" && sameShape(a, b);
  if (a.cycle.length !== b.cycle.length) return false;
  for (let i = 0; i < a.cycle.length; i++) if (!sameItem(a.cycle[i]!, b.cycle[i]!)) return false;
  return true;
}

export const startOf = (x: FoldItem): number => (x.type === "fold" ? x.start : x.t);
export const endOf = (x: FoldItem): number => (x.type === "fold" ? x.end : x.t);

/** The thread on the core when `x` begins, if `x` switches threads. */
export function enterOf(x: FoldItem): string | null | undefined {
  if (x.type === "switch") return x.from;
  if (x.type !== "fold") return undefined;
  for (const y of x.cycle) {
    const from = enterOf(y);
    if (from !== undefined) return from;
  }
  return undefined;
}

/** Structural equality of small plain values (a fault message), `depth` levels deep. */
function sameValue(a: unknown, b: unknown, depth: number): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (depth === 0 || Array.isArray(a) !== Array.isArray(b)) return false;
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  let keys = 0;
  for (const k in x) {
    if (!Object.hasOwn(y, k) || !sameValue(x[k], y[k], depth - 1)) return false;
    keys++;
  }
  for (const _ in y) keys--;
  return keys === 0;
}

/** Kernel records a cycle may hold; every other kernel record ends a run. */
export function foldable(e: FoldItem): boolean {
  switch (e.type) {
    case "fold":
    case "switch":
    case "entry-end":
    case "fault":
    case "reply":
    case "irq":
    case "irq-ack":
    case "ppcall":
    case "deferred":
    case "budget":
      return true;
    case "entry":
      return e.flows === undefined || e.flows.length === 0;
    default:
      return false;
  }
}

/** Entry points open and close inside the cycle, none closed that it did not open. */
export function balanced(cycle: readonly FoldItem[]): boolean {
  const depth = new Map<string, number>();
  for (const e of cycle) {
    if (e.type === "entry") depth.set(e.thread, (depth.get(e.thread) ?? 0) + 1);
    else if (e.type === "entry-end") {
      const d = (depth.get(e.thread) ?? 0) - 1;
      if (d < 0) return false;
      depth.set(e.thread, d);
    }
  }
  for (const d of depth.values()) if (d !== 0) return false;
  return true;
}
