/**
 * Folding of the Perfetto export (issue 12 item 2: a long run's trace stays readable and small):
 * a run of kernel records that repeats one cycle (an idle guest's trapped WFI answered by its
 * VMM: switch, fault, `fault` entry, reply, switch) becomes one slice per track with the cycle
 * count and time span, as a fast-forwarded idle run is one `idle ×count` slice; a regular run of
 * one device's records (a character per line time on the UART's TX) becomes one slice with the
 * count and the bytes as arguments. A fast-forwarded idle run of the same cycle (an `idle`
 * record) joins the fold, and folds that themselves repeat (two idle guests taking turns on
 * their budgets) are folded once more. Notifications (signals and the entry points that consume
 * them), IRQ deliveries with their signals and errors are never folded: they end a run. Folding
 * changes only the export, never the log or the simulation; `fold: false` keeps every record.
 */
import type { RuntimeEvent } from "./event-log.js";
import { type DeviceRun, DeviceRunFolder } from "./perfetto-device-runs.js";

/** Longest cycle looked for, in items (a trap cycle is 6 records; two guests' turns, 6 items). */
const MAX_PERIOD = 12;
/** Cycles a run must repeat to be folded; shorter runs are exported record by record. */
export const MIN_FOLD_CYCLES = 2;
/** A kernel record, or a folded run of them, as a cycle holds it. */
export type FoldItem = RuntimeEvent | KernelFold;

/** A folded run of kernel records: `count` repetitions of `cycle` from `start` to `end` (ns). */
export interface KernelFold {
  readonly type: "fold";
  readonly cycle: readonly FoldItem[];
  readonly count: number;
  /** Idle periods of the cycle fast-forwarded inside the run, included in `count`'s span. */
  readonly fastForwarded: number;
  readonly start: number;
  readonly end: number;
  /** Per position of the cycle: its start in the first cycle and its end in the last. */
  readonly firstT: readonly number[];
  readonly lastT: readonly number[];
  /** Ns each thread held the core inside the run (`null`: idle not counted). */
  readonly ran: ReadonlyMap<string, number>;
  /** The thread on the core at the run's end when the cycle switches threads. */
  readonly holder: string | null | undefined;
}

/** What the folder hands on: single records, folded kernel runs, folded device runs. */
export interface FoldSink {
  record(event: RuntimeEvent): void;
  /** A fold; its cycle may hold folds (a fold of folds). */
  kernelFold(fold: KernelFold): void;
  deviceRun(run: DeviceRun): void;
}

/** Same record apart from its time (the shape a cycle repeats). */
export function sameShape(a: RuntimeEvent, b: RuntimeEvent): boolean {
  if (a.type !== b.type) return false;
  switch (a.type) {
    case "switch": {
      const o = b as typeof a;
      return a.from === o.from && a.to === o.to;
    }
    case "entry": {
      const o = b as typeof a;
      return a.thread === o.thread && a.entry === o.entry && a.ch === o.ch;
    }
    case "entry-end": {
      const o = b as typeof a;
      return a.thread === o.thread && a.entry === o.entry;
    }
    case "fault": {
      const o = b as typeof a;
      return a.thread === o.thread && a.handler === o.handler && sameValue(a.fault, o.fault, 4);
    }
    case "reply": {
      const o = b as typeof a;
      return a.from === o.from && a.to === o.to;
    }
    case "irq": {
      const o = b as typeof a;
      return a.irq === o.irq && a.thread === o.thread && a.ch === o.ch && a.outcome === o.outcome;
    }
    case "irq-ack": {
      const o = b as typeof a;
      return a.thread === o.thread && a.ch === o.ch && a.irq === o.irq;
    }
    case "ppcall": {
      const o = b as typeof a;
      return a.from === o.from && a.to === o.to && a.ch === o.ch;
    }
    case "deferred": {
      const o = b as typeof a;
      return a.thread === o.thread && a.op === o.op && a.ch === o.ch && a.phase === o.phase;
    }
    case "budget": {
      const o = b as typeof a;
      return a.thread === o.thread && a.sc === o.sc && a.action === o.action;
    }
    default:
      return false;
  }
}

/** Same record apart from its time, or folds of the same cycle whatever their counts. */
function sameItem(a: FoldItem, b: FoldItem): boolean {
  if (a.type !== "fold" || b.type !== "fold")
    return a.type !== "fold" && b.type !== "fold" && sameShape(a, b);
  if (a.cycle.length !== b.cycle.length) return false;
  for (let i = 0; i < a.cycle.length; i++) if (!sameItem(a.cycle[i]!, b.cycle[i]!)) return false;
  return true;
}

