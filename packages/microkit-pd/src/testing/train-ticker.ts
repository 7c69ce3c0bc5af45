/**
 * A device for the inert-tick properties (ticks.prop.test.ts, spin-ticks.prop.test.ts): trains
 * of `train` ticks `interval` ns apart, armed as inert ticks (`DeviceHost.atTick`); every tick
 * but a train's last changes nothing a thread sees, and the last pulses `irq` and starts the
 * next train. `fired` lists every tick's time, passed by arithmetic or not.
 */
import type { DeviceHost, InertTicks, MmioDevice, TimerHandle } from "../program.js";

export class TrainTicker implements MmioDevice, InertTicks {
  readonly fired: number[] = [];
  private start: number;
  private done = 0;
  private timer: TimerHandle | null = null;

  constructor(
    private readonly host: DeviceHost,
    private readonly irq: number,
    private readonly interval: number,
    private readonly train: number,
    first: number,
  ) {
    this.start = first - interval;
    this.arm();
  }

  read(): number {
    return this.fired.length;
  }
  write(): void {}

  inertUntil(): number {
    return this.start + this.train * this.interval;
  }
  tickAt(n: number): number {
    return this.start + (this.done + 1 + n) * this.interval;
  }
  skip(n: number): void {
    for (let i = 0; i < n; i++) {
      this.fired.push(this.tickAt(0));
      this.done++;
    }
    this.arm();
  }
  /** A tick is armed (the device's timer is live). */
  get pending(): boolean {
    return this.timer !== null;
  }

  private arm(): void {
    const fire = () => this.fire();
    const t = this.tickAt(0);
    this.timer = this.host.atTick ? this.host.atTick(t, fire, this) : this.host.at(t, fire);
  }
  private fire(): void {
    this.timer = null;
    this.fired.push(this.host.now());
    this.done++;
    if (this.done === this.train) {
      this.host.pulseIrq(this.irq);
      this.start = this.host.now();
      this.done = 0;
    }
    this.arm();
  }
}
