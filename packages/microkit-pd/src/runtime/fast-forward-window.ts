/**
 * The measured period a leap repeats (fast-forward.ts): its anchors in the history, and each
 * round-robin SC's use of it, from which slice boundaries inside the leap are walked
 * (fast-forward-slices.ts).
 */
import type { Anchor, AnchorArena } from "./fast-forward-arena.js";
import { SliceCrossings } from "./fast-forward-crossings.js";
import { type FingerprintIndex, SC_FIELDS } from "./fast-forward-shape.js";
import { profileOf, type SliceProfile, type SliceRun, walkSlice } from "./fast-forward-slices.js";
import type { Kernel } from "./kernel.js";
import type { SchedContext } from "./sched-context.js";
import type { TickRun } from "./ticks.js";

/** A run of periods about to be applied. */
export interface Leap {
  /** Periods, of `period` ns each. */
  readonly count: number;
  readonly period: number;
  /** Per-period change of every linear quantity. */
  readonly delta: readonly number[];
  /** Anchors per period. */
  readonly lag: number;
  /** Per SC, the slice walk when the leap crosses its boundaries. */
  readonly slices: readonly (SliceRun | null)[];
  /** Inert device ticks passed (ticks.ts). */
  readonly ticks: TickRun;
  /** The period's slice profiles, and its timer expiries as offsets from its start. */
  readonly window: LeapWindow;
  readonly expiries: () => ReadonlySet<number> | null;
}

/** One SC's slice walked over the most periods asked for yet, from where it stands now. */
interface Walked {
  /** Periods walked; the slice's boundaries crossed in them and the instants they fall at. */
  readonly run: SliceRun;
  readonly from: number;
  readonly profile: SliceProfile;
  readonly ends: SliceCrossings;
}

export class LeapWindow {
  /** Periods allowed so far (before the scheduling contexts' bound). */
  count = 0;
  private profileList: readonly (SliceProfile | null)[] | null = null;
  /** The walks for `walkedFor` periods: a walk over fewer is a prefix of it. */
  private walked: (Walked | null)[] = [];
  private walkedFor = -1;
  private runs: readonly (SliceRun | null)[] = [];
  private runsFor = -1;

  /** `measure` gives each SC's profile of the period from its per-period changes. */
  constructor(
    private readonly k: Kernel,
    private readonly index: FingerprintIndex,
    private readonly measure: (delta: readonly number[]) => readonly (SliceProfile | null)[],
  ) {}

  /** Each used round-robin SC's profile over the period, or null where it cannot cross. */
  profiles(delta: readonly number[]): readonly (SliceProfile | null)[] {
    this.profileList ??= this.measure(delta);
    return this.profileList;
  }

  /**
   * Per SC, the slice walk over `count` periods from where each slice stands now (the bounds of
   * a leap ask for the same count several times: the last answer is kept).
   */
  walks(delta: readonly number[], count: number): readonly (SliceRun | null)[] {
    if (count === this.runsFor) return this.runs;
    this.runsFor = count;
    this.runs = this.walk(delta, count).map((w) => {
      if (w === null) return null;
      const periods = Math.min(count, w.run.periods);
      const ends = w.ends.before(periods);
      const pos = w.from + periods * w.profile.use - ends * w.profile.budget;
      return { periods, ends, pos, lastEnd: ends > 0 ? w.ends.instant(ends - 1) : -1 };
    });
    return this.runs;
  }

  /** The instants slices run out in `count` periods from now (each a timer's expiry). */
  sliceEnds(delta: readonly number[], count: number): number[] {
    const out: number[] = [];
    for (const w of this.walk(delta, count)) {
      if (w === null) continue;
      const n = w.ends.before(Math.min(count, w.run.periods));
      for (let j = 0; j < n; j++) out.push(w.ends.instant(j));
    }
    return out;
  }

  /**
   * Each SC's walk over at least `count` periods. The bounds of one leap ask for the same or
   * fewer periods many times; a walk over a long idle stretch crosses thousands of slices.
   */
  private walk(delta: readonly number[], count: number): (Walked | null)[] {
    if (count <= this.walkedFor) return this.walked;
    const scs = this.index.scList();
    this.walked = this.profiles(delta).map((profile, i) => {
      if (profile === null) return null;
      const from = scs[i]!.sliceUsed + scs[i]!.consumed;
      const ends = new SliceCrossings(this.k.now, delta[0]!);
      return { run: walkSlice(profile, from, count, ends), from, profile, ends };
    });
    this.walkedFor = count;
    return this.walked;
  }
}

/**
 * Each used round-robin SC's profile over the period from anchor `m` of `history` to `anchor`
 * (anchor `n`, not yet in it), from the budget checks its anchors kept.
 */
export function measuredProfiles(
  index: FingerprintIndex,
  arena: AnchorArena,
  history: readonly Anchor[],
  anchor: Anchor,
  m: number,
  n: number,
  delta: readonly number[],
): (SliceProfile | null)[] {
  const checks: (number[] | null)[] = [];
  for (let x = m + 1; x < n; x++) checks.push(history[x]!.checks);
  checks.push(anchor.checks);
  const first = history[m]!;
  const start = first.at + first.shapeLength;
  const base = index.scBase();
  return index.scList().map((sc, i) => {
    const o = base + i * SC_FIELDS;
    const from = arena.at(start + o) + arena.at(start + o + 1);
    return profileOf(sc, i, delta, o, from, arena.at(start), checks);
  });
}

/**
 * Apply `leap` to the scheduling contexts `scs` (their linear slots from `base`): a slice walked
 * across boundaries stands where the walk ends, any other moves by count × its per-period change.
 */
export function advanceSlices(scs: readonly SchedContext[], base: number, leap: Leap): void {
  const { count, delta } = leap;
  for (let i = 0; i < scs.length; i++) {
    const sc = scs[i]!;
    const o = base + i * SC_FIELDS;
    const run = leap.slices[i];
    if (run && run.ends > 0) {
      // Consumed since the SC last came on the core (or since the last refill, if later).
      sc.consumed = Math.min(sc.consumed, run.pos);
      sc.sliceUsed = run.pos - sc.consumed;
      sc.exhaustions += run.ends;
      continue;
    }
    sc.sliceUsed += count * delta[o]!;
    sc.consumed += count * delta[o + 1]!;
    sc.exhaustions += count * delta[o + 3]!;
  }
}
