/**
 * Inert device ticks inside fast-forward (issue 12; fast-forward.ts). A device that keeps a
 * timer per regular tick (a UART's character ends while its FIFO drains) arms them with
 * `DeviceHost.atTick`; a tick before the device's next wake changes nothing any thread can see.
 * Such a tick fires like any event (one event counted, time accounted, budgets checked, the
 * running thread's timer re-armed) but does not end the search for a period, and a leap runs
 * past it: the leap counts one event per tick, except for a tick due at the very instant a
 * kernel timer of the period expires — the tick comes first on the heap (the timer is re-armed
 * after every kernel entry, so after the tick was pushed), its kernel entry runs the expiry's
 * work and the timer is cancelled, so the pair is one event. After the leap each device
 * passes its ticks by arithmetic (`InertTicks.skip`), arming its next tick before the running
 * thread's timer is re-armed, as firing the last of them would have.
 *
 * While events are recorded, a passed tick writes the trace records its firing would have
 * (`InertTicks.tracesPassed`, `DeviceHost.traceAt`), stamped with its own time and put where the
 * fired tick would have put them: after every record made before the pass, before every record
 * made after it, and among themselves in the order the heap would have fired the ticks (time,
 * then push order: a device arms its next tick as the one before fires). A tick due at the
 * pass's last instant is passed only when it does that instant's timer expiry: any other would
 * fire after the code that runs there, its records after that code's, so the pass is not made.
 * A device that does not declare `tracesPassed` has no inert ticks in a recorded run.
 *
 * Of two devices' ticks due at one timer expiry, only the first does the expiry's work: the
 * second is an event of its own.
 *
 * Off (every tick is an ordinary event, as before) with MIN_BUDGET > 0 (a tick's budget check
 * could end a slice early) and with `KernelOptions.inertTicks: false`. A leap may cross
 * round-robin slice ends (fast-forward-slices.ts): a tick's budget check is not one of the
 * period's and is left out of its profile, and a tick due at the very instant a slice runs out
 * does that timer's work, as at any other expiry. A leap whose period's timer expiries are not
 * known stops before the first tick instead, and that tick then ends the search as any event does.
 */
import { RuntimeError } from "./errors.js";
import type { RuntimeEvent } from "./event-log.js";
import type { ScheduledEvent } from "./event-queue.js";
import type { Kernel } from "./kernel.js";

/** The ticks a leap passes: per device, how many, and the events they stand for. */
export interface TickRun {
  readonly sources: readonly {
    readonly event: ScheduledEvent;
    readonly n: number;
    readonly last: number;
  }[];
  /** Events the ticks add to the leap's count. */
  readonly events: number;
  /** Ticks that did not tie with a kernel timer expiry. */
  readonly untied: number;
}

/** One device's ticks in a pass of a recorded run: their times and the records they wrote. */
export interface PassedTicks {
  readonly times: number[];
  readonly records: RuntimeEvent[];
  /** The next tick to write, its next record, and its place among ticks due at one instant. */
  next: number;
  record: number;
  order: number;
}

/** No ticks passed. */
export const NO_TICKS: TickRun = { sources: [], events: 0, untied: 0 };
/** Ticks per device enumerated for one leap (a FIFO's depth is far less). */
const MAX_TICKS = 4096;
/** Expiries listed between two idle checks (more make the period's list unknown). */
const MAX_EXPIRIES = 768;

