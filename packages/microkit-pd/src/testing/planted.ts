/**
 * The runtime with a scheduler bug planted on purpose, so property suites can show that they
 * catch it. Each variant is a subclass of one kernel part, passed through the documented
 * `KernelParts` extension point; production code never names them. Never use outside tests.
 */
import { FastForward } from "../runtime/fast-forward.js";
import { StepInliner } from "../runtime/inline-steps.js";
import type { KernelParts } from "../runtime/kernel.js";
import { Notifications } from "../runtime/notifications.js";
import type { SchedContext } from "../runtime/sched-context.js";
import { Scheduler } from "../runtime/scheduler.js";
import { System, type SystemOptions } from "../runtime/system.js";
import type { Thread } from "../runtime/tcb.js";
import type { SystemDescription } from "../sdf/types.js";

/** A kernel variant given as its parts (e.g. {@link leakyBootOrder}, which keeps state across runs). */
export interface PlantedKernel {
  readonly parts: KernelParts;
}

export type PlantedSchedulerBug =
  /** A higher-priority thread that wakes never preempts: it waits until the current one blocks. */
  | "no-preempt-on-wake"
  /** A signal to a thread that is runnable but not running is dropped instead of OR-ed in. */
  | "drop-signal-to-ready"
  /** An exhausted sporadic SC forgets what it used and goes on, as if it were round-robin. */
  | "sporadic-refill-at-once"
  | PlantedKernel;

class NoPreemptOnWake extends Scheduler {
  protected override possibleSwitchTo(t: Thread): void {
    if (t.sched.sc === null || t.sched.inRelease) return;
    this.enqueue(t);
    if (t.sched.domain === this.curDomain && this.current === null) this.action = "choose";
  }
}

class SporadicRefillAtOnce extends Scheduler {
  protected override exhaust(sc: SchedContext): void {
    if (!sc.roundRobin) sc.consumed = 0;
    super.exhaust(sc);
  }
}

class DropSignalToReady extends Notifications {
  protected override deliver(id: number, from: string, target: Thread, ch: number): void {
    const k = this.k;
    if (target.state === "runnable" && target !== k.current) {
      k.record({ t: k.now, type: "signal", id, from, to: target.name, ch, outcome: "pending" });
      return;
    }
    super.deliver(id, from, target, ch);
  }
}

/**
 * Equal-priority boot order that depends on state outliving a run: every second system built
 * with the same instance boots its threads in reverse.
 */
export function leakyBootOrder(): PlantedKernel {
  let boots = 0;
  class LeakyBootOrder extends Scheduler {
    protected override bootOrder(order: readonly Thread[]): readonly Thread[] {
      return boots++ % 2 === 1 ? [...order].reverse() : order;
    }
  }
  return { parts: { scheduler: (k) => new LeakyBootOrder(k) } };
}

/** Fast-forward defects the equivalence property must catch. */
export type PlantedFastForwardBug =
  /** One idle period more than a round-robin slice allows: the slice would have ended in it. */
  "period-past-slice";

class PeriodPastSlice extends FastForward {
  protected override budgetBound(delta: readonly number[]): number {
    const count = super.budgetBound(delta);
    return Number.isFinite(count) ? count + 1 : count;
  }
}

/** The runtime with a fast-forward defect (pass `.parts` as the third argument of `new System`). */
export function plantedFastForward(_bug: PlantedFastForwardBug): PlantedKernel {
  return { parts: { fastForward: (k, enabled) => new PeriodPastSlice(k, enabled) } };
}

/** Step-inlining defects the equivalence property must catch. */
export type PlantedInlineBug =
  /** A step ends in place even when a heap event is due at its very end (that event fires first). */
  "end-before-tied-event";

class EndBeforeTiedEvent extends StepInliner {
  override mayEndAt(end: number): boolean {
    const k = this.k;
    if (k.eventAllowance < 1 || end > k.stepLimit) return false;
    const next = k.events.peek();
    return next === undefined || next.time >= end;
  }
}

/** The runtime with a step-inlining defect (pass `.parts` as the third argument of `new System`). */
export function plantedInlineSteps(_bug: PlantedInlineBug): PlantedKernel {
  return { parts: { inlineSteps: (k) => new EndBeforeTiedEvent(k) } };
}

function partsOf(bug: PlantedSchedulerBug | undefined): KernelParts {
  switch (bug) {
    case undefined:
      return {};
    case "no-preempt-on-wake":
      return { scheduler: (k) => new NoPreemptOnWake(k) };
    case "sporadic-refill-at-once":
      return { scheduler: (k) => new SporadicRefillAtOnce(k) };
    case "drop-signal-to-ready":
      return { notifications: (k) => new DropSignalToReady(k) };
    default:
      return bug.parts;
  }
}

export function systemWithPlantedBug(
  description: SystemDescription,
  options: SystemOptions,
  bug: PlantedSchedulerBug | undefined,
): System {
  return new System(description, options, partsOf(bug));
}
