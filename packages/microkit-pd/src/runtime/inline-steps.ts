/**
 * When a work step may end without the heap (issue 12, "a lean byte path"). The dispatch loop
 * (§4.2) ends a work step with a timer on the event heap; that timer is a no-op whose only effect
 * is a kernel entry at the step's end. When no other event can come first, the kernel processes
 * that entry in place: same clock, accounting, event count and log, with no heap round trip.
 * A part of its own so a caller can vary the rule (`KernelParts.inlineSteps`).
 */
import type { Kernel } from "./kernel.js";

export class StepInliner {
  constructor(protected readonly k: Kernel) {}

  /**
   * A timer armed now for `end` would be the next event the run processes: the run's time limit
   * and event allowance reach it, and no heap event is due at or before it (a timer armed now
   * comes after every event already scheduled for its instant).
   */
  mayEndAt(end: number): boolean {
    const k = this.k;
    if (k.eventAllowance < 1 || end > k.stepLimit) return false;
    const next = k.events.peek();
    return next === undefined || next.time > end;
  }
}
