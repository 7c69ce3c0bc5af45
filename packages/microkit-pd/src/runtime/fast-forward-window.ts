/**
 * The measured period a leap repeats (fast-forward.ts): its anchors in the history, and each
 * round-robin SC's use of it, from which slice boundaries inside the leap are walked
 * (fast-forward-slices.ts).
 */
import type { Anchor, AnchorArena } from "./fast-forward-arena.js";
import { type FingerprintIndex, SC_FIELDS } from "./fast-forward-shape.js";
import { profileOf, type SliceProfile, type SliceRun, walkSlice } from "./fast-forward-slices.js";
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
}

export class LeapWindow {
  /** Periods allowed so far (before the scheduling contexts' bound). */
  count = 0;
  private profileList: (SliceProfile | null)[] | null = null;

  /** The period from anchor `m` of `history` to `anchor` (anchor `n`, not yet in it). */
  constructor(
    private readonly k: Kernel,
    private readonly index: FingerprintIndex,
    private readonly arena: AnchorArena,
    private readonly history: readonly Anchor[],
    private readonly anchor: Anchor,
    private readonly m: number,
    private readonly n: number,
  ) {}

  /** Each used round-robin SC's profile over the period, or null where it cannot cross. */
  profiles(delta: readonly number[]): (SliceProfile | null)[] {
    if (this.profileList !== null) return this.profileList;
    const checks: (number[] | null)[] = [];
    for (let x = this.m + 1; x < this.n; x++) checks.push(this.history[x]!.checks);
    checks.push(this.anchor.checks);
    const first = this.history[this.m]!;
    const start = first.at + first.shapeLength;
    const base = this.index.scBase();
    const arena = this.arena;
    this.profileList = this.index.scList().map((sc, i) => {
      const o = base + i * SC_FIELDS;
      const from = arena.at(start + o) + arena.at(start + o + 1);
      return profileOf(sc, i, delta, o, from, arena.at(start), checks);
    });
    return this.profileList;
  }

  /** Per SC, the slice walk over `count` periods from where each slice stands now. */
  walks(delta: readonly number[], count: number): (SliceRun | null)[] {
    const scs = this.index.scList();
    return this.profiles(delta).map((p, i) =>
      p === null ? null : walkSlice(p, scs[i]!.sliceUsed + scs[i]!.consumed, count),
    );
  }

  /** The instants slices run out in `count` periods from now (each a timer's expiry). */
  sliceEnds(delta: readonly number[], count: number): number[] {
    const scs = this.index.scList();
    const clock = { start: this.k.now, period: delta[0]!, ends: [] as number[] };
    this.profiles(delta).forEach((p, i) => {
      if (p !== null) walkSlice(p, scs[i]!.sliceUsed + scs[i]!.consumed, count, clock);
    });
    return clock.ends;
  }
}
