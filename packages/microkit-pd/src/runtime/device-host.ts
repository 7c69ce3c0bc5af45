/**
 * The host side of a device model (`DeviceHost`): its clock, its timers as kernel entries, its
 * interrupt lines, and its trace records.
 */
import type { DeviceHost, InertTicks, TimerHandle } from "../program.js";
import type { ScheduledEvent } from "./event-queue.js";
import type { Kernel } from "./kernel.js";

/** A device timer's handle carries its heap event (fired or cancelled ones are inert). */
interface HostTimer extends TimerHandle {
  readonly event: ScheduledEvent;
}

/** A host-side handle for a device model, also usable by tests to drive IRQs and timers. */
export class Host implements DeviceHost {
  private nextId = 0;
  /** Only while events are recorded (a device builds no record for a passed tick otherwise). */
  readonly traceAt?: (time: number, name: string, args?: Readonly<Record<string, unknown>>) => void;

  constructor(
    private readonly k: Kernel,
    private readonly device: string,
  ) {
    if (k.recording)
      this.traceAt = (t, name, args) =>
        k.ticks.passedRecord(
          args ? { t, type: "device", device, name, args } : { t, type: "device", device, name },
        );
  }

  now(): number {
    return this.k.now;
  }
  at(time: number, action: () => void): TimerHandle {
    const timer: HostTimer = { id: this.nextId++, event: this.k.at(time, action) };
    return timer;
  }
  atTick(time: number, action: () => void, ticks: InertTicks): TimerHandle {
    const timer: HostTimer = { id: this.nextId++, event: this.k.atTick(time, action, ticks) };
    return timer;
  }
  cancel(handle: TimerHandle): void {
    const event = (handle as Partial<HostTimer>).event;
    if (event !== undefined && !event.cancelled) this.k.cancel(event);
  }
  setIrqLevel(irq: number, asserted: boolean): void {
    this.k.irqs.setLevel(irq, asserted);
  }
  pulseIrq(irq: number): void {
    this.k.irqs.setLevel(irq, true);
    this.k.irqs.setLevel(irq, false);
  }
  trace(name: string, args?: Readonly<Record<string, unknown>>): void {
    if (!this.k.options.recordEvents) return;
    // One literal per case, no spread: a UART writes one of these per character.
    const t = this.k.now;
    const device = this.device;
    this.k.record(
      args ? { t, type: "device", device, name, args } : { t, type: "device", device, name },
    );
  }
}
