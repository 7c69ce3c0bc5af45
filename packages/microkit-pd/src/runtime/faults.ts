/**
 * The fault part: thread control after faults and by a parent (reference §2.8, seL4 `tcb.c`
 * `Suspend`/`Resume`/`WriteRegisters`): stop a thread for good or until restarted, restart it
 * with a fresh body (`microkit_pd_restart`, `microkit_vcpu_restart`), and resume one at its
 * current PC. Fault IPC itself is a `seL4_Call` through the endpoint part; who handles a
 * thread's faults is its {@link FaultRecord}. It calls every part that holds per-thread state.
 */
import type { Kernel } from "./kernel.js";
import type { KernelOp, Thread } from "./tcb.js";

export class Faults {
  constructor(protected readonly k: Kernel) {}

  /** Stop a thread for good or until restarted; detaches it from any IPC in flight. */
  stop(t: Thread, state: "inactive" | "dead"): void {
    const k = this.k;
    k.ff.leaveQuiet(t);
    k.ff.taint();
    k.ipc.detach(t);
    k.vcpus.cancelTimer(t);
    t.workRemaining = 0;
    t.pendingKernelNs = 0;
    if (t.entry !== null) {
      k.record({ t: k.now, type: "entry-end", thread: t.name, entry: t.entry });
      t.entry = null;
    }
    k.sched.block(t, state);
  }

  /** Restart a thread with a fresh body (`microkit_pd_restart`, `microkit_vcpu_restart`). */
  restart(t: Thread, body: Generator<KernelOp, void, unknown>): void {
    this.stop(t, "inactive");
    t.body = body;
    t.resumeValue = undefined;
    this.k.vcpus.reset(t);
    const s = t.sched;
    if (s.sc === null && !s.passive) s.sc = s.ownSc;
    this.k.sched.wake(t);
  }

  /**
   * Resume a stopped thread where it stopped (TCB_WriteRegisters with resume at the current PC,
   * reference §2.8): one that is inactive with its body intact, or blocked on a reply its handler
   * will not send (the reply is cancelled; the pending call returns no value). Returns whether
   * the thread was resumed.
   */
  resume(t: Thread): boolean {
    const k = this.k;
    k.ff.taint();
    if (t.body === null || (t.state !== "inactive" && t.state !== "blocked-reply")) return false;
    k.ipc.cancelPendingReply(t);
    if (t.kind === "vcpu" && t.entry === null) {
      t.entry = "guest";
      k.record({ t: k.now, type: "entry", thread: t.name, entry: "guest" });
    }
    const s = t.sched;
    if (s.sc === null && !s.passive) s.sc = s.ownSc;
    k.sched.wake(t);
    return true;
  }
}
