/**
 * Trap cycles for the folded Perfetto export (perfetto-fold.ts). A guest exit its VMM answers at
 * once (the idle guest's trapped WFI answered by libvmm, reference §2.10) logs six kernel
 * records: the vCPU's fault, the switch to the VMM, its `fault` entry point and its end, the
 * reply and the switch back. An idle guest makes tens of thousands a virtual second and the
 * folder takes nearly all of them into a fold of that very cycle, so {@link TrapGrouper} hands
 * the six to it as one {@link TrapCycle}, which a fold takes whole; one it does not continue goes
 * record by record. The folder's output is the same either way. The grouper also takes the
 * kernel's cycle records without objects ({@link CycleRecords}, behind the folder's sink): the
 * records of a trap cycle are then never made as objects unless the folder needs them.
 */
import type { FaultMessage } from "../program.js";
import {
  type CycleRecords,
  entryEndRecord,
  entryRecord,
  guestExitRecord,
  replyRecord,
} from "./cycle-records.js";
import type { EntryPoint, RuntimeEvent } from "./event-log.js";
import type { FoldItem } from "./perfetto-fold-shape.js";

/** Records of a trap cycle, and the positions of its two switches. */
export const TRAP_RECORDS = 6;
export const TRAP_SWITCH_IN = 1;
export const TRAP_SWITCH_OUT = 5;

/** A trap cycle as the folder reads it: what its records' shapes follow from, and its records. */
export interface TrapView {
  readonly thread: string;
  readonly handler: string;
  readonly fault: FaultMessage | null;
  readonly ch: number | undefined;
  /** The time of record `k`. */
  time(k: number): number;
  /** The cycle, to keep after this call returns. */
  freeze(): TrapCycle;
}

/** Whether two trap cycles' records have the same shapes (the same fault object: the same fault). */
export function sameTrap(a: TrapView, b: TrapView): boolean {
  return a.thread === b.thread && a.handler === b.handler && a.fault === b.fault && a.ch === b.ch;
}

/** One trap cycle, its records made only when asked for ({@link record}). */
export class TrapCycle implements TrapView {
  constructor(
    readonly thread: string,
    readonly handler: string,
    readonly fault: FaultMessage,
    readonly ch: number | undefined,
    readonly flows: readonly number[] | undefined,
    /** Times of the fault, the entry, its end and the reply. */
    private readonly t0: number,
    private readonly t2: number,
    private readonly t3: number,
    private readonly t4: number,
    /** The two switches, as the kernel made them. */
    private readonly switchIn: RuntimeEvent,
    private readonly switchOut: RuntimeEvent,
  ) {}

  freeze(): TrapCycle {
    return this;
  }

  time(k: number): number {
    switch (k) {
      case 0:
        return this.t0;
      case 1:
        return this.switchIn.t;
      case 2:
        return this.t2;
      case 3:
        return this.t3;
      case 4:
        return this.t4;
      default:
        return this.switchOut.t;
    }
  }

  /** Record `k` of the cycle, as the kernel would have made it. */
  record(k: number): RuntimeEvent {
    switch (k) {
      case 0:
        return guestExitRecord(this.t0, this.thread, this.handler, this.fault);
      case 1:
        return this.switchIn;
      case 2:
        return entryRecord(this.t2, this.handler, "fault", this.ch, this.flows);
      case 3:
        return entryEndRecord(this.t3, this.handler, "fault");
      case 4:
        return replyRecord(this.t4, this.handler, this.thread);
      default:
        return this.switchOut;
    }
  }

  records(): RuntimeEvent[] {
    const out: RuntimeEvent[] = [];
    for (let k = 0; k < TRAP_RECORDS; k++) out.push(this.record(k));
    return out;
  }
}

/** Where the grouper hands records on: whole trap cycles, single records, a look at the fold. */
export interface TrapSink {
  add(e: FoldItem): void;
  /** A whole trap cycle, read during the call (kept by {@link TrapView.freeze}). */
  addTrap(trap: TrapView): void;
  /** Whether the fold under way takes `records` next without handing anything on. */
  wouldTake(records: readonly RuntimeEvent[]): boolean;
}

/**
 * Groups the kernel records going to the folder into trap cycles: a fault and what follows are
 * held while they form one; anything else hands the held records on one by one first. Records
 * are never reordered for the folder, and held back across a record that bypasses it (a
 * device's, a counter) only when the fold under way takes them anyway ({@link settle}).
 */
