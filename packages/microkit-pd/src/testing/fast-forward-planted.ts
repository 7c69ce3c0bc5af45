/**
 * Fast-forward defects in crossing round-robin slice boundaries (runtime/fast-forward-slices.ts)
 * and in leaping after a hand-over (runtime/fast-forward-resume.ts), which the equivalence
 * property (fast-forward.prop.test.ts) must catch.
 */

import { FastForward } from "../runtime/fast-forward.js";
import type { PlantedKernel } from "./planted.js";

export type PlantedSliceBug =
  /** A leap that crosses slice boundaries counts one timer event fewer than they stand for. */
  | "boundary-event-short"
  /**
   * A leap that ends where a slice runs out leaves out that slice end's `budget` record
   * (runtime/fast-forward-end-records.ts).
   */
  | "end-record-dropped";

export type PlantedResumeBug =
  /**
   * A leap applies the measured split of a round-robin slice between committed and uncommitted
   * time, though the period began right after a hand-over, with time not yet committed. (Leaps
   * from a memo alone are left out, so that every leap after a hand-over measures its period.)
   */
  "split-as-measured";

class SplitAsMeasured extends FastForward {
  protected override steadySplits(): void {}
  protected override memoLeap(): null {
    return null;
  }
}

/** The runtime with a memo defect (pass `.parts` as the third argument of `new System`). */
export function plantedResume(_bug: PlantedResumeBug): PlantedKernel {
  return { parts: { fastForward: (k, enabled) => new SplitAsMeasured(k, enabled) } };
}

class BoundaryEventShort extends FastForward {
  protected override boundaryEvents(ends: number): number {
    return ends > 0 ? ends - 1 : 0;
  }
}

class EndRecordDropped extends FastForward {
  override quietExhaustion(): void {}
}

/** The runtime with a slice-crossing defect (pass `.parts` as the third argument of `new System`). */
export function plantedSliceCrossing(bug: PlantedSliceBug): PlantedKernel {
  const Planted = bug === "boundary-event-short" ? BoundaryEventShort : EndRecordDropped;
  return { parts: { fastForward: (k, enabled) => new Planted(k, enabled) } };
}
