/**
 * The rule of a windowed Perfetto export (runtime/perfetto-window.ts) applied to a whole trace at
 * once, for tests: a trace is read as what a viewer makes of it (metadata, slices with `B`/`E`
 * paired per track, instants and flow ends, each counter's samples), and the window's part of it
 * is computed from that reading, not from the stream the filter sees.
 */
import type { TraceEvent } from "../runtime/perfetto-builder.js";
import { us } from "../runtime/perfetto-format.js";
import type { TimelineWindow } from "../runtime/perfetto-window.js";

/** A slice as a viewer reads it, times in ns. */
interface Slice {
  readonly tid: number;
  readonly kind: "X" | "BE";
  readonly name: string;
  readonly cat: string | undefined;
  readonly start: number;
  readonly end: number;
  /** An `X`'s arguments, or a `B`'s. */
  readonly args: Readonly<Record<string, unknown>> | undefined;
  /** An `E`'s arguments. */
  readonly endArgs: Readonly<Record<string, unknown>> | undefined;
}

/** What a viewer makes of a trace; slices and points sorted, so file order does not matter. */
export interface TraceReading {
  readonly metadata: readonly string[];
  readonly slices: readonly string[];
  readonly points: readonly string[];
  /** Each counter's samples in file order: `[ns, args]`. */
  readonly counters: Readonly<Record<string, readonly string[]>>;
  /** `E`s with no open `B` on their track, and `B`s never ended. */
  readonly unpaired: number;
}

const ns = (t: number): number => Math.round(t * 1000);
const sliceKey = (s: Slice): string =>
  JSON.stringify([s.tid, s.kind, s.name, s.cat ?? null, s.start, s.end, s.args, s.endArgs]);
const pointKey = (e: TraceEvent): string => JSON.stringify({ ...e, ts: ns(e.ts!) });

/** Read a trace as its slices, points and counters. */
export function readTrace(events: readonly TraceEvent[]): TraceReading {
  return reading(
    events,
    (slices) => slices,
    (points) => points,
    (counters) => counters,
  );
}

/**
 * The reading of `events`' part in `window` by the documented rule, the trace ending at `endNs`
 * (its entry points closed by then).
 */
export function readWindow(
  events: readonly TraceEvent[],
  window: TimelineWindow,
  endNs: number,
): TraceReading {
  const from = window.fromNs ?? Number.NEGATIVE_INFINITY;
  const to = window.toNs ?? Number.POSITIVE_INFINITY;
  return reading(
    events,
    (slices) => slices.flatMap((s) => clip(s, from, to)),
    (points) => points.filter((e) => ns(e.ts!) >= from && ns(e.ts!) < to),
    (counters) => {
      const out: Record<string, [number, string][]> = {};
      for (const [name, samples] of Object.entries(counters)) {
        const inside = samples.filter(([t]) => t >= from && t < to);
        const before = samples.filter(([t]) => t < from).at(-1);
        const atFrom = samples.some(([t]) => t === from);
        if (before !== undefined && !atFrom && endNs >= from) inside.unshift([from, before[1]]);
        if (inside.length > 0) out[name] = inside;
      }
      return out;
    },
  );
}

function clip(s: Slice, from: number, to: number): Slice[] {
  if (!(s.start < to && s.end >= from)) return [];
  if (s.start >= from && s.end <= to) return [s];
  const start = Math.max(s.start, from);
  const end = Math.min(s.end, to);
  if (s.kind === "BE") {
    return [
      {
        ...s,
        start,
        end,
        args: s.start < from ? { ...s.args, whole_start_us: us(s.start) } : s.args,
        endArgs: s.end > to ? { ...s.endArgs, whole_end_us: us(s.end) } : s.endArgs,
      },
    ];
  }
  const args: Record<string, unknown> = {};
  if (s.start < from) args.whole_start_us = us(s.start);
  if (s.end > to) args.whole_end_us = us(s.end);
  if (s.args !== undefined) args.whole_args = s.args;
  return [{ ...s, name: `${s.name} (clipped)`, start, end, args }];
}

function reading(
  events: readonly TraceEvent[],
  slicesOf: (slices: Slice[]) => Slice[],
  pointsOf: (points: TraceEvent[]) => TraceEvent[],
  countersOf: (counters: Record<string, [number, string][]>) => Record<string, [number, string][]>,
): TraceReading {
  const metadata: string[] = [];
  const slices: Slice[] = [];
  const points: TraceEvent[] = [];
  const counters: Record<string, [number, string][]> = {};
  const open = new Map<number, TraceEvent[]>();
  let unpaired = 0;
  for (const e of events) {
    switch (e.ph) {
      case "M":
        metadata.push(JSON.stringify(e));
        break;
      case "X": {
        const start = ns(e.ts!);
        slices.push({
          tid: e.tid!,
          kind: "X",
          name: e.name,
          cat: e.cat,
          start,
          end: start + ns(e.dur!),
          args: e.args,
          endArgs: undefined,
        });
        break;
      }
      case "B": {
        const stack = open.get(e.tid!) ?? [];
        open.set(e.tid!, stack);
        stack.push(e);
        break;
      }
      case "E": {
        const b = open.get(e.tid!)?.pop();
        if (b === undefined) {
          unpaired++;
          break;
        }
        slices.push({
          tid: e.tid!,
          kind: "BE",
          name: b.name,
          cat: b.cat,
          start: ns(b.ts!),
          end: ns(e.ts!),
          args: b.args,
          endArgs: e.args,
        });
        break;
      }
      case "C": {
        const samples = counters[e.name] ?? [];
        counters[e.name] = samples;
        samples.push([ns(e.ts!), JSON.stringify(e.args)]);
        break;
      }
      default:
        points.push(e);
    }
  }
  for (const stack of open.values()) unpaired += stack.length;
  const counted = countersOf(counters);
  return {
    metadata,
    slices: slicesOf(slices).map(sliceKey).sort(),
    points: pointsOf(points).map(pointKey).sort(),
    counters: Object.fromEntries(
      Object.entries(counted).map(([name, samples]) => [
        name,
        samples.map(([t, args]) => `${t} ${args}`),
      ]),
    ),
    unpaired,
  };
}
