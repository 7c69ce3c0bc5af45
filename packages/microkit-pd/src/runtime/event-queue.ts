/**
 * The simulation's event heap: a binary min-heap ordered by virtual time, ties broken by
 * insertion sequence so that equal-time events fire in the order they were scheduled
 * (DESIGN.md "Determinism").
 */
import type { InertTicks } from "../program.js";

export interface ScheduledEvent {
  readonly time: number;
  readonly seq: number;
  /** Cancelled (by {@link EventQueue.cancel}) or already popped; never fires again. */
  cancelled: boolean;
  readonly fire: () => void;
  /** A device tick that may be inert (ticks.ts), else null. */
  readonly ticks: InertTicks | null;
}

export class EventQueue {
  private readonly heap: ScheduledEvent[] = [];
  private seq = 0;
  private live = 0;

  /** Events scheduled and neither fired nor cancelled. */
  get size(): number {
    return this.live;
  }

  /** Cancel an event; it is dropped when it reaches the top. */
  cancel(event: ScheduledEvent): void {
    if (event.cancelled) return;
    event.cancelled = true;
    this.live--;
  }

  push(time: number, fire: () => void, ticks: InertTicks | null = null): ScheduledEvent {
    const event: ScheduledEvent = { time, seq: this.seq++, cancelled: false, fire, ticks };
    const heap = this.heap;
    this.live++;
    heap.push(event);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = heap[parent]!;
      if (!before(event, p)) break;
      heap[i] = p;
      i = parent;
    }
    heap[i] = event;
    return event;
  }

  /** The earliest live event, without removing it. */
  peek(): ScheduledEvent | undefined {
    this.dropCancelled();
    return this.heap[0];
  }

  /** Every live event, in no particular order. */
  forEach(visit: (event: ScheduledEvent) => void): void {
    for (const event of this.heap) if (!event.cancelled) visit(event);
  }

  /** Remove and return the earliest live event. */
  pop(): ScheduledEvent | undefined {
    this.dropCancelled();
    const top = this.removeTop();
    if (top) {
      this.live--;
      // No longer pending: a late cancel of a fired event is a no-op.
      top.cancelled = true;
    }
    return top;
  }

  private dropCancelled(): void {
    while (this.heap.length > 0 && this.heap[0]!.cancelled) this.removeTop();
  }

  private removeTop(): ScheduledEvent | undefined {
    const heap = this.heap;
    const top = heap[0];
    const last = heap.pop();
    if (top === undefined || last === undefined || heap.length === 0) return top;
    let i = 0;
    const n = heap.length;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const child = r < n && before(heap[r]!, heap[l]!) ? r : l;
      if (!before(heap[child]!, last)) break;
      heap[i] = heap[child]!;
      i = child;
    }
    heap[i] = last;
    return top;
  }
}

function before(a: ScheduledEvent, b: ScheduledEvent): boolean {
  return a.time < b.time || (a.time === b.time && a.seq < b.seq);
}
