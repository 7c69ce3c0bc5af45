/**
 * When a work step may end without the heap (issue 12, "a lean byte path"). The dispatch loop
 * (§4.2) ends a work step with a timer on the event heap; that timer is a no-op whose only effect
 * is a kernel entry at the step's end. When no other event can come first, the kernel processes
 * that entry in place: same clock, accounting, event count and log, with no heap round trip.
 * A part of its own so a caller can vary the rule (`KernelParts.inlineSteps`).
 */
import type { Kernel } from "./kernel.js";
import type { Thread } from "./tcb.js";
import { NO_TICKS, type TickRun } from "./ticks.js";

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

  /**
   * The inert device ticks a timer armed now for `end` would pass on its way to being the next
   * event (ticks.ts): {@link mayEndAt}'s rule with inert ticks before `end` allowed, each
   * counting one event (none if due at `end`, where its kernel entry does the expiry's work).
   * A tick's kernel entry finds the same thread to run with its SC sufficient and changes
   * nothing a thread sees. Null when the timer must go on the heap.
   */
  endsPastTicks(end: number): TickRun | null {
    if (this.mayEndAt(end)) return NO_TICKS;
    const k = this.k;
    const span = end - k.now;
    if (!k.ticks.on || k.eventAllowance < 1 || end > k.stepLimit || !(span > 0)) return null;
    if (!(k.ticks.horizon() > end)) return null;
    const ticks = k.ticks.inTurns(1, span);
    return ticks === null || 1 + ticks.events > k.eventAllowance ? null : ticks;
  }

  /**
   * Whole turns of `ns` each that a busy-wait of the running thread `t` may take from now
   * (spin.ts): every turn ends in place by {@link mayEndAt}'s rule, and `t`'s SC stays
   * sufficient after each (no slice or budget boundary inside them).
   */
  spinTurns(t: Thread, ns: number, next = this.k.events.peek()?.time): number {
    const k = this.k;
    let n = Math.min(k.eventAllowance, Math.floor((k.stepLimit - k.now) / ns));
    if (next !== undefined) n = Math.min(n, Math.floor((next - 1 - k.now) / ns));
    const sc = t.sched.sc;
    if (sc !== null) n = Math.min(n, Math.floor((sc.capacity() - Math.max(1, sc.minBudget)) / ns));
    return Math.max(0, Math.floor(n));
  }

  /**
   * The turns a busy-wait of the running thread `t` may replay (kernel.ts `replaySpin`) and the
   * inert device ticks among them (ticks.ts): with inert ticks, the turns reach the first event
   * that is not one, as a fast-forward leap does. The spinning thread's poll reads shared memory
   * only (spin.ts), which a tick never writes, and each tick's kernel entry finds the same
   * thread to run with its SC sufficient; a tick due as a turn ends does that expiry's work.
   */
  spinReplay(t: Thread, ns: number): { turns: number; ticks: TickRun } {
    const k = this.k;
    const plain = this.spinTurns(t, ns);
    if (!k.ticks.on || t.quiet) return { turns: plain, ticks: NO_TICKS };
    const turns = this.spinTurns(t, ns, k.ticks.horizon());
    if (turns <= plain) return { turns: plain, ticks: NO_TICKS };
    const ticks = k.ticks.inTurns(turns, ns);
    if (ticks === null || turns + ticks.events > k.eventAllowance)
      return { turns: plain, ticks: NO_TICKS };
    return { turns, ticks };
  }
}
