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
import type { CycleSink } from "./cycle-records.js";
import type { RuntimeEvent } from "./event-log.js";
import { type DeviceRun, DeviceRunFolder } from "./perfetto-device-runs.js";
import { Run } from "./perfetto-fold-run.js";
import {
  balanced,
  type FoldItem,
  foldable,
  type KernelFold,
  sameItemOf,
} from "./perfetto-fold-shape.js";
import { gatedCycleSink, IdleLoopGate, type IdleLoopRun, isQuiet } from "./perfetto-idle-loops.js";
import {
  sameTrap,
  TRAP_RECORDS,
  type TrapCycle,
  TrapGrouper,
  type TrapView,
} from "./perfetto-traps.js";

export {
  type FoldItem,
  type KernelFold,
  MIN_FOLD_CYCLES,
  sameShape,
} from "./perfetto-fold-shape.js";

/** Longest cycle looked for, in items (a trap cycle is 6 records; two guests' turns, 6 items). */
const MAX_PERIOD = 12;

/** What the folder hands on: single records, folded kernel runs, folded device runs. */
export interface FoldSink {
  record(event: RuntimeEvent): void;
  /** A fold; its cycle may hold folds (a fold of folds). */
  kernelFold(fold: KernelFold): void;
  deviceRun(run: DeviceRun): void;
  /** A stretch of declared idle loops (perfetto-idle-loops.ts). */
  idleLoop(run: IdleLoopRun): void;
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
  /** The trap cycle whose records are the window's last items, scanned one by one. */
  private lastTrap: TrapCycle | null = null;

  constructor(private readonly sink: LevelSink) {}

  /**
   * A whole trap cycle (perfetto-traps.ts): taken by the run at once, or with the one the window
   * ends with made a run at once ({@link pairs}), else scanned record by record.
   */
  addTrap(trap: TrapView): void {
    const run = this.run;
    if (run !== null) {
      if (run.takeTrap(trap)) return;
    } else if (this.pairs(trap)) return;
    const kept = trap.freeze();
    const records = kept.records();
    for (const x of records) this.add(x);
    const w = this.window;
    const n = w.length - TRAP_RECORDS;
    let last = this.run === null && n >= 0;
    for (let k = 0; last && k < TRAP_RECORDS; k++) last = w[n + k] === records[k];
    this.lastTrap = last ? kept : null;
  }

  /**
   * A trap cycle like the one whose records the window ends with becomes a run with it, as
   * scanning its records would make it: the six shapes of a trap cycle are all different, so
   * the first period found is six, at its last record, unless items before the window's trap
   * cycle already repeated (a count of matches at period six, or of six at a longer period).
   */
  private pairs(trap: TrapView): boolean {
    const last = this.lastTrap;
    if (last === null || !sameTrap(last, trap)) return false;
    const match = this.match;
    if (match[TRAP_RECORDS] !== 0) return false;
    for (let p = TRAP_RECORDS + 1; p <= MAX_PERIOD; p++)
      if (match[p]! >= TRAP_RECORDS) return false;
    const w = this.window;
    const n = w.length - TRAP_RECORDS;
    for (let i = 0; i < n; i++) this.sink.item(w[i]!);
    this.run = new Run(w.slice(n), trap.freeze().records());
    this.window = [];
    match.fill(0);
    this.lastTrap = null;
    return true;
  }

  /** Whether the run under way takes `items` next (then nothing is handed on for them). */
  wouldTake(items: readonly FoldItem[]): boolean {
    return this.run?.wouldTake(items) === true;
  }

  add(x: FoldItem): void {
    this.lastTrap = null;
    // The common case first: the run's next item (foldable, as the cycle's items are).
    if (this.run?.take(x) === true) return;
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
    this.lastTrap = null;
  }

  private scan(x: FoldItem): void {
    const w = this.window;
    w.push(x);
    const n = w.length;
    let found = 0;
    const type = x.type;
    const match = this.match;
    for (let p = 1; p <= MAX_PERIOD && p < n; p++) {
      const y = w[n - 1 - p]!;
      const m = y.type === type && sameItemOf(type, x, y) ? match[p]! + 1 : 0;
      match[p] = m;
      if (found === 0 && m >= p && balanced(w, n - p)) found = p;
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
  /** Trap cycles grouped for the inner folder; null: every record goes to it alone. */
  private readonly traps: TrapGrouper | null;
  /** Records of declared idle loops, gathered into runs ahead of the folding (perfetto-idle-loops.ts). */
  private readonly gate: IdleLoopGate;
  private readonly sinkForKernel: CycleSink | null;

  constructor(
    private readonly sink: FoldSink,
    /** Hand trap cycles to the folder whole (perfetto-traps.ts); same output either way. */
    groupTraps = true,
  ) {
    this.outer = new CycleFolder({
      item: (x) =>
        x.type === "fold"
          ? sink.kernelFold(x)
          : x.type === "idle-loop"
            ? sink.idleLoop(x)
            : sink.record(x),
    });
    this.inner = new CycleFolder({ item: (x) => this.outer.add(x) });
    const traps = groupTraps ? new TrapGrouper(this.inner) : null;
    this.traps = traps;
    this.devices = new DeviceRunFolder(sink);
    this.gate = new IdleLoopGate((run) => (traps === null ? this.inner.add(run) : traps.pass(run)));
    this.sinkForKernel =
      traps === null ? null : gatedCycleSink(this.gate, traps, (e) => this.add(e));
  }

  /**
   * The kernel's sink for cycle records (cycle-records.ts), when trap cycles are grouped; the
   * other records come through {@link add}, all in log order.
   */
  get cycles(): CycleSink | null {
    return this.sinkForKernel;
  }

  add(e: RuntimeEvent): void {
    switch (e.type) {
      case "state":
      case "point":
        return;
      case "device":
        this.traps?.settle();
        this.devices.add(e);
        return;
      case "counter":
        this.traps?.settle();
        this.sink.record(e);
        return;
      case "idle":
        this.gate.leap(e);
        return;
      default:
        if (isQuiet(e)) {
          if (e.type === "switch" && e.to !== null) this.gate.quietSwitch(e.t, e.to);
          else this.gate.quiet(e.t);
          return;
        }
        this.gate.other(e.t);
        if (e.type === "switch") this.gate.switched(e.to);
        (this.traps ?? this.inner).add(e);
    }
  }

  /** Hand on everything held (the end of the log, at `end` ns). */
  flush(end: number): void {
    this.gate.other(end);
    this.traps?.flush();
    this.inner.flush();
    this.outer.flush();
    this.devices.flush();
  }
}
