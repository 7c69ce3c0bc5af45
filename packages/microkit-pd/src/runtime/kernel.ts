/**
 * The single-core seL4 MCS kernel as Microkit configures it (reference §3, §4.1–§4.2), as a thin
 * composition of parts cut the way seL4's source is: {@link Scheduler} (ready queues, SCs,
 * refills, domains), {@link Notifications}, {@link Endpoints} (PPC, fault IPC, replies),
 * {@link Irqs}, {@link Vcpus} and {@link Faults} (thread control). This file keeps only what is
 * the kernel's own: the clock and the event heap, time accounting, the dispatch loop (§4.2) that
 * runs thread bodies, the timer, and the log.
 *
 * A thread's body is a generator of {@link KernelOp}s. Code runs instantaneously between two
 * ops; a `work` op then takes `ns` of virtual time. Other threads can run during that time
 * (preemption at any instant), but never in the middle of code, so programs interleave only at
 * their preemption points, as DESIGN.md asks.
 */
import type { InertTicks } from "../program.js";
import type { CostModel } from "./cost-model.js";
import { type CycleCache, isCycleRecord, sinkCycleRecord } from "./cycle-records.js";
import { Endpoints } from "./endpoints.js";
import { RuntimeError, ThreadFault } from "./errors.js";
import type { RuntimeEvent, ThreadStateName } from "./event-log.js";
import { EventQueue, type ScheduledEvent } from "./event-queue.js";
import { FastForward } from "./fast-forward.js";
import { Faults } from "./faults.js";
import { StepInliner } from "./inline-steps.js";
import { Irqs } from "./irqs.js";
import type { KernelOptions, KernelParts } from "./kernel-options.js";
import { Notifications } from "./notifications.js";
import { SchedContext } from "./sched-context.js";
import { type DomainSlot, Scheduler } from "./scheduler.js";
import type { SpinWait } from "./spin.js";
import { type KernelOp, type ScratchWorkOp, Thread, type ThreadKind } from "./tcb.js";
import { Ticks } from "./ticks.js";
import { Vcpus } from "./vcpus.js";

export { IrqLine } from "./irqs.js";
export type { KernelOptions, KernelParts } from "./kernel-options.js";
export { wordChannels } from "./notifications.js";
export { type DomainSlot, MAX_DOMAINS } from "./scheduler.js";
export type { IpcMessage, KernelOp, Received, ReplyPayload, ThreadKind } from "./tcb.js";
export { Thread } from "./tcb.js";

/** Steps the threads may take without virtual time advancing before the kernel calls it a livelock. */
const ZERO_STEP_LIMIT = 1_000_000;
/**
 * Steps one thread may take in a row without virtual time advancing or another thread stepping:
 * its own zero-cost loop, which faults that thread (contained) before the limit above stops all.
 */
export const THREAD_ZERO_STEP_LIMIT = 100_000;

export class Kernel {
  now = 0;
  readonly threads: Thread[] = [];
  readonly events = new EventQueue();
  readonly log: RuntimeEvent[] = [];
  readonly recording: boolean; // `options.recordEvents`: callers skip building unkept records
  private readonly recordingStates: boolean; // `recording` and `options.recordStates`
  readonly recordingCycles: boolean; // `recording` and `options.recordCycles`
  /** Events recorded so far (retained or not). */
  recorded = 0;
  /** The last step begun was of a thread in its declared idle loop (cycle-records.ts `quiet`). */
  quietStep = false;
  /** Called with each event as it is recorded (`System.onEvent`). */
  readonly listeners: ((event: RuntimeEvent) => void)[] = [];
  cycleCache: CycleCache | null = null; // who takes the cycle records (cycle-records.ts)
  eventsProcessed = 0;
  readonly sched: Scheduler;
  readonly ntfn: Notifications;
  readonly ipc: Endpoints;
  readonly irqs: Irqs;
  readonly vcpus: Vcpus;
  readonly faults: Faults;
  readonly ff: FastForward;
  readonly ticks: Ticks;
  /** The time limit of the event being processed (fast-forward never goes past it). */
  stepLimit = Number.POSITIVE_INFINITY;
  /** Events the run may still process after the current one (fast-forward respects it). */
  eventAllowance = Number.POSITIVE_INFINITY;
  private lastAccount = 0;
  private timer: ScheduledEvent | null = null;
  private stepTime = -1;
  private stepsAtTime = 0;
  private lastStepped: Thread | null = null;
  private soloSteps = 0;
  private readonly inlineSteps: boolean;
  private readonly inliner: StepInliner;
  /** The one `work` op bodies yield: read by `stepThread` at once, so it is reused, not allocated. */
  private readonly scratchWork: ScratchWorkOp = { op: "work", ns: 0, kind: "", spin: null };
  /** Counts heap events and thread steps: a busy-wait's turn is clean while it is unchanged. */
  private epoch = 0;
  /** A dispatch loop that ends steps in place (`inlineTimer`) is running. */
  private inlining = false;