export class Ticks {
  /** Whether ticks may be inert in this kernel (see the module comment). */
  readonly on: boolean;
  /** Inert ticks that stood for no timer expiry: fast-forward leaves them out of its event count. */
  untied = 0;
  /** Kernel timer expiry times since fast-forward's last idle check; null if unknown. */
  private expiries: number[] | null = [];
  /** A leap stopped before a tick it could not pass: that tick fires as an ordinary event. */
  private plain = false;
  /** `inTurns`' expiry offsets (a turn's end) and slice ends (none), kept to allocate nothing. */
  private readonly turnEnd = new Set<number>();
  private readonly noSliceEnds = new Set<number>();
  /** `collect`'s instants whose expiry a tick has done (a second tick there is a plain event). */
  private readonly tiedAt = new Set<number>();
  /** Events are recorded: only ticks whose `skip` writes their records may be inert. */
  private readonly recording: boolean;
  /** In a pass of a recorded run: the device whose ticks are being skipped. */
  private passing: PassedTicks | null = null;
  /** In a pass of one device's ticks: its records are written as they come, in [`at`, `to`]. */
  private alone = false;
  private aloneAt = 0;
  private aloneTo = 0;

  constructor(
    protected readonly k: Kernel,
    enabled: boolean,
  ) {
    this.on = enabled && k.options.minBudget === 0;
    this.recording = k.options.recordEvents;
  }

  /** The running thread's timer expired (on the heap or ended in place), while it matters. */
  expired(): void {
    const list = this.expiries;
    if (list === null || !this.on || !this.k.ff.probing) return;
    if (list.length >= MAX_EXPIRIES) this.expiries = null;
    else list.push(this.k.now);
  }

  /** Busy-wait turns were replayed (their expiries are not listed), or a leap was applied. */
  unlisted(): void {
    this.expiries = null;
  }

  /** An inert tick fired; `tied`: at the running thread's timer's expiry, whose work it does. */
  fired(tied: boolean): void {
    if (tied) this.expired();
    else {
      this.untied++;
      this.k.ff.tickEntered(); // its budget check is not one of the period's
    }
  }

  /** At an idle check: the expiries since the previous one; a new list starts. */
  takeExpiries(): number[] | null {
    const list = this.expiries;
    this.expiries = [];
    return list;
  }

  /** A period's expiries as offsets in (0, period] from `from`, null if one list is unknown. */
  static offsets(lists: readonly (readonly number[] | null)[], from: number): Set<number> | null {
    const out = new Set<number>();
    for (const list of lists) {
      if (list === null) return null;
      for (const t of list) out.add(t - from);
    }
    return out;
  }

  /** The heap fires `event`: whether as an inert tick (else it ends fast-forward's search). */
  firesInert(event: ScheduledEvent): boolean {
    if (!this.inert(event)) return false;
    if (!this.plain) return true;
    this.plain = false;
    return false;
  }

  /** `event` is a device tick that is inert now. */
  inert(event: ScheduledEvent): boolean {
    const ticks = event.ticks;
    return (
      this.on &&
      ticks !== null &&
      (!this.recording || ticks.tracesPassed === true) &&
      event.time < ticks.inertUntil()
    );
  }

  /** The first time a leap must stop before: the earliest live event that is not an inert tick. */
  horizon(): number {
    const top = this.k.events.peek();
    if (top === undefined) return Number.POSITIVE_INFINITY;
    if (!this.on || !this.inert(top)) return top.time;
    let h = Number.POSITIVE_INFINITY;
    this.k.events.forEach((e) => {
      const ticks = e.ticks;
      if (ticks !== null && this.inert(e)) h = Math.min(h, ticks.inertUntil());
      else h = Math.min(h, e.time);
    });
    return h;
  }

  /** The time of the first inert tick pending, +Infinity if none. */
  private first(): number {
    let t = Number.POSITIVE_INFINITY;
    if (this.on)
      this.k.events.forEach((e) => {
        if (this.inert(e)) t = Math.min(t, e.time);
      });
    return t;
  }

