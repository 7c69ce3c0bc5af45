/**
 * Virtual IRQ delivery the way libvmm's vGIC does it (reference virtio §4.10, microkit §2.10):
 * an injection while the IRQ is still in flight (injected and not yet EOI'd by the guest) has
 * no effect — the distributor's pending bit is only cleared by the maintenance fault on EOI.
 *
 * `edge` (libvmm): the EOI callback of the virtio device is empty, so an event raised while
 * the previous one was in flight is never re-delivered. `level` (hardened, the spec's level
 * semantics §4.2.3.4): on EOI the line is sampled and, if still asserted, injected again.
 */

export interface VirqTarget {
  /** `microkit_vcpu_arm_inject_irq`. */
  inject(irq: number): void;
}

export interface VirqCounters {
  /** Injections that reached the vCPU. */
  injected: number;
  /** Raises absorbed because the IRQ was still in flight. */
  coalesced: number;
  /** Re-injections on EOI because the line was still asserted (level only). */
  reinjected: number;
  /** EOIs of IRQs that were not in flight. */
  spuriousEoi: number;
}

export class VirqController {
  readonly counters: VirqCounters = { injected: 0, coalesced: 0, reinjected: 0, spuriousEoi: 0 };
  private readonly inFlight = new Set<number>();
  private readonly lines = new Map<number, () => boolean>();

  constructor(
    private readonly target: VirqTarget,
    readonly semantics: "edge" | "level",
  ) {}

  /** Register the level of a device line, sampled on EOI under `level` semantics. */
  connect(irq: number, asserted: () => boolean): void {
    this.lines.set(irq, asserted);
  }

  /** Whether the IRQ was injected and not yet EOI'd. */
  isInFlight(irq: number): boolean {
    return this.inFlight.has(irq);
  }

  /** Whether any IRQ was injected and not yet EOI'd (the guest has an interrupt to service). */
  anyInFlight(): boolean {
    return this.inFlight.size > 0;
  }

  /** The device raised its line (libvmm `virq_inject`). Always succeeds: the vGIC is not disabled. */
  raise(irq: number): boolean {
    if (this.inFlight.has(irq)) {
      this.counters.coalesced++;
      return true;
    }
    this.inFlight.add(irq);
    this.counters.injected++;
    this.target.inject(irq);
    return true;
  }

  /** The guest EOI'd `irq` (vGIC maintenance fault). Returns false for a spurious EOI. */
  eoi(irq: number): boolean {
    if (!this.inFlight.delete(irq)) {
      this.counters.spuriousEoi++;
      return false;
    }
    if (this.semantics === "level" && this.lines.get(irq)?.() === true) {
      this.counters.reinjected++;
      this.raise(irq);
    }
    return true;
  }

  /** Forget all in-flight state (the vCPU was restarted). */
  reset(): void {
    this.inFlight.clear();
  }
}