const startOf = (x: FoldItem): number => (x.type === "fold" ? x.start : x.t);
const endOf = (x: FoldItem): number => (x.type === "fold" ? x.end : x.t);

/** The thread on the core when `x` begins, if `x` switches threads. */
function enterOf(x: FoldItem): string | null | undefined {
  if (x.type === "switch") return x.from;
  if (x.type !== "fold") return undefined;
  for (const y of x.cycle) {
    const from = enterOf(y);
    if (from !== undefined) return from;
  }
  return undefined;
}

/** Structural equality of small plain values (a fault message), `depth` levels deep. */
function sameValue(a: unknown, b: unknown, depth: number): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (depth === 0 || Array.isArray(a) !== Array.isArray(b)) return false;
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  let keys = 0;
  for (const k in x) {
    if (!Object.hasOwn(y, k) || !sameValue(x[k], y[k], depth - 1)) return false;
    keys++;
  }
  for (const _ in y) keys--;
  return keys === 0;
}

/** Kernel records a cycle may hold; every other kernel record ends a run. */
function foldable(e: FoldItem): boolean {
  switch (e.type) {
    case "fold":
    case "switch":
    case "entry-end":
    case "fault":
    case "reply":
    case "irq":
    case "irq-ack":
    case "ppcall":
    case "deferred":
    case "budget":
      return true;
    case "entry":
      return e.flows === undefined || e.flows.length === 0;
    default:
      return false;
  }
}

/** Entry points open and close inside the cycle, none closed that it did not open. */
function balanced(cycle: readonly FoldItem[]): boolean {
  const depth = new Map<string, number>();
  for (const e of cycle) {
    if (e.type === "entry") depth.set(e.thread, (depth.get(e.thread) ?? 0) + 1);
    else if (e.type === "entry-end") {
      const d = (depth.get(e.thread) ?? 0) - 1;
      if (d < 0) return false;
      depth.set(e.thread, d);
    }
  }
  for (const d of depth.values()) if (d !== 0) return false;
  return true;
}

/** The fold in progress: a cycle found twice, extended while items match it. */
class Run {
  readonly period: number;
  count = 2;
  /** Idle periods of this cycle fast-forwarded inside the run (`idle` records taken). */
  fastForwarded = 0;
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
  private readonly partial: FoldItem[];

  constructor(
    readonly cycle: readonly FoldItem[],
    second: readonly FoldItem[],
  ) {
    const p = cycle.length;
    this.period = p;
    this.firstT = cycle.map(startOf);
    this.lastT = second.map(endOf);
    this.cycleT = new Array<number>(p).fill(0);
    this.cycleRan = new Array<number>(p).fill(0);
    this.ranAt = new Array<number>(p).fill(0);
    cycle.forEach((x, j) => {
      if (x.type === "switch" || (x.type === "fold" && x.holder !== undefined)) {
        this.credited.push(j);
      }
    });
    this.partial = new Array<FoldItem>(p);
    this.end = endOf(second[p - 1]!);
    this.held = this.count >= MIN_FOLD_CYCLES ? null : [...cycle, ...second];
    let holder: string | null | undefined;
    this.lastSwitch = startOf(cycle[0]!);
    this.cycleLastSwitch = this.lastSwitch;
    for (const run of [cycle, second]) {
      run.forEach((x, j) => {
        const to = this.step(x, j);
        if (to !== undefined) holder = to;
      });
      this.commitCycle();
    }
    this.holder = holder;
    for (const x of cycle) {
      if (x.type === "switch") {
        for (const name of [x.from, x.to]) if (name !== null) this.switching.add(name);
      } else if (x.type === "fold") {
        for (const name of x.ran.keys()) this.switching.add(name);
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
    if (x.type !== expected.type || !sameItem(x, expected)) return false;
    this.cycleT[j] = endOf(x);
    this.step(x, j);
    this.held?.push(x);
    this.partial[j] = x;
    if (j + 1 < this.period) {
      this.at = j + 1;
      return true;
    }
    this.at = 0;
    this.count++;
    this.end = endOf(x);
    const last = this.lastT;
    this.lastT = this.cycleT;
    this.cycleT = last;
    this.commitCycle();
    if (this.count >= MIN_FOLD_CYCLES) this.held = null;
    return true;
  }

  /**
   * Take a fast-forwarded run of idle periods (microkit-pd's `idle` record) that continues this
   * cycle: it comes at a cycle boundary and only threads the cycle switches between ran in it.
   */
  takeIdle(e: Extract<RuntimeEvent, { type: "idle" }>): boolean {
    if (this.at !== 0 || this.held !== null || typeof this.holder !== "string") return false;
    if (!this.switching.has(e.thread)) return false;
    for (const name of Object.keys(e.ran)) if (!this.switching.has(name)) return false;
    this.credit(this.holder, e.t - this.lastSwitch);
    for (const [name, ns] of Object.entries(e.ran)) this.credit(name, ns);
    this.fastForwarded += e.count;
    this.end = e.until;
    this.lastSwitch = e.until;
    this.cycleLastSwitch = e.until;
    return true;
  }

  /** Items of the cycle left unfinished. */
  unfinished(): FoldItem[] {
    return this.partial.slice(0, this.at);
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
      fastForwarded: this.fastForwarded,
      start: this.firstT[0]!,
      end: this.end,
      firstT: this.firstT,
      lastT: this.lastT,
      ran,
      holder: this.holder,
    };
  }
}

/** Sink of one level of cycle folding. */
interface LevelSink {
  item(x: FoldItem): void;
}

/**
 * One level of cycle folding: finds a cycle of up to {@link MAX_PERIOD} items repeated twice in
 * a row (entry points balanced within it) and extends it while items match, holding at most
 * 2 × {@link MAX_PERIOD} items (bounded memory). Items come out in order.
 */
class CycleFolder {
  /** Items not yet handed on, oldest first. */
  private window: FoldItem[] = [];
  /** For each period p: how many trailing items equal the item p before them. */
  private readonly match = new Array<number>(MAX_PERIOD + 1).fill(0);
  private run: Run | null = null;

