/**
 * A parent PD that restarts faulted children (microkit reference §2.8: a child's fault goes to
 * its parent's `fault` entry; `microkit_pd_restart` starts it again at its entry point). Meant
 * for a VMM PD whose libvmm asserts fault it: on restart the VMM runs `init` again, which
 * builds a fresh console device, re-opens its sDDF queue handles on the same shared memory
 * (their indices are kept) and restarts its vCPU, so the guest boots again.
 */
import {
  type FaultMessage,
  type FaultReply,
  type PdContext,
  type PdProgram,
  type PdStep,
  work,
} from "@vmmux/microkit-pd";

export interface RestartingParentOptions {
  /**
   * Virtual ns between the fault and the restart, spent as the parent's own work (it holds the
   * core for that long at its priority, like a recovery routine). Default 0.
   */
  readonly delayNs?: number;
  /** Restart a child at most this many times; later faults leave it stopped. Default unbounded. */
  readonly maxRestarts?: number;
}

/** One restart (or refusal) the parent performed. */
export interface RestartRecord {
  readonly child: number;
  readonly faultAt: number;
  readonly restartedAt: number | undefined;
  readonly fault: FaultMessage["kind"];
}

export class RestartingParent implements PdProgram {
  readonly restarts: RestartRecord[] = [];
  private readonly counts = new Map<number, number>();

  constructor(readonly options: RestartingParentOptions = {}) {}

  *init(): PdStep {}

  *notified(): PdStep {}

  *fault(child: number, msg: FaultMessage, pd: PdContext): PdStep<FaultReply> {
    const faultAt = pd.now();
    const done = this.counts.get(child) ?? 0;
    if (done >= (this.options.maxRestarts ?? Number.POSITIVE_INFINITY)) {
      pd.debug(`parent: child ${child} faulted (${msg.kind}); not restarted`);
      this.restarts.push({ child, faultAt, restartedAt: undefined, fault: msg.kind });
      return { resume: false };
    }
    const delay = this.options.delayNs ?? 0;
    if (delay > 0) yield work("ns", delay);
    pd.debug(`parent: child ${child} faulted (${msg.kind}); restarting`);
    pd.pdRestart(child);
    this.counts.set(child, done + 1);
    this.restarts.push({ child, faultAt, restartedAt: pd.now(), fault: msg.kind });
    // No reply: the faulting code is not resumed; the restart gave the child a fresh start.
    return { resume: false };
  }
}
