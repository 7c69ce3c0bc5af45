/**
 * A fold under way (perfetto-fold.ts): a cycle of kernel records found twice in a row, extended
 * while the items that follow repeat it, with each thread's run time inside it accounted.
 */
import type { FaultMessage } from "../program.js";
import {
  endOf,
  enterOf,
  type FoldItem,
  type KernelFold,
  MIN_FOLD_CYCLES,
  sameItem,
  sameItemOf,
  startOf,
} from "./perfetto-fold-shape.js";
import {
  TRAP_RECORDS,
  TRAP_SWITCH_IN,
  TRAP_SWITCH_OUT,
  type TrapCycle,
  type TrapView,
} from "./perfetto-traps.js";

/** The fold in progress: a cycle found twice, extended while items match it. */
export class Run {
  readonly period: number;
  count = 2;
  /** Position in the cycle of the next item. */
  at = 0;
  readonly firstT: number[];
  lastT: number[];
  private cycleT: number[];
  /** End of the last whole cycle or fast-forwarded run taken. */
  private end: number;
  private readonly ran = new Map<string, number>();
  /** Run time of the cycle under way: ns before each switch, folds taken. */
  private readonly cycleRan: number[];
  /** Run time before each position of whole cycles taken, credited by name in `fold()`. */
  private readonly ranAt: number[];
  /** Positions whose run time is credited: switches and folds that switch. */
  private readonly credited: number[] = [];
  private readonly cycleFolds: KernelFold[] = [];
  private lastSwitch: number;
  private cycleLastSwitch: number;
  /** The thread the cycle leaves on the core (`undefined`: the cycle does not switch). */
  readonly holder: string | null | undefined;
  private readonly switching = new Set<string>();
  /** Every item taken while the run is shorter than {@link MIN_FOLD_CYCLES} cycles. */
  held: FoldItem[] | null;
  /** Items of the cycle under way (the first {@link at}). */
  private readonly partial: (FoldItem | null)[];
  /** Where the cycle under way holds a trap cycle's record: the cycle, and which record. */
  private readonly partialTrap: (TrapCycle | null)[];
  private readonly partialRecord: number[];
  /** The last trap cycle {@link takeTrap} checked: its fault, entry channel and position. */
  private readonly lastTrap: {
    thread: string;
    handler: string;
    fault: FaultMessage | null;
    ch: number | undefined;
    at: number;
    taken: boolean;
  } = { thread: "", handler: "", fault: null, ch: undefined, at: -1, taken: false };

  constructor(
    readonly cycle: readonly FoldItem[],
    second: readonly FoldItem[],
  ) {
    // Plain loops and no closures: a run is made for every cycle found (tens of thousands).
    const p = cycle.length;
    this.period = p;
    const firstT = new Array<number>(p);
    const lastT = new Array<number>(p);
    for (let j = 0; j < p; j++) {
      firstT[j] = startOf(cycle[j]!);
      lastT[j] = endOf(second[j]!);
    }
    this.firstT = firstT;
    this.lastT = lastT;
    this.cycleT = new Array<number>(p).fill(0);
    this.cycleRan = new Array<number>(p).fill(0);
    this.ranAt = new Array<number>(p).fill(0);
    for (let j = 0; j < p; j++) {
      const x = cycle[j]!;
      if (x.type === "switch" || (x.type === "fold" && x.holder !== undefined)) {
        this.credited.push(j);
      }
    }
    this.partial = new Array<FoldItem | null>(p).fill(null);
    this.partialTrap = new Array<TrapCycle | null>(p).fill(null);
    this.partialRecord = new Array<number>(p).fill(0);
    this.end = endOf(second[p - 1]!);
    this.held = this.count >= MIN_FOLD_CYCLES ? null : [...cycle, ...second];
    let holder: string | null | undefined;
    this.lastSwitch = startOf(cycle[0]!);
    this.cycleLastSwitch = this.lastSwitch;
    for (let j = 0; j < p; j++) {
      const to = this.step(cycle[j]!, j);
      if (to !== undefined) holder = to;
    }
    this.commitCycle();
    for (let j = 0; j < p; j++) {
      const to = this.step(second[j]!, j);
      if (to !== undefined) holder = to;
    }
    this.commitCycle();
    this.holder = holder;
    const switching = this.switching;
    for (let j = 0; j < p; j++) {
      const x = cycle[j]!;
      if (x.type === "switch") {
        if (x.from !== null) switching.add(x.from);
        if (x.to !== null) switching.add(x.to);
      } else if (x.type === "fold") {
        for (const name of x.ran.keys()) switching.add(name);
      }
    }
  }

  /** Account `x`'s run time in the cycle under way; the thread it leaves on the core. */
  private step(x: FoldItem, j: number): string | null | undefined {
    if (x.type === "switch") {
      this.cycleRan[j] = x.t - this.cycleLastSwitch;
      this.cycleLastSwitch = x.t;
      return x.to;
    }
    if (x.type === "fold" && x.holder !== undefined) {
      this.cycleRan[j] = x.start - this.cycleLastSwitch;
      this.cycleFolds.push(x);
      this.cycleLastSwitch = x.end;
      return x.holder;
    }
    return undefined;
  }