  constructor(
    readonly options: KernelOptions,
    parts: KernelParts = {},
  ) {
    this.recording = options.recordEvents;
    this.recordingStates = options.recordEvents && options.recordStates !== false;
    this.recordingCycles = options.recordEvents && options.recordCycles !== false;
    this.sched = parts.scheduler?.(this) ?? new Scheduler(this);
    this.ntfn = parts.notifications?.(this) ?? new Notifications(this);
    this.ipc = new Endpoints(this);
    this.irqs = new Irqs(this);
    this.vcpus = new Vcpus(this);
    this.faults = new Faults(this);
    this.inlineSteps = options.inlineSteps ?? true;
    this.inliner = parts.inlineSteps?.(this) ?? new StepInliner(this);
    this.ticks =
      parts.ticks?.(this, options.inertTicks ?? true) ??
      new Ticks(this, options.inertTicks ?? true);
    const ff = options.fastForward ?? true;
    this.ff = parts.fastForward?.(this, ff) ?? new FastForward(this, ff);
  }

  get costs(): CostModel {
    return this.options.costs;
  }

  /** The thread on the core, `null` when idle. */
  get current(): Thread | null {
    return this.sched.current;
  }

  record(event: RuntimeEvent): void {
    if (!this.options.recordEvents) return;
    this.recorded++;
    // A cycle record goes only to the sink that takes them alone, if any (cycle-records.ts).
    if (isCycleRecord(event) && sinkCycleRecord(this, event)) return;
    if (this.options.retainEvents !== false) this.log.push(event);
    for (const listener of this.listeners) listener(event);
  }

  addThread(
    name: string,
    kind: ThreadKind,
    priority: number,
    budget: number,
    period: number,
  ): Thread {
    if (!Number.isInteger(priority) || priority < 0 || priority > 255) {
      throw new RuntimeError(
        "RT_BAD_CONFIG",
        `thread '${name}': priority ${priority} is outside 0..255`,
      );
    }
    if (budget <= 0 || budget < this.options.minBudget) {
      throw new RuntimeError(
        "RT_BAD_CONFIG",
        `thread '${name}': budget ${budget} ns is below MIN_BUDGET ${this.options.minBudget} ns`,
      );
    }
    const sc = new SchedContext(
      `sc_${name}`,
      budget,
      Math.max(period, budget),
      this.options.minBudget,
    );
    const thread = new Thread(this.threads.length, name, kind, priority, sc);
    sc.owner = thread.index;
    this.threads.push(thread);
    return thread;
  }

  /** Boot (§2.1): resume the threads one by one, each at the head of its queue; then schedule. */
  boot(
    resumeOrder: readonly Thread[],
    domainSchedule: readonly DomainSlot[] = [],
    startIndex = 0,
  ): void {
    this.sched.start(resumeOrder, domainSchedule, startIndex);
    this.dispatch();
  }

  /** A `work` op for a body to yield; valid until the body's next yield (the kernel reads it at once). */
  workOp(ns: number, kind: string, spin: SpinWait<unknown> | null = null): KernelOp {
    const op = this.scratchWork;
    op.ns = ns;
    op.kind = kind;
    op.spin = spin;
    return op;
  }

  /** Schedule `fire` as a kernel entry at `time`. */
  at(time: number, fire: () => void): ScheduledEvent {
    if (!(time >= this.now)) {
      throw new RuntimeError("RT_BAD_CONFIG", `event at ${time} ns is before now (${this.now} ns)`);
    }
    this.ff.taint();
    return this.events.push(Math.round(time), fire);
  }

  /** {@link at} for a device tick (ticks.ts): pushing it does not end fast-forward's search. */
  atTick(time: number, fire: () => void, ticks: InertTicks): ScheduledEvent {
    if (!(time >= this.now)) {
      throw new RuntimeError("RT_BAD_CONFIG", `event at ${time} ns is before now (${this.now} ns)`);
    }
    if (!this.ticks.on) this.ff.taint();
    return this.events.push(Math.round(time), fire, ticks);
  }

  /** Cancel an event scheduled with {@link at}. */
  cancel(event: ScheduledEvent): void {
    this.ff.taint();
    this.events.cancel(event);
  }

  /** Process the next event if it is due by `limit`; false when there is none. */
  step(limit = Number.POSITIVE_INFINITY, allowance = Number.POSITIVE_INFINITY): boolean {
    const next = this.events.peek();
    if (!next || next.time > limit) return false;
    this.events.pop();
    this.now = next.time;
    this.eventsProcessed++;
    this.epoch++;
    this.stepLimit = limit;
    this.eventAllowance = allowance;
    this.account();
    const timer = this.timer;
    if (next === timer) this.ticks.expired();
    else if (next.ticks !== null && this.ticks.firesInert(next)) {
      // Due with the running thread's timer: this entry does the expiry's work (ticks.ts).
      this.ticks.fired(timer !== null && !timer.cancelled && timer.time === this.now);
    } else this.ff.taint();
    next.fire();
    this.dispatch(this.inlineSteps);
    return true;
  }

