/**
 * Fast-forward defects in crossing round-robin slice boundaries (runtime/fast-forward-slices.ts)
 * and in leaping by a thread's memo after a hand-over or a taint
 * (runtime/fast-forward-resume.ts), which the equivalence property (fast-forward.prop.test.ts)
 * must catch.
 */

import { FastForward } from "../runtime/fast-forward.js";
import type { Anchor } from "../runtime/fast-forward-arena.js";
import type { ResumeMemo } from "../runtime/fast-forward-resume.js";
import type { Thread } from "../runtime/tcb.js";
import type { PlantedKernel } from "./planted.js";

export type PlantedSliceBug =
  /** A leap that crosses slice boundaries counts one timer event fewer than they stand for. */
  "boundary-event-short";

export type PlantedResumeBug =
  /** A thread's memo is applied at its idle check whatever the state (same loop and answers). */
  | "memo-any-state"
  /**
   * After a taint, a memo is applied without its VMM's last answer being the memo period's: a
   * VMM whose state changed may answer its WFIs at another cost.
   */
  | "answer-unchecked";

class MemoAnyState extends FastForward {
  protected override memoFor(t: Thread, anchor: Anchor): ResumeMemo | null {
    const memo = this.memos.of(t);
    return memo !== null && memo.delta.length === anchor.linearLength ? memo : null;
  }
}

class AnswerUnchecked extends FastForward {
  protected override memoHolds(): boolean {
    return true;
  }
}

/** The runtime with a memo defect (pass `.parts` as the third argument of `new System`). */
export function plantedResume(bug: PlantedResumeBug): PlantedKernel {
  const make = bug === "memo-any-state" ? MemoAnyState : AnswerUnchecked;
  return { parts: { fastForward: (k, enabled) => new make(k, enabled) } };
}

class BoundaryEventShort extends FastForward {
  protected override boundaryEvents(ends: number): number {
    return ends > 0 ? ends - 1 : 0;
  }
}

/** The runtime with a slice-crossing defect (pass `.parts` as the third argument of `new System`). */
export function plantedSliceCrossing(_bug: PlantedSliceBug): PlantedKernel {
  return { parts: { fastForward: (k, enabled) => new BoundaryEventShort(k, enabled) } };
}
