/**
 * What a run observed as it went, kept beside its result without being part of its plain
 * data: the wire store and the per-origin wire numbers. The fields are not enumerable, so a
 * result copied with changes (`{ ...run, wire }`, as the wrong-variant test helpers do) is judged from
 * its own plain fields again.
 */
import type { RunResult } from "../run.js";
import type { WireJudge } from "./wire-judge.js";
import { WireStats } from "./wire-stats.js";
import { recordsView, type WireStore, type WireView } from "./wire-store.js";

const STREAMED = Symbol("vmmux.streamed");

export interface Streamed {
  /** The wire, or null when the run did not keep it (`RunOptions.keepWire: false`). */
  readonly store: WireStore | null;
  readonly stats: WireStats;
  /** Integrity's and interleaving's state, kept as the wire went (`RunOptions.judgeWire`). */
  readonly judge?: WireJudge | null;
}

type WithStreamed = { [STREAMED]?: Streamed };

export function attachStreamed<T extends object>(run: T, streamed: Streamed): T {
  Object.defineProperty(run, STREAMED, { value: streamed, enumerable: false });
  return run;
}

const views = new WeakMap<object, WireView>();
const stats = new WeakMap<object, WireStats>();

/** The run's wire as a view: its store, or its plain `wire` records. */
export function wireView(run: Pick<RunResult, "wire">): WireView {
  const own = (run as WithStreamed)[STREAMED]?.store;
  if (own != null) return own;
  let view = views.get(run.wire);
  if (view === undefined) {
    view = recordsView(run.wire);
    views.set(run.wire, view);
  }
  return view;
}

/** The wire oracles' state the run kept as it went, if it did. */
export function wireJudge(run: object): WireJudge | undefined {
  return (run as WithStreamed)[STREAMED]?.judge ?? undefined;
}

/** The run's per-origin wire numbers: streamed, or computed from its plain fields. */
export function wireStats(run: Pick<RunResult, "wire" | "guests">): WireStats {
  const own = (run as WithStreamed)[STREAMED]?.stats;
  if (own !== undefined) return own;
  let s = stats.get(run);
  if (s === undefined) {
    const times = new Map(run.guests.map((g) => [g.origin, g.enqueueTimes]));
    s = WireStats.of(
      wireView(run),
      run.guests.map((g) => g.origin),
      (origin, seq) => times.get(origin)?.[seq],
    );
    stats.set(run, s);
  }
  return s;
}