  /**
   * The ticks in `count` periods of `period` ns from now. `expiries`: the kernel timer
   * expiries of one period as offsets in (0, period], null if unknown (asked for only when a
   * tick falls in the leap); `sliceEnds`: the instants
   * slices run out in the leap (timer expiries too). Returns the count that fits and its ticks.
   */
  bound(
    count: number,
    period: number,
    expiries: () => ReadonlySet<number> | null,
    sliceEnds: (count: number) => readonly number[],
    allowance: (count: number, tickEvents: number) => boolean,
  ): { count: number; run: TickRun } {
    const now = this.k.now;
    const first = this.first();
    if (first > now + count * period) return { count, run: NO_TICKS };
    const offsets = expiries();
    const run =
      offsets === null
        ? null
        : this.collect(now, count, period, offsets, new Set(sliceEnds(count)));
    if (run !== null && allowance(count, run.events)) return { count, run };
    // Fall back: stop before the first tick, which then ends the search as any event does.
    this.plain = true;
    return { count: Math.min(count, Math.floor((first - 1 - now) / period)), run: NO_TICKS };
  }

  /**
   * The ticks in `count` turns of a busy-wait of `period` ns each from now (kernel.ts
   * `replaySpin`): every turn ends with a kernel timer expiry, so a tick due as one ends ties
   * with it. Null when a device's ticks are not all known.
   */
  inTurns(count: number, period: number): TickRun | null {
    if (this.first() > this.k.now + count * period) return NO_TICKS;
    this.turnEnd.clear();
    this.turnEnd.add(period);
    return this.collect(this.k.now, count, period, this.turnEnd, this.noSliceEnds);
  }

  private collect(
    now: number,
    count: number,
    period: number,
    expiries: ReadonlySet<number>,
    sliceEnds: Set<number>,
  ): TickRun | null {
    const end = now + count * period;
    const sources: { event: ScheduledEvent; n: number; last: number }[] = [];
    const tiedAt = this.tiedAt;
    tiedAt.clear();
    let events = 0;
    let untied = 0;
    let ok = true;
    this.k.events.forEach((event) => {
      if (!ok || !this.inert(event)) return;
      const ticks = event.ticks!;
      const until = ticks.inertUntil();
      let n = 0;
      let last = 0;
      for (;;) {
        const t = n === 0 ? event.time : ticks.tickAt(n);
        if (t > end) break;
        // Recorded: a device's records go to its ticks by time, so its ticks' times must differ.
        if (!(t > now) || t >= until || n >= MAX_TICKS || (this.recording && n > 0 && t <= last)) {
          ok = false;
          return;
        }
        const offset = (t - now) % period || period;
        // One expiry per instant: of two devices' ticks due at it, the first does its work.
        const tied =
          this.expiryFree(t, tiedAt) && (expiries.has(offset) || this.atSliceEnd(t, sliceEnds));
        if (this.recording && t === end && !tied) {
          // It would fire after the code run at `end`, so its records would follow that code's.
          ok = false;
          return;
        }
        if (tied) tiedAt.add(t);
        events += this.eventsOf(tied);
        if (!tied) untied++;
        last = t;
        n++;
      }
      if (n > 0) sources.push({ event, n, last });
    });
    return ok ? { sources, events, untied } : null;
  }

  /**
   * Whether a tick at `t` is due as a slice runs out (it does that timer's work). A slice's
   * timer is one expiry: a second tick at its instant is a plain one. A seam for variants.
   */
  protected atSliceEnd(t: number, sliceEnds: Set<number>): boolean {
    return sliceEnds.delete(t);
  }

  /** No tick passed so far does the expiry at `t` (`tiedAt`). A seam for variants. */
  protected expiryFree(t: number, tiedAt: ReadonlySet<number>): boolean {
    return !tiedAt.has(t);
  }

  /** Events one passed tick stands for: none when it ties with a kernel timer expiry. */
  protected eventsOf(tied: boolean): number {
    return tied ? 0 : 1;
  }

  /**
   * `entries` kernel timer expiries processed in place (busy-wait turns, inline-steps.ts) and the
   * inert ticks passed on the way: their events counted, the devices' ticks passed.
   */
  passInPlace(run: TickRun, entries: number): void {
    this.k.eventsProcessed += entries + run.events;
    this.k.eventAllowance -= entries + run.events;
    if (run.sources.length > 0) this.pass(run);
  }

