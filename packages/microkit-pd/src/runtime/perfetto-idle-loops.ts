/**
 * Idle loops in the folded Perfetto export (perfetto-fold.ts). While only threads in declared
 * idle loops run (an idle guest's trapped WFI answered at once by its VMM, microkit reference
 * §2.10: records the kernel marks `quiet`, cycle-records.ts), the export shows the whole stretch
 * as one slice, from its first such record to the first record of anything else, with each
 * thread's run time in it. Fast-forward leaps (`idle` records) only ever happen inside such
 * stretches and bring their run times, so the slice is the same whether the stretch was simulated
 * trap by trap or leapt over: the timeline does not depend on fast-forward or its switches.
 */
import type { CycleRecords, CycleSink } from "./cycle-records.js";
import type { RuntimeEvent } from "./event-log.js";

/** A stretch of declared idle loops from `t` to `until` (ns), with each thread's run time in it. */
export interface IdleLoopRun {
  readonly type: "idle-loop";
  readonly t: number;
  readonly until: number;
  /** Ns each thread held the core in the stretch (threads that held it for some time). */
  readonly ran: ReadonlyMap<string, number>;
  /** The thread on the core at `until`. */
  readonly holder: string | null;
}

/** Whether a kernel record was made by a step in a declared idle loop. */
export function isQuiet(e: RuntimeEvent): boolean {
  return (e as { readonly quiet?: true }).quiet === true;
}

/**
 * Gathers the records of declared idle loops into {@link IdleLoopRun}s, in log order. It keeps
 * the thread on the core from every switch record, so that the stretch's run times come from
 * switch times alone (and a leap's own `ran`), all integer ns: exact whatever was leapt.
 */
export class IdleLoopGate {
  private holder: string | null = null;
  /** The open stretch's start (ns), or -1 when none is open. */
  private start = -1;
  /** Since when {@link holder} holds the core without its time counted in {@link ran}. */
  private since = 0;
  private ran = new Map<string, number>();

  constructor(private readonly out: (run: IdleLoopRun) => void) {}

  /** A record of a declared idle loop at `t` other than a switch. */
  quiet(t: number): void {
    if (this.start < 0) this.begin(t);
  }

  /** A switch of a declared idle loop at `t` to thread `to`. */
  quietSwitch(t: number, to: string): void {
    if (this.start < 0) this.begin(t);
    this.credit(t);
    this.holder = to;
  }

  /**
   * A fast-forward leap: its periods' run times join the stretch. Should it come before any
   * record of the stretch, its periods' first records (the guest's WFI exit, right after the
   * deadline test where every leap starts) are made at its start: the stretch begins there.
   */
  leap(e: Extract<RuntimeEvent, { type: "idle" }>): void {
    if (this.start < 0) this.begin(e.t);
    this.credit(e.t);
    for (const [name, ns] of Object.entries(e.ran)) this.add(name, ns);
    this.since = e.until;
  }

  /** Any other kernel record at `t` (for a switch, then {@link switched}): the stretch ends. */
  other(t: number): void {
    if (this.start >= 0) this.close(t);
  }

  /** A switch that is not an idle loop's put `to` on the core. */
  switched(to: string | null): void {
    this.holder = to;
  }

  private begin(t: number): void {
    this.start = t;
    this.since = t;
  }

  private credit(t: number): void {
    if (this.holder !== null && t > this.since) this.add(this.holder, t - this.since);
    this.since = t;
  }

  private add(name: string, ns: number): void {
    this.ran.set(name, (this.ran.get(name) ?? 0) + ns);
  }

  private close(t: number): void {
    this.credit(t);
    const run: IdleLoopRun = {
      type: "idle-loop",
      t: this.start,
      until: t,
      ran: this.ran,
      holder: this.holder,
    };
    this.start = -1;
    this.ran = new Map();
    this.out(run);
  }
}

/**
 * The kernel's cycle sink in front of `records` (perfetto-traps.ts): a record of a declared idle
 * loop goes to `gate`; any other ends the gate's stretch first (a record made as an object goes
 * to `add`, which does the same).
 */
export function gatedCycleSink(
  gate: IdleLoopGate,
  records: CycleRecords,
  add: (e: RuntimeEvent) => void,
): CycleSink {
  return {
    record: add,
    guestExit: (t, thread, handler, fault) => {
      gate.other(t);
      records.guestExit(t, thread, handler, fault);
    },
    entry: (t, thread, entry, ch, flows) => {
      gate.other(t);
      records.entry(t, thread, entry, ch, flows);
    },
    entryEnd: (t, thread, entry) => {
      gate.other(t);
      records.entryEnd(t, thread, entry);
    },
    reply: (t, from, to) => {
      gate.other(t);
      records.reply(t, from, to);
    },
    quietRecord: (t) => gate.quiet(t),
    quietSwitch: (t, to) => gate.quietSwitch(t, to),
  };
}
