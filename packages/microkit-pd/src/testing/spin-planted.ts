/**
 * A planted busy-wait replay defect (runtime/spin.ts) for the inlined-steps property: replayed
 * turns may end exactly when a heap event is due, so the event's kernel entry comes after a turn
 * the real code would only have started after it.
 */
import { StepInliner } from "../runtime/inline-steps.js";
import type { Kernel } from "../runtime/kernel.js";
import type { Thread } from "../runtime/tcb.js";
import type { PlantedKernel } from "./planted.js";

class SpinTurnOntoEvent extends StepInliner {
  override spinTurns(t: Thread, ns: number): number {
    const k = this.k;
    const next = k.events.peek();
    const honest = super.spinTurns(t, ns);
    // Where the event's instant is what stops the replay, take the turn that ends on it too.
    if (next === undefined || (next.time - k.now) % ns !== 0) return honest;
    return honest === (next.time - k.now) / ns - 1 ? honest + 1 : honest;
  }
}

/** The runtime with replayed busy-wait turns allowed to end on an event's instant. */
export function plantedSpinReplay(): PlantedKernel {
  return { parts: { inlineSteps: (k: Kernel) => new SpinTurnOntoEvent(k) } };
}

/** Replays that pass inert ticks but leave them out of the event count. */
class SpinTicksUncounted extends StepInliner {
  override spinReplay(t: Thread, ns: number) {
    const r = super.spinReplay(t, ns);
    return { turns: r.turns, ticks: { ...r.ticks, events: 0 } };
  }
}

/** The runtime with busy-wait replays that pass device ticks without counting their events. */
export function plantedSpinTicks(): PlantedKernel {
  return { parts: { inlineSteps: (k: Kernel) => new SpinTicksUncounted(k) } };
}

/** A work step's timer that passes inert ticks but leaves them out of the event count. */
class StepTicksUncounted extends StepInliner {
  override endsPastTicks(end: number) {
    const ticks = super.endsPastTicks(end);
    return ticks === null ? null : { ...ticks, events: 0 };
  }
}

/** The runtime with work steps ended in place past device ticks not counting their events. */
export function plantedStepTicks(): PlantedKernel {
  return { parts: { inlineSteps: (k: Kernel) => new StepTicksUncounted(k) } };
}