  /** After a leap: each device passes its ticks, in the order their last ones would have fired. */
  pass(run: TickRun): void {
    const sources = [...run.sources].sort((a, b) => a.last - b.last || a.event.seq - b.event.seq);
    if (this.recording) this.passRecorded(sources);
    else
      for (const s of sources) {
        this.k.events.cancel(s.event);
        s.event.ticks!.skip(s.n);
      }
    this.untied += run.untied;
  }

  /**
   * `pass` in a recorded run: each device skips its ticks, its records gathered by tick (each
   * tick's time is known before it is skipped), then the records are written tick by tick in the
   * heap's firing order.
   */
  private passRecorded(sources: TickRun["sources"]): void {
    if (sources.length === 1) {
      // One device: its records come in its ticks' order, which is the firing order.
      const s = sources[0]!;
      this.k.events.cancel(s.event);
      this.alone = true;
      this.aloneAt = s.event.time;
      this.aloneTo = s.last;
      try {
        s.event.ticks!.skip(s.n);
      } finally {
        this.alone = false;
      }
      return;
    }
    const passed: PassedTicks[] = [];
    for (const s of sources) {
      const ticks = s.event.ticks!;
      const times = [s.event.time];
      for (let i = 1; i < s.n; i++) times.push(ticks.tickAt(i));
      passed.push({ times, records: [], next: 0, record: 0, order: s.event.seq });
    }
    for (let i = 0; i < sources.length; i++) {
      const s = sources[i]!;
      this.k.events.cancel(s.event);
      this.passing = passed[i]!;
      try {
        s.event.ticks!.skip(s.n);
      } finally {
        this.passing = null;
      }
    }
    // Ticks due at one instant fire in push order: the pending ones by their heap sequence,
    // every later one armed as the tick before it fired, so after all pending ones.
    const byPush = [...passed].sort((a, b) => a.order - b.order);
    for (let i = 0; i < byPush.length; i++) byPush[i]!.order = i;
    let pushes = byPush.length;
    for (;;) {
      let first: PassedTicks | null = null;
      for (const p of passed)
        if (p.next < p.times.length && (first === null || this.firesBefore(p, first))) first = p;
      if (first === null) break;
      const time = first.times[first.next++]!;
      first.order = pushes++;
      const records = first.records;
      while (first.record < records.length && records[first.record]!.t === time)
        this.write(records[first.record++]!);
    }
    for (const p of passed)
      if (p.record < p.records.length)
        throw new RuntimeError(
          "RT_INTERNAL",
          `a device traced a passed tick at ${p.records[p.record]!.t} ns, not one of its ticks' times`,
        );
  }

  /** A device skipping its ticks in a recorded run wrote `record` for one of them (`traceAt`). */
  passedRecord(record: RuntimeEvent): void {
    if (this.alone) {
      const t = record.t;
      if (!(t >= this.aloneAt && t <= this.aloneTo))
        throw new RuntimeError(
          "RT_INTERNAL",
          `a device traced a passed tick at ${t} ns, out of its ticks' order or times`,
        );
      this.aloneAt = t;
      this.write(record);
      return;
    }
    const passing = this.passing;
    if (passing === null)
      throw new RuntimeError("RT_INTERNAL", "a device traced a passed tick outside a pass");
    passing.records.push(record);
  }

  /** Whether `a`'s next tick fires before `b`'s: earlier, or due at once and pushed first. */
  protected firesBefore(a: PassedTicks, b: PassedTicks): boolean {
    const ta = a.times[a.next]!;
    const tb = b.times[b.next]!;
    return ta < tb || (ta === tb && a.order < b.order);
  }

  /** Write one passed tick's record to the log. A seam for variants. */
  protected write(record: RuntimeEvent): void {
    this.k.record(record);
  }
}
