/**
 * Round-robin slice boundaries inside a fast-forward leap (fast-forward.ts; microkit reference
 * §3.2: a round-robin SC's slice ends at the first kernel entry with less than MIN_BUDGET left,
 * and is refilled whole; the thread goes to the tail of its priority's queue).
 *
 * When the thread is alone at the top of the ready queues, the boundary hands the core straight
 * back: nothing changes but the slice, one `budget` record and, when the slice runs out in the
 * middle of a work step, one timer event. Such a boundary repeats with the slice, not with the
 * idle period, so a leap crosses it arithmetically: {@link walkSlice} follows the slice position
 * period by period from the budget checks measured in one period, and stops before any period
 * whose boundary would fall on a kernel entry or where the thread would not be picked again.
 *
 * Inert device ticks (ticks.ts) enter the kernel too, but not periodically: their budget checks
 * are left out of the profile (between two of the SC's periodic checks it is on the core the
 * whole time, a tick's check included, so a tick can only see a slice run out at the instant
 * its timer does). {@link walkSlice} gives those instants, where a tick does the timer's work.
 */

import type { IdleLoop } from "../program.js";
import type { SliceCrossings } from "./fast-forward-crossings.js";
import type { SchedContext } from "./sched-context.js";

/** One round-robin SC's use of one idle period, measured while the period ran. */
export interface SliceProfile {
  readonly budget: number;
  readonly minBudget: number;
  /** ns of the slice the period uses. */
  readonly use: number;
  /** Budget checks with this SC on the core: slice used since the period started, in order. */
  readonly at: readonly number[];
  /** Per check: a slice ending there would give the core straight back (`Scheduler.soleAtTop`). */
  readonly clear: readonly boolean[];
  /** Per check: ns since the period started. */
  readonly when: readonly number[];
  /** Whether `at` lists every check (else no boundary is crossed). */
  readonly known: boolean;
}

/** Numbers a budget check is kept as: SC index, slice position, clear (1/0), time. */
export const CHECK_FIELDS = 4;

/** Where a walk over periods ends. */
export interface SliceRun {
  /** Periods walked (at most the count asked for). */
  readonly periods: number;
  /** Slices that ended in them (each in the middle of a work step: one timer event). */
  readonly ends: number;
  /** Slice used at the end of the last period walked. */
  readonly pos: number;
  /** When the last of the `ends` fell (walked with a clock; -1 if none). */
  readonly lastEnd?: number;
}

/** §3.2 "Min budget": what a budget check calls insufficient. */
function short(p: SliceProfile, capacity: number): boolean {
  return !(capacity > 0 && capacity >= p.minBudget);
}

/** Boundaries walked one by one before a walk starts looking for its position to come round. */
const UNWATCHED_BOUNDARIES = 16;

/**
 * Up to `count` periods from slice position `pos`, stopping before the first period whose
 * boundary cannot be crossed; with `clock`, the instants of the boundaries crossed. What a period
 * that may end the slice does depends on the slice position it starts at alone: when a position
 * comes round again, whole cycles are jumped (`jump`, default true; false walks every boundary).
 */