  /** Credit the cycle just completed: before each switch its `from`, before a fold its first. */
  private commitCycle(): void {
    for (const j of this.credited) this.ranAt[j]! += this.cycleRan[j]!;
    if (this.cycleFolds.length > 0) {
      for (const f of this.cycleFolds) for (const [thread, ns] of f.ran) this.credit(thread, ns);
      this.cycleFolds.length = 0;
    }
    this.lastSwitch = this.cycleLastSwitch;
  }

  private credit(thread: string | null | undefined, ns: number): void {
    if (typeof thread === "string") this.ran.set(thread, (this.ran.get(thread) ?? 0) + ns);
  }

  /** Take `x` if it is the cycle's next item. */
  take(x: FoldItem): boolean {
    const j = this.at;
    const expected = this.cycle[j]!;
    const type = x.type;
    if (type !== expected.type || !sameItemOf(type, x, expected)) return false;
    this.step(x, j);
    this.advance(x, endOf(x));
    return true;
  }

  /** Whether the run would take `items` next, in order. */
  wouldTake(items: readonly FoldItem[]): boolean {
    let j = this.at;
    for (const x of items) {
      if (!sameItem(x, this.cycle[j]!)) return false;
      j = j + 1 === this.period ? 0 : j + 1;
    }
    return true;
  }

  /**
   * Take a whole trap cycle (perfetto-traps.ts) if the run takes each of its records in turn, as
   * {@link take} would one by one. The records' shapes follow from the cycle's thread, handler,
   * fault and entry channel, so the check is made once for each of those and position.
   */
  takeTrap(trap: TrapView): boolean {
    if (this.held !== null) return false;
    const last = this.lastTrap;
    if (
      trap.thread !== last.thread ||
      trap.handler !== last.handler ||
      trap.fault !== last.fault ||
      trap.ch !== last.ch ||
      this.at !== last.at
    ) {
      last.thread = trap.thread;
      last.handler = trap.handler;
      last.fault = trap.fault;
      last.ch = trap.ch;
      last.at = this.at;
      last.taken = this.wouldTake(trap.freeze().records());
    }
    if (!last.taken) return false;
    if (this.at === 0 && this.period === TRAP_RECORDS) {
      // The trap is one whole cycle: as the six `take`s, with nothing left under way.
      const cycleT = this.cycleT;
      for (let k = 0; k < TRAP_RECORDS; k++) cycleT[k] = trap.time(k);
      this.cycleRan[TRAP_SWITCH_IN] = cycleT[TRAP_SWITCH_IN]! - this.cycleLastSwitch;
      this.cycleRan[TRAP_SWITCH_OUT] = cycleT[TRAP_SWITCH_OUT]! - cycleT[TRAP_SWITCH_IN]!;
      this.cycleLastSwitch = cycleT[TRAP_SWITCH_OUT]!;
      this.completeCycle(cycleT[TRAP_SWITCH_OUT]!);
      return true;
    }
    const kept = trap.freeze();
    for (let k = 0; k < TRAP_RECORDS; k++) {
      const t = kept.time(k);
      if (k === TRAP_SWITCH_IN || k === TRAP_SWITCH_OUT) {
        // As `step` accounts a switch.
        this.cycleRan[this.at] = t - this.cycleLastSwitch;
        this.cycleLastSwitch = t;
      }
      this.partialTrap[this.at] = kept;
      this.partialRecord[this.at] = k;
      this.advance(null, t);
    }
    return true;
  }

  /**
   * Put `x`, ending at `end`, at the cycle's next position (accounted by `step` already); `null`:
   * a record of the trap cycle {@link partialTrap} names there.
   */
  private advance(x: FoldItem | null, end: number): void {
    const j = this.at;
    this.cycleT[j] = end;
    if (x !== null) {
      this.held?.push(x);
      this.partialTrap[j] = null;
    }
    this.partial[j] = x;
    if (j + 1 < this.period) {
      this.at = j + 1;
      return;
    }
    this.completeCycle(end);
  }

  /** The cycle under way is complete at `end`: its times become the last cycle's. */
  private completeCycle(end: number): void {
    this.at = 0;
    this.count++;
    this.end = end;
    const last = this.lastT;
    this.lastT = this.cycleT;
    this.cycleT = last;
    this.commitCycle();
    if (this.count >= MIN_FOLD_CYCLES) this.held = null;
  }

  /** Items of the cycle left unfinished. */
  unfinished(): FoldItem[] {
    const out: FoldItem[] = [];
    for (let j = 0; j < this.at; j++) {
      const trap = this.partialTrap[j];
      out.push(trap ? trap.record(this.partialRecord[j]!) : this.partial[j]!);
    }
    return out;
  }

  fold(): KernelFold {
    const ran = new Map(this.ran);
    for (const j of this.credited) {
      const x = this.cycle[j]!;
      const thread = x.type === "switch" ? x.from : enterOf(x);
      if (typeof thread === "string") ran.set(thread, (ran.get(thread) ?? 0) + this.ranAt[j]!);
    }
    // The thread the last cycle left on the core holds it to the run's end.
    if (typeof this.holder === "string") {
      ran.set(this.holder, (ran.get(this.holder) ?? 0) + this.end - this.lastSwitch);
    }
    return {
      type: "fold",
      cycle: this.cycle,
      count: this.count,
      start: this.firstT[0]!,
      end: this.end,
      firstT: this.firstT,
      lastT: this.lastT,
      ran,
      holder: this.holder,
    };
  }
}
