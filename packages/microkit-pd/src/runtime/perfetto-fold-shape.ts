/**
 * The items the folded Perfetto export (perfetto-fold.ts) works on and how it compares them: a
 * kernel record or a fold of them, equal in shape when equal in every field but time.
 */
import type { RuntimeEvent, RuntimeEventType } from "./event-log.js";
import type { IdleLoopRun } from "./perfetto-idle-loops.js";

/** Cycles a run must repeat to be folded; shorter runs are exported record by record. */
export const MIN_FOLD_CYCLES = 2;
/** What the folder reads and hands on: kernel records, folded runs, runs of idle loops. */
export type FoldItem = RuntimeEvent | KernelFold | IdleLoopRun;

/** A folded run of kernel records: `count` repetitions of `cycle` from `start` to `end` (ns). */
export interface KernelFold {
  readonly type: "fold";
  readonly cycle: readonly FoldItem[];
  readonly count: number;
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
  const type = a.type;
  return type === b.type && sameShapeOf(type, a, b);
}

type Of<T extends RuntimeEventType> = Extract<RuntimeEvent, { type: T }>;

/** {@link sameShape} of two records both of type `type` (read once by the caller). */
function sameShapeOf(type: RuntimeEventType, a: RuntimeEvent, b: RuntimeEvent): boolean {
  switch (type) {
    case "switch": {
      const x = a as Of<"switch">;
      const y = b as Of<"switch">;
      return x.from === y.from && x.to === y.to;
    }
    case "entry": {
      const x = a as Of<"entry">;
      const y = b as Of<"entry">;
      return x.thread === y.thread && x.entry === y.entry && x.ch === y.ch;
    }
    case "entry-end": {
      const x = a as Of<"entry-end">;
      const y = b as Of<"entry-end">;
      return x.thread === y.thread && x.entry === y.entry;
    }
    case "fault": {
      const x = a as Of<"fault">;
      const y = b as Of<"fault">;
      return x.thread === y.thread && x.handler === y.handler && sameValue(x.fault, y.fault, 4);
    }
    case "reply": {
      const x = a as Of<"reply">;
      const y = b as Of<"reply">;
      return x.from === y.from && x.to === y.to;
    }
    case "irq": {
      const x = a as Of<"irq">;
      const y = b as Of<"irq">;
      return x.irq === y.irq && x.thread === y.thread && x.ch === y.ch && x.outcome === y.outcome;
    }
    case "irq-ack": {
      const x = a as Of<"irq-ack">;
      const y = b as Of<"irq-ack">;
      return x.thread === y.thread && x.ch === y.ch && x.irq === y.irq;
    }
    case "ppcall": {
      const x = a as Of<"ppcall">;
      const y = b as Of<"ppcall">;
      return x.from === y.from && x.to === y.to && x.ch === y.ch;
    }
    case "deferred": {
      const x = a as Of<"deferred">;
      const y = b as Of<"deferred">;
      return x.thread === y.thread && x.op === y.op && x.ch === y.ch && x.phase === y.phase;
    }
    case "budget": {
      const x = a as Of<"budget">;
      const y = b as Of<"budget">;
      return x.thread === y.thread && x.sc === y.sc && x.action === y.action;
    }
    default:
      return false;
  }
}

/** Same record apart from its time, or folds of the same cycle whatever their counts. */
export function sameItem(a: FoldItem, b: FoldItem): boolean {
  const type = a.type;
  return type === b.type && sameItemOf(type, a, b);
}

/** {@link sameItem} of two items both of type `type` (read once by the caller). */
export function sameItemOf(type: FoldItem["type"], a: FoldItem, b: FoldItem): boolean {
  if (type === "idle-loop") return false; // never in a cycle
  if (type !== "fold") return sameShapeOf(type, a as RuntimeEvent, b as RuntimeEvent);
  const x = a as KernelFold;
  const y = b as KernelFold;
  if (x.cycle.length !== y.cycle.length) return false;
  for (let i = 0; i < x.cycle.length; i++) if (!sameItem(x.cycle[i]!, y.cycle[i]!)) return false;
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

/**
 * Entry points open and close inside the cycle (the items of `items` from `from` on), none
 * closed that it did not open.
 */
export function balanced(items: readonly FoldItem[], from = 0): boolean {
  const depth = new Map<string, number>();
  for (let i = from; i < items.length; i++) {
    const e = items[i]!;
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