export function walkSlice(
  p: SliceProfile,
  pos: number,
  count: number,
  clock?: SliceCrossings,
  jump = true,
): SliceRun {
  const margin = Math.max(1, p.minBudget);
  let done = 0;
  let ends = 0;
  let boundaries = 0;
  // Per slice position at the start of a period that may end the slice: where in `marks` its
  // periods done, slices ended and crossings kept are (made once a walk is long).
  let seen: Map<number, number> | null = null;
  const marks: number[] = [];
  while (done < count) {
    // Whole periods that end with at least `margin` of the slice left hold no boundary.
    const free = Math.max(0, Math.floor((p.budget - pos - margin) / p.use));
    if (free >= count - done) {
      pos += (count - done) * p.use;
      done = count;
      break;
    }
    pos += free * p.use;
    done += free;
    if (!p.known) break;
    if (jump && ++boundaries > UNWATCHED_BOUNDARIES) {
      seen ??= new Map();
      const m = seen.get(pos);
      if (m === undefined) {
        seen.set(pos, marks.length);
        marks.push(done, ends, clock?.kept ?? 0);
      } else {
        // Jump whole cycles, leaving at least this period to walk.
        const periods = done - marks[m]!;
        const times = Math.floor((count - done - 1) / periods);
        if (times > 0) {
          ends += times * (ends - marks[m + 1]!);
          done += times * periods;
          clock?.repeat(marks[m + 2]!, times, periods);
        }
        jump = false;
      }
    }
    // The next period may end the slice: replay its budget checks.
    let base = pos;
    let n = 0;
    let ok = true;
    for (let j = 0; j < p.at.length; j++) {
      const capacity = p.budget - base - p.at[j]!;
      if (!short(p, capacity)) continue;
      // Ran out between two checks: the timer ends the slice at capacity 0 (an extra event), in
      // the state this check would see. On a check itself the boundary is left to simulation.
      if (capacity >= 0 || !p.clear[j]) {
        ok = false;
        break;
      }
      // The SC has been on the core since before the slice ran out (the check says so).
      clock?.add(done, p.when[j]! + capacity);
      base -= p.budget;
      n++;
      j--;
    }
    // Running out after the last check of the period is left to simulation too.
    if (!ok || p.budget - base - p.use < 0) break;
    pos = base + p.use;
    ends += n;
    done++;
  }
  return { periods: done, ends, pos };
}

/**
 * SC `i`'s profile from the budget checks of the measured period's anchors (quadruples of SC
 * index, slice position, clear, time; `null` where an anchor kept too many). `o` is the SC's
 * first linear slot (slice used, consumed); `from` its slice position (used + consumed) and
 * `since` the clock at the period's first anchor.
 */
export function profileOf(
  sc: SchedContext,
  i: number,
  delta: readonly number[],
  o: number,
  from: number,
  since: number,
  checks: readonly (readonly number[] | null)[],
): SliceProfile | null {
  const use = delta[o]! + delta[o + 1]!;
  if (!sc.roundRobin || use <= 0) return null;
  const at: number[] = [];
  const clear: boolean[] = [];
  const when: number[] = [];
  // Consumption that does not repeat per period (`delta[o + 1]`) would need its own walk.
  let known = delta[o + 1] === 0;
  for (const list of checks) {
    if (list === null) known = false;
    if (!known || list === null) break;
    for (let j = 0; j < list.length; j += CHECK_FIELDS) {
      if (list[j] !== i) continue;
      at.push(list[j + 1]! - from);
      clear.push(list[j + 2] === 1);
      when.push(list[j + 3]! - since);
    }
  }
  return { budget: sc.budget, minBudget: sc.minBudget, use, at, clear, when, known };
}

/** The largest count ≤ `count` whose events (per period, plus one per slice ended) fit `allowance`. */
export function fitEvents(
  count: number,
  perPeriod: number,
  allowance: number,
  walk: (count: number) => readonly (SliceRun | null)[],
): number {
  return largest(
    count,
    (c) => c * perPeriod + walk(c).reduce((n, r) => n + (r?.ends ?? 0), 0) <= allowance,
  );
}

/**
 * The largest count ≤ `count` of periods of `period` ns from `now` at whose end no idle loop's
 * deadline test is true yet.
 */
export function deadlineBound(
  loops: readonly IdleLoop[],
  now: number,
  period: number,
  count: number,
): number {
  return largest(count, (c) => {
    for (const loop of loops) if (loop.until?.(now + c * period)) return false;
    return true;
  });
}

/** The largest `c` ≤ `count` with `ok(c)`, for `ok` true up to some point and false after (0 if none). */
export function largest(count: number, ok: (c: number) => boolean): number {
  if (ok(count)) return count;
  let lo = 0;
  let hi = count;
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (ok(mid)) lo = mid;
    else hi = mid;
  }
  return lo;
}

export function push(map: Map<number, number[]>, key: number, index: number): void {
  const list = map.get(key);
  if (list) list.push(index);
  else map.set(key, [index]);
}
