/**
 * The host side of a device model (`DeviceHost`): its clock, its timers as kernel entries, its
 * interrupt lines, and its trace records.
 */
import type { DeviceHost, TimerHandle } from "../program.js";
import type { ScheduledEvent } from "./event-queue.js";
import type { Kernel } from "./kernel.js";

/** A host-side handle for a device model, also usable by tests to drive IRQs and timers. */
export class Host implements DeviceHost {
  private readonly timers = new Map<number, ScheduledEvent>();
  private nextId = 0;

  constructor(
    private readonly k: Kernel,
    private readonly device: string,
  ) {}

  now(): number {
    return this.k.now;
  }
  at(time: number, action: () => void): TimerHandle {
    const id = this.nextId++;
    const event = this.k.at(time, () => {
      this.timers.delete(id);
      action();
    });
    this.timers.set(id, event);
    return { id };
  }
  cancel(handle: TimerHandle): void {
    const event = this.timers.get(handle.id);
    if (event) this.k.cancel(event);
    this.timers.delete(handle.id);
  }
  setIrqLevel(irq: number, asserted: boolean): void {
    this.k.irqs.setLevel(irq, asserted);
  }
  pulseIrq(irq: number): void {
    this.k.irqs.setLevel(irq, true);
    this.k.irqs.setLevel(irq, false);
  }
  trace(name: string, args?: Readonly<Record<string, unknown>>): void {
    this.k.record({
      t: this.k.now,
      type: "device",
      device: this.device,
      name,
      ...(args ? { args } : {}),
    });
  }
}