export class TrapGrouper implements CycleRecords, TrapView {
  /** Records of the trap cycle under way held (0: none). */
  private held = 0;
  thread = "";
  handler = "";
  fault: FaultMessage | null = null;
  ch: number | undefined;
  private flows: readonly number[] | undefined;
  private t0 = 0;
  private t2 = 0;
  private t3 = 0;
  private t4 = 0;
  private switchIn: RuntimeEvent | null = null;
  private switchOut: RuntimeEvent | null = null;
  /** Records held when {@link settle} last found the fold takes them. */
  private settled = 0;

  constructor(private readonly to: TrapSink) {}

  /** A kernel record made as an object. */
  add(e: RuntimeEvent): void {
    switch (e.type) {
      case "fault":
        this.guestExit(e.t, e.thread, e.handler, e.fault);
        return;
      case "entry":
        this.entry(e.t, e.thread, e.entry, e.ch, e.flows);
        return;
      case "entry-end":
        this.entryEnd(e.t, e.thread, e.entry);
        return;
      case "reply":
        this.reply(e.t, e.from, e.to);
        return;
      default:
        this.record(e);
    }
  }

  guestExit(t: number, thread: string, handler: string, fault: FaultMessage): void {
    if (this.held > 0) this.flush();
    this.held = 1;
    this.settled = 0;
    this.thread = thread;
    this.handler = handler;
    this.fault = fault;
    this.t0 = t;
  }

  record(e: RuntimeEvent): void {
    if (e.type === "switch") {
      if (this.held === 1 && e.from === this.thread && e.to === this.handler) {
        this.switchIn = e;
        this.held = 2;
        return;
      }
      if (this.held === 5 && e.from === this.handler && e.to === this.thread) {
        this.switchOut = e;
        this.held = 0;
        this.to.addTrap(this);
        return;
      }
    }
    this.pass(e);
  }

  entry(
    t: number,
    thread: string,
    entry: EntryPoint,
    ch: number | undefined,
    flows: readonly number[] | undefined,
  ): void {
    if (
      this.held === 2 &&
      thread === this.handler &&
      entry === "fault" &&
      (flows === undefined || flows.length === 0)
    ) {
      this.t2 = t;
      this.ch = ch;
      this.flows = flows;
      this.held = 3;
      return;
    }
    this.pass(entryRecord(t, thread, entry, ch, flows));
  }

  entryEnd(t: number, thread: string, entry: EntryPoint): void {
    if (this.held === 3 && thread === this.handler && entry === "fault") {
      this.t3 = t;
      this.held = 4;
      return;
    }
    this.pass(entryEndRecord(t, thread, entry));
  }

  reply(t: number, from: string, to: string): void {
    if (this.held === 4 && from === this.handler && to === this.thread) {
      this.t4 = t;
      this.held = 5;
      return;
    }
    this.pass(replyRecord(t, from, to));
  }

  /** The trap cycle just completed (during {@link TrapSink.addTrap}). */
  time(k: number): number {
    switch (k) {
      case 0:
        return this.t0;
      case 1:
        return this.switchIn!.t;
      case 2:
        return this.t2;
      case 3:
        return this.t3;
      case 4:
        return this.t4;
      default:
        return this.switchOut!.t;
    }
  }

  freeze(): TrapCycle {
    return new TrapCycle(
      this.thread,
      this.handler,
      this.fault!,
      this.ch,
      this.flows,
      this.t0,
      this.t2,
      this.t3,
      this.t4,
      this.switchIn!,
      this.switchOut!,
    );
  }

  /** Any other kernel record (or a run of idle loops): the held ones go first. */
  pass(e: FoldItem): void {
    if (this.held > 0) this.flush();
    this.to.add(e);
  }

  /**
   * Before a record that does not go through the folder: the held records go on now unless the
   * fold under way takes them (then it hands nothing on for them, now or later).
   */
  settle(): void {
    if (this.held === 0 || this.held === this.settled) return;
    if (this.to.wouldTake(this.heldRecords())) this.settled = this.held;
    else this.flush();
  }

  /** Hand on the held records one by one. */
  flush(): void {
    const records = this.heldRecords();
    this.held = 0;
    this.settled = 0;
    for (const e of records) this.to.add(e);
  }

  private heldRecords(): RuntimeEvent[] {
    const out: RuntimeEvent[] = [];
    const held = this.held;
    if (held >= 1) out.push(guestExitRecord(this.t0, this.thread, this.handler, this.fault!));
    if (held >= 2) out.push(this.switchIn!);
    if (held >= 3) out.push(entryRecord(this.t2, this.handler, "fault", this.ch, this.flows));
    if (held >= 4) out.push(entryEndRecord(this.t3, this.handler, "fault"));
    if (held >= 5) out.push(replyRecord(this.t4, this.handler, this.thread));
    return out;
  }
}
