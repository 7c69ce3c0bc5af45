/**
 * A deliberately wrong quiet-step rule (for tests that prove the equivalence check can fail): its
 * stretches run past a guest's `dueFrom`, so steps that start before and after the guest's work
 * falls due are sampled as one, and a wait that starts there is lost or misdated.
 */
import { QuietSteps } from "../stream/quiet-steps.js";

export class QuietStepsPastDue extends QuietSteps {
  protected override dueSteps(_now: number, n: number): number {
    return n;
  }
}