  /** Advance the clock to `time` without an event (the current thread keeps running). */
  advanceTo(time: number): void {
    if (time <= this.now) return;
    this.now = time;
    this.account();
  }

  /** No thread can run and no event is pending (domain timer aside): nothing will happen again. */
  isIdle(): boolean {
    const background = this.sched.domainTimerPending ? 1 : 0;
    return (
      this.current === null && this.sched.readyThreads === 0 && this.events.size === background
    );
  }

  setState(t: Thread, state: ThreadStateName): void {
    if (t.state === state) return;
    t.state = state;
    if (this.recordingStates) this.record({ t: this.now, type: "state", thread: t.name, state });
  }

  /** Bill kernel time to the running thread (IRQ entry). */
  chargeKernel(ns: number): void {
    const cur = this.current;
    if (cur === null || ns <= 0) return;
    if (cur.workRemaining > 0) cur.workRemaining += ns;
    else cur.pendingKernelNs += ns;
  }

  /** Fast-forward: the dispatch loop runs the first step at this instant, after the timer fired. */
  atCleanInstant(): boolean {
    const timer = this.timer;
    return (
      this.stepTime === this.now &&
      this.stepsAtTime === 0 &&
      this.soloSteps === 0 &&
      this.lastAccount === this.now &&
      (timer === null || timer.cancelled)
    );
  }

  /** Fast-forward: move the clock as if `ns` of periods had run (run times are moved by the caller). */
  shiftClock(ns: number): void {
    this.now += ns;
    this.lastAccount = this.now;
    this.stepTime = this.now;
  }

  // ---- time accounting and the dispatch loop (§4.2) ----

  private account(): void {
    const dt = this.now - this.lastAccount;
    this.lastAccount = this.now;
    const cur = this.current;
    if (cur === null || dt <= 0) return;
    cur.workRemaining = Math.max(0, cur.workRemaining - dt);
    cur.runTime += dt;
    const sc = cur.sched.sc;
    if (sc) sc.consumed += dt;
  }

  /**
   * Kernel exit: handle exhaustion, schedule, run code of threads at a preemption point, arm the
   * timer. With `inline`, a timer that would be the next event is not put on the heap: its
   * expiry is processed here (see {@link inlineTimer}).
   */
  dispatch(inline = false): void {
    this.inlining = inline;
    for (;;) {
      this.sched.checkBudget();
      this.sched.schedule();
      const cur = this.current;
      if (cur === null) break;
      if (cur.workRemaining > 0) {
        if (inline && this.inlineTimer(cur)) continue;
        break;
      }
      if (inline && cur.spinEpoch === this.epoch && this.replaySpin(cur)) continue;
      if (this.now !== this.stepTime || cur !== this.lastStepped) this.soloSteps = 0;
      this.lastStepped = cur;
      if (this.now !== this.stepTime) {
        this.stepTime = this.now;
        this.stepsAtTime = 0;
      } else if (++this.soloSteps > THREAD_ZERO_STEP_LIMIT) {
        this.soloSteps = 0;
        this.stepThread(
          cur,
          new ThreadFault({
            kind: "exception",
            message: `${THREAD_ZERO_STEP_LIMIT} steps in a row without virtual time advancing: a zero-cost loop`,
          }),
        );
        continue;
      } else if (++this.stepsAtTime > ZERO_STEP_LIMIT) {
        throw new RuntimeError(
          "RT_LIVELOCK",
          `${ZERO_STEP_LIMIT} steps without virtual time advancing at ${this.now} ns (last thread '${cur.name}'): a zero-cost loop`,
        );
      }
      this.stepThread(cur);
    }
    this.inlining = false;
    this.sched.syncRunningSc();
    this.armTimer();
  }

  /**
   * Called by the running thread's body in place of yielding `op`: when it is a plain work step
   * the dispatch loop would end in place (`inlineTimer`) and resume `t` at once — the scheduler
   * keeps it, its SC stays sufficient (`spinTurns`), no heap event comes first — do that
   * bookkeeping here and return true; false changes nothing (the body yields `op`). A quiet
   * thread (an idle loop) and a busy-wait's turn always yield.
   */
  continueStep(t: Thread, op: KernelOp): boolean {
    if (op.op !== "work" || op.spin) return false;
    const ns = op.ns;
    if (
      !this.inlining ||
      !(ns > 0) ||
      t !== this.current ||
      t.quiet ||
      t.pendingKernelNs !== 0 ||
      t.workRemaining !== 0 ||
      this.options.recordPoints ||
      !this.sched.keeps(t) ||
      this.inliner.spinTurns(t, ns) < 1
    ) {
      return false;
    }
    // The step, ended as `inlineTimer` ends it (`keeps` made sure no SC change is due).
    t.workRemaining = ns;
    this.expireInPlace(this.now + ns);
    // The loop's next pass: `t` steps again (`stepThread`).
    this.soloSteps = 0;
    this.lastStepped = t;
    this.stepTime = this.now;
    this.stepsAtTime = 0;
    this.startStep(t);
    t.resumeValue = undefined;
    return true;
  }

