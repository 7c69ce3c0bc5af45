/**
 * A fast-forward defect in crossing round-robin slice boundaries (runtime/fast-forward-slices.ts),
 * which the equivalence property (fast-forward.prop.test.ts) must catch.
 */
import { FastForward } from "../runtime/fast-forward.js";
import type { PlantedKernel } from "./planted.js";

export type PlantedSliceBug =
  /** A leap that crosses slice boundaries counts one timer event fewer than they stand for. */
  "boundary-event-short";

class BoundaryEventShort extends FastForward {
  protected override boundaryEvents(ends: number): number {
    return ends > 0 ? ends - 1 : 0;
  }
}

/** The runtime with a slice-crossing defect (pass `.parts` as the third argument of `new System`). */
export function plantedSliceCrossing(_bug: PlantedSliceBug): PlantedKernel {
  return { parts: { fastForward: (k, enabled) => new BoundaryEventShort(k, enabled) } };
}
