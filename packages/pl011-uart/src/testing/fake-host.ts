/**
 * A minimal {@link DeviceHost} for unit tests without the scheduler: a virtual clock and
 * an event heap ordered by (time, insertion sequence), as the runtime orders its own
 * (DESIGN.md "Determinism"). Time moves only when the test runs events.
 */
import type { DeviceHost, Nanoseconds, TimerHandle } from "@vmmux/microkit-pd";

interface HeapEntry {
  readonly time: number;
  readonly seq: number;
  readonly id: number;
  readonly action: () => void;
}

export interface IrqChange {
  readonly time: number;
  readonly irq: number;
  readonly asserted: boolean;
}

export interface TraceRecord {
  readonly time: number;
  readonly name: string;
  readonly args: Readonly<Record<string, unknown>> | undefined;
}

export class FakeDeviceHost implements DeviceHost {
  /** Every level change of every line, in order. */
  readonly irqChanges: IrqChange[] = [];
  readonly traces: TraceRecord[] = [];
  /** Record traces (off for benchmarks). */
  recordTraces = true;
  /** Events run so far. */
  eventsRun = 0;
  private time: Nanoseconds = 0;
  private seq = 0;
  private nextId = 1;
  private readonly heap: HeapEntry[] = [];
  private readonly cancelled = new Set<number>();
  private readonly levels = new Map<number, boolean>();
  private readonly irqListeners: Array<(irq: number, asserted: boolean) => void> = [];

  now(): Nanoseconds {
    return this.time;
  }

  at(time: Nanoseconds, action: () => void): TimerHandle {
    if (time < this.time)
      throw new RangeError(`event at ${time} ns is before now (${this.time} ns)`);
    const entry: HeapEntry = { time, seq: this.seq++, id: this.nextId++, action };
    this.push(entry);
    return { id: entry.id };
  }

  cancel(handle: TimerHandle): void {
    this.cancelled.add(handle.id);
  }

  setIrqLevel(irq: number, asserted: boolean): void {
    if ((this.levels.get(irq) ?? false) === asserted) return;
    this.levels.set(irq, asserted);
    this.irqChanges.push({ time: this.time, irq, asserted });
    for (const listener of this.irqListeners) listener(irq, asserted);
  }

  pulseIrq(irq: number): void {
    this.setIrqLevel(irq, true);
    this.setIrqLevel(irq, false);
  }

  trace(name: string, args?: Readonly<Record<string, unknown>>): void {
    if (this.recordTraces) this.traces.push({ time: this.time, name, args });
  }

  /** Current level of a line. */
  irqLevel(irq: number): boolean {
    return this.levels.get(irq) ?? false;
  }

  onIrq(listener: (irq: number, asserted: boolean) => void): void {
    this.irqListeners.push(listener);
  }

  /** Time of the earliest pending event, or undefined when none is pending. */
  nextEventTime(): Nanoseconds | undefined {
    this.dropCancelled();
    return this.heap[0]?.time;
  }

  /** Run the earliest event (advancing the clock to it); false when none is pending. */
  step(): boolean {
    this.dropCancelled();
    const top = this.pop();
    if (!top) return false;
    this.time = top.time;
    this.eventsRun++;
    top.action();
    return true;
  }

  /** Run every event up to and including `time`, then set the clock to `time`. */
  runUntil(time: Nanoseconds): void {
    for (;;) {
      const next = this.nextEventTime();
      if (next === undefined || next > time) break;
      this.step();
    }
    if (time > this.time) this.time = time;
  }

  /** Run until no event is pending (bounded, so a self-rescheduling device cannot hang a test). */
  runAll(maxEvents = 10_000_000): void {
    for (let i = 0; i < maxEvents; i++) if (!this.step()) return;
    throw new Error(`FakeDeviceHost.runAll: more than ${maxEvents} events`);
  }

  /** Move the clock forward without running events (they stay pending and late). */
  advanceTo(time: Nanoseconds): void {
    if (time < this.time) throw new RangeError(`cannot move the clock back to ${time} ns`);
    const next = this.nextEventTime();
    if (next !== undefined && next < time) this.runUntil(time);
    this.time = time;
  }

  private dropCancelled(): void {
    while (this.heap.length > 0 && this.cancelled.has(this.heap[0]!.id)) {
      this.cancelled.delete(this.heap[0]!.id);
      this.pop();
    }
  }

  private less(a: HeapEntry, b: HeapEntry): boolean {
    return a.time < b.time || (a.time === b.time && a.seq < b.seq);
  }

  private push(entry: HeapEntry): void {
    const h = this.heap;
    h.push(entry);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(h[i]!, h[parent]!)) break;
      [h[i], h[parent]] = [h[parent]!, h[i]!];
      i = parent;
    }
  }

  private pop(): HeapEntry | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0 && last) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && this.less(h[l]!, h[m]!)) m = l;
        if (r < h.length && this.less(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }
}
