/**
 * What a {@link Kernel} is built with: its options (costs, MIN_BUDGET, recording, and the exact
 * optimisations each with its switch) and the parts a caller may substitute.
 */
import type { CostModel } from "./cost-model.js";
import type { FastForward } from "./fast-forward.js";
import type { StepInliner } from "./inline-steps.js";
import type { Kernel } from "./kernel.js";
import type { Notifications } from "./notifications.js";
import type { Scheduler } from "./scheduler.js";
import type { Ticks } from "./ticks.js";

export interface KernelOptions {
  readonly costs: CostModel;
  /** MIN_BUDGET in ns (reference §3.2, §4.4). */
  readonly minBudget: number;
  readonly recordEvents: boolean;
  /** Keep recorded events in `log` (default true); listeners see them either way. */
  readonly retainEvents?: boolean;
  /** Also record every preemption point (large logs; for debugging). */
  readonly recordPoints?: boolean;
  /**
   * Record thread state changes (`state` events; default true). They are most of a log's
   * records; the Perfetto export does not use them (slices show the states).
   */
  readonly recordStates?: boolean;
  /**
   * Record the scheduling records of every kernel cycle — `switch`, `entry`, `entry-end`,
   * `reply`, a guest's exits (`fault` by a vCPU) and `idle` (default true). Off, the log keeps
   * what a run's checks read (a PD's faults, signals, IRQs, budgets, devices, errors).
   */
  readonly recordCycles?: boolean;
  /** Advance declared idle loops by whole periods (fast-forward.ts); default true. */
  readonly fastForward?: boolean;
  /**
   * End a work step no other event can interrupt inside the dispatch loop instead of through a
   * timer on the heap (exact; default true; false always takes the heap round trip).
   */
  readonly inlineSteps?: boolean;
  /** Let fast-forward leap over inert device ticks (ticks.ts; exact; default true). */
  readonly inertTicks?: boolean;
  /**
   * Let fast-forward leap after a hand-over or a taint by a thread's memo, after one measured
   * period or none (fast-forward-resume.ts; exact; default true). Off, a leap waits for two, and
   * the passes before it fold into runs of like cycles in a timeline.
   */
  readonly resumeLeaps?: boolean;
}

/**
 * Substitute parts of the kernel: each factory builds the part for a kernel (default: the class
 * itself). A caller passes subclasses to trace or vary one part's policy without touching the
 * others (the runtime's own property tests plant scheduler bugs this way, in `testing/`).
 */
export interface KernelParts {
  readonly scheduler?: (kernel: Kernel) => Scheduler;
  readonly notifications?: (kernel: Kernel) => Notifications;
  readonly fastForward?: (kernel: Kernel, enabled: boolean) => FastForward;
  /** When a work step ends in the dispatch loop instead of on the heap (with `inlineSteps`). */
  readonly inlineSteps?: (kernel: Kernel) => StepInliner;
  /** How fast-forward passes inert device ticks (with `inertTicks`). */
  readonly ticks?: (kernel: Kernel, enabled: boolean) => Ticks;
}
