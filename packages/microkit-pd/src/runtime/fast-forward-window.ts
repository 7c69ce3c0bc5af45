/**
 * The period a leap repeats (fast-forward.ts), measured in the history or a thread's memo
 * (fast-forward-resume.ts): its budget checks and each round-robin SC's use of it, from which slice boundaries inside the leap are walked
 * (fast-forward-slices.ts).
 */
import { type FingerprintIndex, SC_FIELDS } from "./fast-forward-shape.js";
import {
  profileOf,
  type SliceClock,
  type SliceProfile,
  type SliceRun,
  walkSlice,
} from "./fast-forward-slices.js";
import type { Kernel } from "./kernel.js";
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
  /**
   * For a leap by a memo with no period measured first: the linear quantities at the end of the
   * memo's period, whose uncommitted slice times each period ends with (fast-forward-resume.ts).
   */
  readonly end: Float64Array | null;
}

/** One SC's slice walked over the most periods asked for yet, from where it stands now. */
interface Walked {
  /** Periods walked; the slice's boundaries crossed in them and the instants they fall at. */
  readonly run: SliceRun;
  readonly from: number;
  readonly profile: SliceProfile;
  readonly ends: SliceClock;
}

export class LeapWindow {
  /** Periods allowed so far (before the scheduling contexts' bound). */
  count = 0;
  private profileList: (SliceProfile | null)[] | null = null;
  /** The walks for `walkedFor` periods: a walk over fewer is a prefix of it. */
  private walked: (Walked | null)[] = [];
  private walkedFor = -1;

  /**
   * The period whose budget checks are `checks` (one list per anchor in it, null where unknown),
   * starting with the linear quantities `startAt` gives (by slot).
   */
  constructor(
    private readonly k: Kernel,
    private readonly index: FingerprintIndex,
    private readonly checks: readonly (readonly number[] | null)[],
    private readonly startAt: (slot: number) => number,
  ) {}

  /** Each used round-robin SC's profile over the period, or null where it cannot cross. */
  profiles(delta: readonly number[]): (SliceProfile | null)[] {
    if (this.profileList !== null) return this.profileList;
    const base = this.index.scBase();
    const at = this.startAt;
    this.profileList = this.index.scList().map((sc, i) => {
      const o = base + i * SC_FIELDS;
      return profileOf(sc, i, delta, o, at(o) + at(o + 1), at(0), this.checks);
    });
    return this.profileList;
  }

  /**
   * Periods the scheduling contexts allow (up to `count`): none while a sporadic SC runs; for a
   * round-robin slice, up to the first boundary that cannot be crossed (fast-forward-slices.ts).
   */
  budgetBound(delta: readonly number[]): number {
    let count = this.count;
    const scs = this.index.scList();
    const base = this.index.scBase();
    const walks = this.walks(delta, count);
    for (let i = 0; i < scs.length; i++) {
      const sc = scs[i]!;
      const o = base + i * SC_FIELDS;
      const used = delta[o]! + delta[o + 1]!;
      if (!sc.roundRobin) {
        if (delta[o + 2] !== 0 || used !== 0) return 0;
        continue;
      }
      if (used < 0) return 0;
      if (used === 0) continue;
      if (delta[o + 3] !== 0) return 0;
      count = Math.min(count, walks[i]!.periods);
    }
    return count;
  }

  /** Per SC, the slice walk over `count` periods from where each slice stands now. */
  walks(delta: readonly number[], count: number): (SliceRun | null)[] {
    return this.walk(delta, count).map((w) => {
      if (w === null) return null;
      const periods = Math.min(count, w.run.periods);
      const ends = crossedBefore(w.ends.periods, periods);
      return { periods, ends, pos: w.from + periods * w.profile.use - ends * w.profile.budget };
    });
  }

  /** The instants slices run out in `count` periods from now (each a timer's expiry). */
  sliceEnds(delta: readonly number[], count: number): number[] {
    const out: number[] = [];
    for (const w of this.walk(delta, count)) {
      if (w === null) continue;
      const n = crossedBefore(w.ends.periods, Math.min(count, w.run.periods));
      for (let j = 0; j < n; j++) out.push(w.ends.ends[j]!);
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
      const ends: SliceClock = { start: this.k.now, period: delta[0]!, ends: [], periods: [] };
      return { run: walkSlice(profile, from, count, ends), from, profile, ends };
    });
    this.walkedFor = count;
    return this.walked;
  }
}

/** How many of the ascending period indices `at` are below `periods`. */
function crossedBefore(at: readonly number[], periods: number): number {
  let lo = 0;
  let hi = at.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (at[mid]! < periods) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
