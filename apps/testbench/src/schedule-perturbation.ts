/**
 * Perturbed schedules (`check --explore`, `--schedule`): the same programs under a cost model
 * whose every price is scaled by its own seeded factor, so preemption points fall at other
 * moments and interleavings the nominal prices never produce are explored.
 */
import { type CostModelOverride, defaultCostModel } from "@vmmux/microkit-pd";

/**
 * Perturb the schedule without changing any program: every price of the cost model (the
 * preemption-point kinds PDs use and the kernel operations) is scaled by its own factor drawn
 * uniformly from `[1 - spread, 1 + spread]` by a PRNG seeded with `seed`. Durations given in
 * time units (`ns`, `us`, `compute`: traces, boot bursts) are left as they are.
 */
export interface SchedulePerturbation {
  readonly seed: number;
  /** Default 0.9: prices from a tenth to nearly twice their nominal value. */
  readonly spread?: number;
}

/** Price kinds that are not durations: the ones a perturbation scales. */
const PRICE_KINDS = ["default", "op", "poll", "init", "queue", "copy", "mmio", "memory"];

/** mulberry32: a small, well-mixed 32-bit PRNG; enough to draw cost factors. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b_79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** The cost model of a perturbed schedule. */
export function perturbedCosts(p: SchedulePerturbation): CostModelOverride {
  const spread = p.spread ?? 0.9;
  if (!(spread >= 0 && spread < 1))
    throw new RangeError(`schedule spread ${spread} is not in [0, 1)`);
  const next = prng(p.seed);
  const scale = (ns: number) => Math.max(1, Math.round(ns * (1 - spread + 2 * spread * next())));
  const base = defaultCostModel;
  const work: Record<string, number> = {};
  for (const kind of PRICE_KINDS) work[kind] = scale(base.work[kind] ?? base.work.default ?? 100);
  return {
    work,
    signal: scale(base.signal),
    call: scale(base.call),
    reply: scale(base.reply),
    recv: scale(base.recv),
    irqAck: scale(base.irqAck),
    faultIpc: scale(base.faultIpc),
    irqEntry: scale(base.irqEntry),
    contextSwitch: scale(base.contextSwitch),
  };
}
