/**
 * Declared busy-waits (issue 12, "a lean byte path"; reference §4.2: a program's code runs only
 * at its preemption points). Linux's `__send_to_port` spins with `cpu_relax()` until the device
 * hands the buffer back; each turn reads shared memory and charges one pass. What such a poll
 * reads can change only when something other than the spinning thread runs: another thread's
 * code or a heap event (a device, an IRQ, a timer). So while the spinning thread's own steps are
 * all that happens — each pass ends in place (`StepInliner.mayEndAt`), its scheduling context
 * stays sufficient and nothing else is stepped — every further turn would find the same answer,
 * and the kernel replays whole turns by arithmetic instead of resuming the code (kernel.ts,
 * `replaySpin`): the same clock, run time, SC use, events processed and pass count
 * (`SpinWait.passed`), with the poll not called for the replayed turns. The turn that reaches
 * the next event runs as code again. `inlineSteps: false` resumes the code for every turn.
 */
import type { PreemptionPoint } from "../program.js";

/** A busy-wait: `pass` again and again until `poll` finds something. */
export interface SpinWait<T> {
  /** One turn's work (e.g. `work("cpu_relax", 1)`). */
  readonly pass: PreemptionPoint;
  /**
   * What the wait is for; `undefined` while there is nothing. Reads only state that other
   * threads or devices change (shared memory), never the clock, and changes nothing when it
   * finds nothing: turns the kernel replays are not polled.
   */
  poll(): T | undefined;
  /** `n` turns found nothing and charged their pass (a counter of the program's). */
  passed?(n: number): void;
}

const SPIN: unique symbol = Symbol("vmmux.spin");

/** The preemption point of one turn, carrying its wait for the kernel. */
export interface SpinPoint extends PreemptionPoint {
  readonly [SPIN]: SpinWait<unknown>;
}

/** The wait a yielded preemption point declares, if it is a turn of one. */
export function spinOf(point: PreemptionPoint): SpinWait<unknown> | undefined {
  return (point as Partial<SpinPoint>)[SPIN];
}

/**
 * `for (;;) { r = poll(); if (r !== undefined) return r; passed(1); yield pass; }`, declared to
 * the kernel so that turns nothing else can interleave with are replayed by arithmetic. Works in
 * PD code and guest code alike.
 */
export function* spinUntil<T>(wait: SpinWait<T>): Generator<PreemptionPoint, T, undefined> {
  const point: SpinPoint = {
    kind: wait.pass.kind,
    ...(wait.pass.units === undefined ? {} : { units: wait.pass.units }),
    [SPIN]: wait,
  };
  for (;;) {
    const found = wait.poll();
    if (found !== undefined) return found;
    wait.passed?.(1);
    yield point;
  }
}
