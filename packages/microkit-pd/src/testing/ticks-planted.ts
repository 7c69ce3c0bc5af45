/**
 * An inert-tick defect in fast-forward (runtime/ticks.ts), which the equivalence property
 * (ticks.prop.test.ts) must catch.
 */
import { Ticks } from "../runtime/ticks.js";
import type { PlantedKernel } from "./planted.js";

export type PlantedTickBug =
  /** A tick passed in a leap at a kernel timer's expiry counts as an event of its own. */
  | "tie-counted-twice"
  /** A tick passed in a leap at the instant a slice runs out is taken for a plain tick. */
  | "slice-end-missed";

class TieCountedTwice extends Ticks {
  protected override eventsOf(_tied: boolean): number {
    return 1;
  }
}

class SliceEndMissed extends Ticks {
  protected override atSliceEnd(): boolean {
    return false;
  }
}

/** The runtime with an inert-tick defect (pass `.parts` as the third argument of `new System`). */
export function plantedInertTicks(bug: PlantedTickBug): PlantedKernel {
  const variant = bug === "tie-counted-twice" ? TieCountedTwice : SliceEndMissed;
  return { parts: { ticks: (k, enabled) => new variant(k, enabled) } };
}
