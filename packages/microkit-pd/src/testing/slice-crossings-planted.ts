/**
 * A defect in keeping a slice walk's crossings (runtime/fast-forward-crossings.ts), which the
 * walk's property (fast-forward-slices.prop.test.ts) must catch: a jumped cycle is kept as
 * repeating one time fewer than the walk jumped.
 */
import { SliceCrossings } from "../runtime/fast-forward-crossings.js";

export class CycleOneShort extends SliceCrossings {
  override repeat(from: number, times: number, periods: number): void {
    super.repeat(from, times - 1, periods);
  }
}