  constructor(
    private readonly sink: LevelSink,
    /** Let a fold of records take the fast-forwarded idle runs of its cycle. */
    private readonly takesIdle: boolean,
  ) {}

  add(x: FoldItem): void {
    // The common case first: the run's next item (foldable, as the cycle's items are).
    if (this.run?.take(x) === true) return;
    if (this.takesIdle && x.type === "idle" && this.run?.takeIdle(x) === true) return;
    if (!foldable(x)) {
      this.flush();
      this.sink.item(x);
      return;
    }
    this.endRun();
    this.scan(x);
  }

  flush(): void {
    this.endRun();
    for (const x of this.window) this.sink.item(x);
    this.window = [];
    this.match.fill(0);
  }

  private scan(x: FoldItem): void {
    const w = this.window;
    w.push(x);
    const n = w.length;
    let found = 0;
    for (let p = 1; p <= MAX_PERIOD && p < n; p++) {
      const y = w[n - 1 - p]!;
      this.match[p] = y.type === x.type && sameItem(x, y) ? this.match[p]! + 1 : 0;
      if (found === 0 && this.match[p]! >= p && balanced(w.slice(n - p))) found = p;
    }
    if (found > 0) {
      for (const older of w.slice(0, n - 2 * found)) this.sink.item(older);
      this.run = new Run(w.slice(n - 2 * found, n - found), w.slice(n - found));
      this.window = [];
      this.match.fill(0);
      return;
    }
    if (n > 2 * MAX_PERIOD) {
      // The oldest item can no longer start a cycle found here: hand it on.
      this.sink.item(w.shift()!);
    }
  }

  private endRun(): void {
    const run = this.run;
    if (run === null) return;
    this.run = null;
    if (run.held !== null) {
      for (const x of run.held) this.sink.item(x);
      return;
    }
    this.sink.item(run.fold());
    for (const x of run.unfinished()) this.scan(x);
  }
}

/**
 * Folds the log as it streams past: kernel records through two levels of {@link CycleFolder}
 * (cycles of records, then cycles of folds), each device's records into regular runs, counters
 * straight through. Output goes to a {@link FoldSink} in log order within each track (device
 * runs and counters have tracks of their own and may come out of order with kernel records).
 */
export class RecordFolder {
  private readonly devices: DeviceRunFolder;
  private readonly outer: CycleFolder;
  private readonly inner: CycleFolder;

  constructor(private readonly sink: FoldSink) {
    this.outer = new CycleFolder(
      {
        item: (x) => (x.type === "fold" ? sink.kernelFold(x) : sink.record(x)),
      },
      false,
    );
    this.inner = new CycleFolder({ item: (x) => this.outer.add(x) }, true);
    this.devices = new DeviceRunFolder(sink);
  }

  add(e: RuntimeEvent): void {
    switch (e.type) {
      case "state":
      case "point":
        return;
      case "device":
        this.devices.add(e);
        return;
      case "counter":
        this.sink.record(e);
        return;
      default:
        this.inner.add(e);
    }
  }

  /** Hand on everything held (the end of the log). */
  flush(): void {
    this.inner.flush();
    this.outer.flush();
    this.devices.flush();
  }
}