  /**
   * The timer `armTimer` would arm for `cur` is the next event, inert ticks aside
   * (`StepInliner.endsPastTicks`): its expiry and the ticks in place, as `step` would; else false.
   */
  private inlineTimer(cur: Thread): boolean {
    this.sched.syncRunningSc();
    const end = this.now + this.sched.timerSlice(cur);
    const ticks = this.inliner.endsPastTicks(end);
    if (ticks === null) return false;
    this.expireInPlace(end);
    this.ticks.passInPlace(ticks, 0);
    return true;
  }

  /** The running thread's timer expires at `end`, processed in place: one event, no heap. */
  private expireInPlace(end: number): void {
    if (this.timer) {
      this.events.cancel(this.timer);
      this.timer = null;
    }
    this.now = end;
    this.eventsProcessed++;
    this.eventAllowance--;
    this.account();
    this.ticks.expired();
  }

  /**
   * `cur` is between two busy-wait turns and nothing has happened since its last turn polled
   * (spin.ts): replay the turns that would each end in place with its SC sufficient (one inlined
   * timer event each) and the inert ticks among them (`StepInliner.spinReplay`). False if none.
   */
  private replaySpin(cur: Thread): boolean {
    const ns = cur.spinNs;
    if (!(ns > 0) || cur.pendingKernelNs !== 0 || this.options.recordPoints) return false;
    const { turns: n, ticks } = this.inliner.spinReplay(cur, ns);
    if (!(n >= 1)) return false;
    if (!cur.quiet) this.ff.taint();
    this.now += n * ns;
    this.stepTime = this.now - ns;
    this.stepsAtTime = 0;
    this.soloSteps = 0;
    this.lastStepped = cur;
    this.account();
    this.ticks.unlisted();
    this.ticks.passInPlace(ticks, n);
    cur.spin!.passed?.(n);
    return true;
  }

  private armTimer(): void {
    if (this.timer) this.events.cancel(this.timer);
    this.timer = null;
    const cur = this.current;
    if (cur === null) return;
    this.timer = this.events.push(this.now + this.sched.timerSlice(cur), noop);
  }

  /** `t`'s code is about to run: its history and busy-wait state no longer hold. */
  private startStep(t: Thread): void {
    this.quietStep = t.quiet;
    if (!t.quiet) this.ff.taint();
    this.epoch++;
    t.spin = null;
    t.spinEpoch = -1;
  }

  /** Run `t`'s code to its next kernel op; `fault` is thrown into the code instead (a contained fault). */
  private stepThread(t: Thread, fault?: ThreadFault): void {
    const body = t.body;
    this.startStep(t);
    if (body === null) {
      this.sched.block(t, "inactive");
      return;
    }
    let result: IteratorResult<KernelOp, void>;
    const resume = t.resumeValue;
    t.resumeValue = undefined;
    try {
      result = fault ? body.throw(fault) : body.next(resume);
    } catch (error) {
      // Bodies contain program faults themselves; what escapes is a runtime error.
      t.body = null;
      this.record({
        t: this.now,
        type: "error",
        thread: t.name,
        code: error instanceof RuntimeError ? error.code : "RT_INTERNAL",
        message: error instanceof Error ? error.message : String(error),
      });
      if (error instanceof RuntimeError) throw error;
      this.sched.block(t, "dead");
      return;
    }
    if (result.done) {
      t.body = null;
      this.sched.block(t, "inactive");
      return;
    }
    const op = result.value;
    switch (op.op) {
      case "work": {
        const ns = op.ns + t.pendingKernelNs;
        t.pendingKernelNs = 0;
        t.workRemaining = ns;
        if (op.spin) {
          t.spin = op.spin;
          t.spinNs = op.ns;
          t.spinEpoch = this.epoch;
        }
        if (this.options.recordPoints)
          this.record({ t: this.now, type: "point", thread: t.name, kind: op.kind, ns });
        return;
      }
      case "recv":
        this.ipc.recv(t, op.reply);
        return;
      case "call":
        this.ipc.call(t, op.target, op.message);
        return;
      case "wait-virq":
        this.vcpus.waitVirq(t);
        return;
    }
  }
}

function noop(): void {}
