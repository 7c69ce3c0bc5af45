/**
 * The vCPU part (seL4 `vcpu.c` as Microkit uses it, reference §2.10): virtual IRQs made pending
 * for a vCPU thread, the guest's virtual timer (PPI 27 by default), and the untrapped WFI that
 * blocks a vCPU until a virtual IRQ is pending. It owns each thread's {@link VcpuRecord}; it
 * calls the scheduler to block and wake.
 */
import type { Kernel } from "./kernel.js";
import type { Thread } from "./tcb.js";

export class Vcpus {
  constructor(protected readonly k: Kernel) {}

  /** Make a virtual IRQ pending for a vCPU thread; wakes it from an untrapped WFI. */
  injectVirq(t: Thread, irq: number): void {
    this.k.ff.taint();
    t.vcpu.virqs.push(irq);
    if (t.state === "blocked-wfi") this.k.sched.wake(t);
  }

  /** An untrapped WFI: block until a virtual IRQ is pending. */
  waitVirq(t: Thread): void {
    this.k.ff.taint();
    if (t.vcpu.virqs.length === 0) this.k.sched.block(t, "blocked-wfi");
  }

  /** The guest's virtual timer: `ppi` becomes pending at `deadline` (reference §2.10). */
  armVirtualTimer(t: Thread, deadline: number | null, ppi: number): void {
    const k = this.k;
    const v = t.vcpu;
    this.cancelTimer(t);
    k.ff.taint();
    if (deadline === null) return;
    v.vtimer = k.events.push(Math.max(k.now, Math.round(deadline)), () => {
      v.vtimer = null;
      k.record({ t: k.now, type: "device", device: t.name, name: "vtimer", args: { ppi } });
      this.injectVirq(t, ppi);
    });
  }

  cancelTimer(t: Thread): void {
    const v = t.vcpu;
    if (v.vtimer) this.k.events.cancel(v.vtimer);
    v.vtimer = null;
  }

  /** A restarted vCPU starts with no virtual IRQ pending. */
  reset(t: Thread): void {
    t.vcpu.virqs = [];
  }
}
