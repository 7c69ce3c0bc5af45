/**
 * The single-core seL4 MCS kernel as Microkit configures it (reference §3, §4.1–§4.2): threads,
 * ready queues with seL4's head/tail insertion rules, scheduling contexts, notifications with
 * badge coalescing, endpoints for PPC and fault IPC, and IRQ lines, driven by one event heap
 * in virtual nanoseconds.
 *
 * A thread's body is a generator of {@link KernelOp}s. Code runs instantaneously between two
 * ops; a `work` op then takes `ns` of virtual time. Other threads can run during that time
 * (preemption at any instant), but never in the middle of code, so programs interleave only at
 * their preemption points, as DESIGN.md asks.
 */
import type { FaultMessage, FaultReply, MessageInfo } from "../program.js";
import type { CostModel } from "./cost-model.js";
import { RuntimeError, ThreadFault } from "./errors.js";
import type { EntryPoint, RuntimeEvent, ThreadStateName } from "./event-log.js";
import { EventQueue, type ScheduledEvent } from "./event-queue.js";
import { SchedContext } from "./sched-context.js";

/** Scheduler bugs planted on purpose so the property suites can show they fail (never on by default). */
export type PlantedSchedulerBug =
  /** A higher-priority thread that wakes never preempts: it waits until the current one blocks. */
  | "no-preempt-on-wake"
  /** A signal to a thread that is runnable but not running is dropped instead of OR-ed in. */
  | "drop-signal-to-ready"
  /** Equal-priority boot order depends on state that outlives a run (a counter in the module). */
  | "leaky-boot-order"
  /** An exhausted sporadic SC forgets what it used and goes on, as if it were round-robin. */
  | "sporadic-refill-at-once";

export interface KernelOptions {
  readonly costs: CostModel;
  /** MIN_BUDGET in ns (reference §3.2, §4.4). */
  readonly minBudget: number;
  readonly recordEvents: boolean;
  /** Also record every preemption point (large logs; for debugging). */
  readonly recordPoints?: boolean;
  readonly plantedBug?: PlantedSchedulerBug;
}

/** An IPC message on an endpoint: a PPC, a fault, or the passive hand-over to the monitor. */
export type IpcMessage =
  | {
      readonly kind: "ppc";
      readonly ch: number;
      readonly info: MessageInfo;
      readonly mrs: readonly bigint[];
    }
  | { readonly kind: "fault"; readonly child: number; readonly fault: FaultMessage }
  | { readonly kind: "handover"; readonly pd: Thread };

export interface ReplyPayload {
  readonly info: MessageInfo;
  readonly mrs: readonly bigint[];
  readonly fault?: FaultReply;
  /** A user exception replied with a non-zero label is not resumed (reference §2.8). */
  readonly resume?: boolean;
}

/** What a receive returns to the body. */
export type Received =
  | {
      readonly kind: "signal";
      readonly lo: number;
      readonly hi: number;
      /** Signal ids per channel, for the flow arrows of the trace. */
      readonly flows: ReadonlyMap<number, readonly number[]>;
    }
  | { readonly kind: "ipc"; readonly message: IpcMessage; readonly from: Thread };

export type KernelOp =
  /** A preemption point: the code just run takes `ns` of virtual time. */
  | { readonly op: "work"; readonly ns: number; readonly kind: string }
  /** The receive phase of the event loop, optionally replying first (`ReplyRecv`). */
  | { readonly op: "recv"; readonly reply?: ReplyPayload }
  /** `seL4_Call` on an endpoint: PPC or fault IPC. The reply arrives in `lastReply`. */
  | { readonly op: "call"; readonly target: Thread; readonly message: IpcMessage }
  /** A vCPU waits (untrapped WFI) until a virtual IRQ is pending. */
  | { readonly op: "wait-virq" };

export type ThreadKind = "pd" | "monitor" | "vcpu";

/** A TCB with its libmicrokit-side state (reference §4.1). */
export class Thread {
  state: ThreadStateName = "inactive";
  /** In a ready queue. */
  queued = false;
  /** Throttled: runnable but waiting for its SC's next refill. */
  inRelease = false;
  releaseEvent: ScheduledEvent | null = null;
  /** The SC the thread runs on now: its own, a donated one, or none (passive, blocked). */
  sc: SchedContext | null;
  /** Passive after the monitor hand-over (reference §2.9). */
  passive = false;
  body: Generator<KernelOp, void, unknown> | null = null;
  resumeValue: unknown = undefined;
  /** Virtual time left in the current work step. */
  workRemaining = 0;
  /**
   * Kernel-operation time incurred but not charged yet; added to the thread's next work step
   * (a blocking call stays atomic and its cost is billed when the thread runs again).
   */
  pendingKernelNs = 0;
  /** Notification word, bits 0–31 and 32–63. */
  ntfnLo = 0;
  ntfnHi = 0;
  readonly pendingFlows = new Map<number, number[]>();
  /** Callers queued on this thread's endpoint, highest priority first, FIFO within a priority. */
  readonly sendQueue: Thread[] = [];
  outgoing: IpcMessage | null = null;
  /** Endpoint owner this thread is queued on or waits for a reply from. */
  callTarget: Thread | null = null;
  /** The caller this thread owes a reply (its reply object). */
  replyTo: Thread | null = null;
  /** The caller whose SC this thread runs on. */
  donor: Thread | null = null;
  lastReply: ReplyPayload | null = null;
  readonly mrs: bigint[] = new Array<bigint>(120).fill(0n);
  /** Scheduling domain (reference §3.3); vCPU threads stay in domain 0 (microkit#594). */
  domain = 0;
  /** Pending virtual IRQs (vCPU threads). */
  virqs: number[] = [];
  /** The armed virtual timer of a vCPU thread. */
  vtimer: ScheduledEvent | null = null;
  /** Fault handler and the badge id it sees (reference §1.4). */
  faultHandler: Thread | null = null;
  faultId = 0;
  entry: EntryPoint | null = null;
  /** Total virtual time spent running. */
  runTime = 0;

  constructor(
    readonly index: number,
    readonly name: string,
    readonly kind: ThreadKind,
    readonly priority: number,
    readonly ownSc: SchedContext,
  ) {
    this.sc = ownSc;
  }
}

/** A hardware interrupt line routed to a PD channel (reference §2.4). */
export class IrqLine {
  masked = true;
  latched = false;
  asserted = false;
  constructor(
    readonly irq: number,
    readonly owner: Thread,
    readonly ch: number,
    readonly trigger: "level" | "edge",
  ) {}
}

/** seL4's `KernelNumDomains` in the SDK configuration (reference §1.3). */
export const MAX_DOMAINS = 16;

/** One entry of the domain schedule: run `domain` for `duration` ns. */
export interface DomainSlot {
  readonly domain: number;
  readonly duration: number;
}

/** Steps the threads may take without virtual time advancing before the kernel calls it a livelock. */
const ZERO_STEP_LIMIT = 1_000_000;
/**
 * Steps one thread may take in a row without virtual time advancing and without any other thread
 * stepping: its own zero-cost loop, which faults that thread (contained) before the kernel-wide
 * limit above would stop the whole run.
 */
export const THREAD_ZERO_STEP_LIMIT = 100_000;

let leakyBootCounter = 0;

export class Kernel {
  now = 0;
  current: Thread | null = null;
  readonly threads: Thread[] = [];
  readonly events = new EventQueue();
  readonly log: RuntimeEvent[] = [];
  eventsProcessed = 0;
  private action: "resume" | "choose" | Thread = "resume";
  /** Ready queues by domain × priority (reference §4.1). */
  private readonly queues: Thread[][] = Array.from({ length: 256 * MAX_DOMAINS }, () => []);
  private readyCount = 0;
  /** One bit per non-empty ready queue, 8 words per domain. */
  private readonly readyBits = new Uint32Array(8 * MAX_DOMAINS);
  /** The domain whose threads may run (reference §3.3); always 0 without a domain schedule. */
  curDomain = 0;
  private domainSchedule: readonly DomainSlot[] = [];
  private domainIndex = 0;
  private domainTimer: ScheduledEvent | null = null;
  private lastAccount = 0;
  private runningSc: SchedContext | null = null;
  private lastRan: Thread | null = null;
  private timer: ScheduledEvent | null = null;
  private signalSeq = 0;
  private stepTime = -1;
  private stepsAtTime = 0;
  private lastStepped: Thread | null = null;
  private soloSteps = 0;
  private readonly irqLines = new Map<number, IrqLine>();

  constructor(readonly options: KernelOptions) {}

  get costs(): CostModel {
    return this.options.costs;
  }

  record(event: RuntimeEvent): void {
    if (this.options.recordEvents) this.log.push(event);
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
    this.threads.push(thread);
    return thread;
  }

  addIrqLine(line: IrqLine): void {
    this.irqLines.set(line.irq, line);
  }

  irqLine(irq: number): IrqLine | undefined {
    return this.irqLines.get(irq);
  }

  /**
   * Boot (reference §2.1): resume the given threads one by one, each placed at the head of its
   * priority's queue, then let the scheduler pick.
   */
  boot(
    resumeOrder: readonly Thread[],
    domainSchedule: readonly DomainSlot[] = [],
    startIndex = 0,
  ): void {
    if (domainSchedule.length > 0) {
      this.domainSchedule = domainSchedule;
      this.domainIndex = startIndex % domainSchedule.length;
      this.enterDomain();
    }
    let order = resumeOrder;
    if (this.options.plantedBug === "leaky-boot-order" && leakyBootCounter++ % 2 === 1) {
      order = [...resumeOrder].reverse();
    }
    for (const thread of order) {
      this.setState(thread, "runnable");
      this.enqueue(thread);
    }
    this.action = "choose";
    this.dispatch();
  }

  /** Schedule `fire` as a kernel entry at `time`. */
  at(time: number, fire: () => void): ScheduledEvent {
    if (!(time >= this.now)) {
      throw new RuntimeError("RT_BAD_CONFIG", `event at ${time} ns is before now (${this.now} ns)`);
    }
    return this.events.push(Math.round(time), fire);
  }

  /** Process the next event if it is due by `limit`; false when there is none. */
  step(limit = Number.POSITIVE_INFINITY): boolean {
    const next = this.events.peek();
    if (!next || next.time > limit) return false;
    this.events.pop();
    this.now = next.time;
    this.eventsProcessed++;
    this.account();
    next.fire();
    this.dispatch();
    return true;
  }

  /** Advance the clock to `time` without an event (the current thread keeps running). */
  advanceTo(time: number): void {
    if (time <= this.now) return;
    this.now = time;
    this.account();
  }

  /**
   * No thread can run and no event is pending (the domain schedule's own timer aside), so
   * nothing will ever happen again.
   */
  isIdle(): boolean {
    const background = this.domainTimer !== null && !this.domainTimer.cancelled ? 1 : 0;
    return this.current === null && this.readyCount === 0 && this.events.size === background;
  }

  /** Start the current domain-schedule entry and arm the switch to the next (reference §3.3). */
  private enterDomain(): void {
    const slot = this.domainSchedule[this.domainIndex]!;
    if (slot.domain !== this.curDomain) {
      this.record({ t: this.now, type: "domain", domain: slot.domain });
    }
    this.curDomain = slot.domain;
    this.domainTimer = this.events.push(this.now + slot.duration, () => {
      this.domainIndex = (this.domainIndex + 1) % this.domainSchedule.length;
      this.enterDomain();
      this.rescheduleRequired();
    });
  }

  // ---- time accounting and the dispatch loop (§4.2) ----

  private account(): void {
    const dt = this.now - this.lastAccount;
    this.lastAccount = this.now;
    const cur = this.current;
    if (cur === null || dt <= 0) return;
    cur.workRemaining = Math.max(0, cur.workRemaining - dt);
    cur.runTime += dt;
    if (cur.sc) cur.sc.consumed += dt;
  }

  /** Kernel exit: handle exhaustion, schedule, run code of threads at a preemption point, arm the timer. */
  dispatch(): void {
    for (;;) {
      this.checkBudget();
      this.schedule();
      const cur = this.current;
      if (cur === null || cur.workRemaining > 0) break;
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
    this.syncRunningSc();
    this.armTimer();
  }

  /**
   * §4.2 step 6: when the SC on the core changes (a switch, or a donation to or from the running
   * thread), commit the time consumed to the old one and apply the "becoming current" rule.
   */
  private syncRunningSc(): void {
    const sc = this.current?.sc ?? null;
    if (sc === this.runningSc) return;
    this.runningSc?.commit();
    this.runningSc = sc;
    sc?.becomeCurrent(this.now);
  }

  private armTimer(): void {
    if (this.timer) this.events.cancel(this.timer);
    this.timer = null;
    const cur = this.current;
    if (cur === null) return;
    let dt = cur.workRemaining;
    if (cur.sc) dt = Math.min(dt, cur.sc.capacity());
    if (dt <= 0)
      throw new RuntimeError("RT_INTERNAL", `thread '${cur.name}' armed a timer of ${dt} ns`);
    this.timer = this.events.push(this.now + dt, noop);
  }

  private checkBudget(): void {
    const cur = this.current;
    if (cur === null || cur.sc === null) return;
    const sc = cur.sc;
    if (sc.sufficient()) return;
    this.record({
      t: this.now,
      type: "budget",
      thread: cur.name,
      sc: sc.name,
      action: "exhausted",
    });
    if (this.options.plantedBug === "sporadic-refill-at-once" && !sc.roundRobin) sc.consumed = 0;
    sc.exhaust();
    if (cur.state === "runnable" && !cur.inRelease) {
      if (sc.ready(this.now) && sc.sufficient()) this.append(cur);
      else this.postpone(cur);
    }
    this.rescheduleRequired();
  }

  /** Run `t`'s code to its next kernel op; `fault` is thrown into the code instead (a contained fault). */
  private stepThread(t: Thread, fault?: ThreadFault): void {
    const body = t.body;
    if (body === null) {
      this.block(t, "inactive");
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
      this.block(t, "dead");
      return;
    }
    if (result.done) {
      t.body = null;
      this.block(t, "inactive");
      return;
    }
    const op = result.value;
    switch (op.op) {
      case "work": {
        const ns = op.ns + t.pendingKernelNs;
        t.pendingKernelNs = 0;
        t.workRemaining = ns;
        if (this.options.recordPoints) {
          this.record({ t: this.now, type: "point", thread: t.name, kind: op.kind, ns });
        }
        return;
      }
      case "recv":
        this.recv(t, op.reply);
        return;
      case "call":
        this.call(t, op.target, op.message);
        return;
      case "wait-virq":
        if (t.virqs.length === 0) this.block(t, "blocked-wfi");
        return;
    }
  }

  // ---- scheduler (§3.1: seL4 `schedule`, `possibleSwitchTo`, `chooseThread`) ----

  private schedulable(t: Thread): boolean {
    return t.state === "runnable" && t.sc !== null && !t.inRelease;
  }

  private queue(domain: number, priority: number): Thread[] {
    return this.queues[domain * 256 + priority]!;
  }

  private schedule(): void {
    if (this.action === "resume") {
      const cur = this.current;
      if (cur === null || this.schedulable(cur)) return;
      this.action = "choose";
    }
    const cur = this.current;
    const wasRunnable = cur !== null && this.schedulable(cur);
    if (cur !== null && wasRunnable && !cur.queued) this.enqueue(cur);
    const action = this.action;
    this.action = "resume";
    if (action === "choose") {
      this.chooseThread();
      return;
    }
    const candidate = action as Thread;
    const fastfail = cur === null || candidate.priority < cur.priority;
    if (fastfail && !this.isHighestPrio(candidate.priority)) {
      this.enqueue(candidate);
      this.chooseThread();
    } else if (wasRunnable && cur !== null && candidate.priority === cur.priority) {
      this.append(candidate);
      this.chooseThread();
    } else {
      this.switchTo(candidate);
    }
  }

  private isHighestPrio(priority: number): boolean {
    return this.highestReady(this.curDomain) <= priority;
  }

  /** Highest priority with a non-empty queue in `domain`, -1 if none (seL4's ready-queue bitmap). */
  private highestReady(domain: number): number {
    const base = domain * 8;
    for (let word = 7; word >= 0; word--) {
      const bits = this.readyBits[base + word]!;
      if (bits !== 0) return word * 32 + 31 - Math.clz32(bits);
    }
    return -1;
  }

  private chooseThread(): void {
    const p = this.highestReady(this.curDomain);
    if (p < 0) this.switchToIdle();
    else this.switchTo(this.queue(this.curDomain, p)[0]!);
  }

  private switchTo(t: Thread): void {
    if (t.queued) this.dequeue(t);
    if (t !== this.current) {
      this.record({ t: this.now, type: "switch", from: this.current?.name ?? null, to: t.name });
    }
    if (t !== this.lastRan && this.costs.contextSwitch > 0)
      t.workRemaining += this.costs.contextSwitch;
    this.current = t;
    this.lastRan = t;
    this.syncRunningSc();
  }

  private switchToIdle(): void {
    if (this.current !== null) {
      this.record({ t: this.now, type: "switch", from: this.current.name, to: null });
    }
    this.current = null;
    this.syncRunningSc();
  }

  private rescheduleRequired(): void {
    const action = this.action;
    if (action !== "resume" && action !== "choose" && this.schedulable(action))
      this.enqueue(action);
    this.action = "choose";
  }

  /**
   * End of a system call that `caller` made from running code and that may have woken a thread:
   * settle the wake-up now, while the caller is still runnable, as the kernel does on the way
   * out of that call (§3.1 table, rows 2 and 4). A higher-priority candidate stays pending and
   * takes the core when the caller's code reaches its next preemption point.
   */
  settleWake(caller: Thread): void {
    const action = this.action;
    if (caller !== this.current || action === "resume" || action === "choose") return;
    if (!this.schedulable(caller) || action.priority > caller.priority) return;
    this.action = "resume";
    if (action.priority === caller.priority) this.append(action);
    else this.enqueue(action);
  }

  private possibleSwitchTo(t: Thread): void {
    if (t.sc === null || t.inRelease) return;
    if (t.domain !== this.curDomain) {
      this.enqueue(t);
      return;
    }
    if (this.options.plantedBug === "no-preempt-on-wake") {
      this.enqueue(t);
      if (this.current === null) this.action = "choose";
      return;
    }
    if (this.action !== "resume") {
      this.rescheduleRequired();
      this.enqueue(t);
    } else {
      this.action = t;
    }
  }

  /** SCHED_ENQUEUE: head of its priority queue. */
  private enqueue(t: Thread): void {
    if (t.queued) return;
    this.queue(t.domain, t.priority).unshift(t);
    this.markQueued(t);
  }

  /** SCHED_APPEND: tail of its priority queue. */
  private append(t: Thread): void {
    if (t.queued) return;
    this.queue(t.domain, t.priority).push(t);
    this.markQueued(t);
  }

  private markQueued(t: Thread): void {
    t.queued = true;
    this.readyCount++;
    this.readyBits[t.domain * 8 + (t.priority >> 5)]! |= 1 << (t.priority & 31);
  }

  private dequeue(t: Thread): void {
    const queue = this.queue(t.domain, t.priority);
    const i = queue.indexOf(t);
    if (i >= 0) queue.splice(i, 1);
    t.queued = false;
    this.readyCount--;
    if (queue.length === 0)
      this.readyBits[t.domain * 8 + (t.priority >> 5)]! &= ~(1 << (t.priority & 31));
  }

  /** Throttle: wait in the release queue until the SC's head refill is due (§3.2 rule 4). */
  private postpone(t: Thread): void {
    if (t.queued) this.dequeue(t);
    const sc = t.sc!;
    t.inRelease = true;
    this.record({ t: this.now, type: "budget", thread: t.name, sc: sc.name, action: "throttled" });
    if (t.releaseEvent) this.events.cancel(t.releaseEvent);
    t.releaseEvent = this.events.push(Math.max(this.now, sc.releaseTime()), () => this.release(t));
    if (t === this.current) this.rescheduleRequired();
  }

  private release(t: Thread): void {
    t.releaseEvent = null;
    if (!t.inRelease) return;
    t.inRelease = false;
    if (t.state !== "runnable" || t.sc === null) return;
    if (!t.sc.ready(this.now)) {
      this.postpone(t);
      return;
    }
    this.record({ t: this.now, type: "budget", thread: t.name, sc: t.sc.name, action: "released" });
    this.possibleSwitchTo(t);
  }

  setState(t: Thread, state: ThreadStateName): void {
    if (t.state === state) return;
    t.state = state;
    this.record({ t: this.now, type: "state", thread: t.name, state });
  }

  /** Make a blocked thread runnable (signal, reply, PPC, release, resume) per §3.1. */
  wake(t: Thread): void {
    this.setState(t, "runnable");
    const sc = t.sc;
    if (sc === null) return;
    if (!sc.ready(this.now)) {
      this.postpone(t);
      return;
    }
    this.possibleSwitchTo(t);
  }

  /** Take a thread off the core and out of every queue. */
  block(t: Thread, state: ThreadStateName): void {
    this.setState(t, state);
    if (t.queued) this.dequeue(t);
    if (t.inRelease) {
      t.inRelease = false;
      if (t.releaseEvent) this.events.cancel(t.releaseEvent);
      t.releaseEvent = null;
    }
    if (t === this.current && this.action === "resume") this.action = "choose";
  }

  /** Stop a thread for good or until restarted; detaches it from any IPC in flight. */
  stop(t: Thread, state: "inactive" | "dead"): void {
    if (t.state === "blocked-send" && t.callTarget) {
      const queue = t.callTarget.sendQueue;
      const i = queue.indexOf(t);
      if (i >= 0) queue.splice(i, 1);
    }
    if (t.state === "blocked-reply" && t.callTarget && t.callTarget.replyTo === t) {
      t.callTarget.replyTo = null;
      this.returnDonation(t.callTarget, t);
    }
    t.callTarget = null;
    t.outgoing = null;
    if (t.vtimer) this.events.cancel(t.vtimer);
    t.vtimer = null;
    t.workRemaining = 0;
    t.pendingKernelNs = 0;
    if (t.entry !== null) {
      this.record({ t: this.now, type: "entry-end", thread: t.name, entry: t.entry });
      t.entry = null;
    }
    this.block(t, state);
  }

  /** Restart a thread with a fresh body (`microkit_pd_restart`, `microkit_vcpu_restart`). */
  restart(t: Thread, body: Generator<KernelOp, void, unknown>): void {
    this.stop(t, "inactive");
    t.body = body;
    t.resumeValue = undefined;
    t.virqs = [];
    if (t.sc === null && !t.passive) t.sc = t.ownSc;
    this.wake(t);
  }

  /**
   * Resume a stopped thread where it stopped (TCB_WriteRegisters with resume at the current PC,
   * reference §2.8): one that is inactive with its body intact, or blocked on a reply its handler
   * will not send (the reply is cancelled; the pending call returns no value). Returns whether
   * the thread was resumed.
   */
  resume(t: Thread): boolean {
    if (t.body === null || (t.state !== "inactive" && t.state !== "blocked-reply")) return false;
    if (t.state === "blocked-reply" && t.callTarget?.replyTo === t) {
      t.callTarget.replyTo = null;
      this.returnDonation(t.callTarget, t);
    }
    t.callTarget = null;
    t.lastReply = null;
    if (t.kind === "vcpu" && t.entry === null) {
      t.entry = "guest";
      this.record({ t: this.now, type: "entry", thread: t.name, entry: "guest" });
    }
    if (t.sc === null && !t.passive) t.sc = t.ownSc;
    this.wake(t);
    return true;
  }

  /** Make a virtual IRQ pending for a vCPU thread; wakes it from an untrapped WFI. */
  injectVirq(t: Thread, irq: number): void {
    t.virqs.push(irq);
    if (t.state === "blocked-wfi") this.wake(t);
  }

  /** The guest's virtual timer: `ppi` becomes pending at `deadline` (reference §2.10). */
  armVirtualTimer(t: Thread, deadline: number | null, ppi: number): void {
    if (t.vtimer) this.events.cancel(t.vtimer);
    t.vtimer = null;
    if (deadline === null) return;
    t.vtimer = this.events.push(Math.max(this.now, Math.round(deadline)), () => {
      t.vtimer = null;
      this.record({ t: this.now, type: "device", device: t.name, name: "vtimer", args: { ppi } });
      this.injectVirq(t, ppi);
    });
  }

  /** Bill kernel time to the running thread (IRQ entry). */
  private chargeKernel(ns: number): void {
    const cur = this.current;
    if (cur === null || ns <= 0) return;
    if (cur.workRemaining > 0) cur.workRemaining += ns;
    else cur.pendingKernelNs += ns;
  }

  // ---- notifications (§2.3) ----

  /** `seL4_Signal` with badge `1 << ch` to `target`'s notification. */
  signal(from: string, target: Thread, ch: number): void {
    const id = this.signalSeq++;
    if (
      this.options.plantedBug === "drop-signal-to-ready" &&
      target.state === "runnable" &&
      target !== this.current
    ) {
      this.record({
        t: this.now,
        type: "signal",
        id,
        from,
        to: target.name,
        ch,
        outcome: "pending",
      });
      return;
    }
    if (target.state === "blocked-recv") {
      this.record({ t: this.now, type: "signal", id, from, to: target.name, ch, outcome: "woken" });
      target.resumeValue = {
        kind: "signal",
        lo: ch < 32 ? (1 << ch) >>> 0 : 0,
        hi: ch >= 32 ? (1 << (ch - 32)) >>> 0 : 0,
        flows: this.options.recordEvents ? new Map([[ch, [id]]]) : NO_FLOWS,
      } satisfies Received;
      if (target.sc === null && target.passive) target.sc = target.ownSc;
      this.wake(target);
      return;
    }
    const already = hasBit(target, ch);
    if (ch < 32) target.ntfnLo = (target.ntfnLo | (1 << ch)) >>> 0;
    else target.ntfnHi = (target.ntfnHi | (1 << (ch - 32))) >>> 0;
    if (this.options.recordEvents) {
      const list = target.pendingFlows.get(ch);
      if (list) list.push(id);
      else target.pendingFlows.set(ch, [id]);
    }
    const outcome = already ? "coalesced" : "pending";
    this.record({ t: this.now, type: "signal", id, from, to: target.name, ch, outcome });
  }

  private takeWord(t: Thread): Received {
    let flows: ReadonlyMap<number, readonly number[]> = NO_FLOWS;
    if (t.pendingFlows.size > 0) {
      flows = new Map(t.pendingFlows);
      t.pendingFlows.clear();
    }
    const received: Received = { kind: "signal", lo: t.ntfnLo, hi: t.ntfnHi, flows };
    t.ntfnLo = 0;
    t.ntfnHi = 0;
    return received;
  }

  // ---- IPC (§2.5, §2.8) ----

  /** The event loop's receive, after an optional reply (`ReplyRecv`). */
  private recv(t: Thread, reply: ReplyPayload | undefined): void {
    if (reply) this.reply(t, reply);
    if (t.replyTo) {
      // MCS: receiving on a reply object that still holds a caller cancels it (reference §2.8).
      const stale = t.replyTo;
      t.replyTo = null;
      this.returnDonation(t, stale);
      stale.callTarget = null;
      this.record({
        t: this.now,
        type: "debug",
        thread: t.name,
        message: `reply to '${stale.name}' cancelled`,
      });
      if (stale.state === "blocked-reply") this.block(stale, "inactive");
    }
    if (t.ntfnLo !== 0 || t.ntfnHi !== 0) {
      if (t.sc === null && t.passive) t.sc = t.ownSc;
      t.resumeValue = this.takeWord(t);
      return;
    }
    const caller = t.sendQueue.shift();
    if (caller) {
      this.deliverCall(caller, t);
      return;
    }
    if (t.passive && t.sc === t.ownSc) t.sc = null;
    this.block(t, "blocked-recv");
  }

  /** A server that runs on `caller`'s SC gives it back (reply, cancelled reply, stopped caller). */
  private returnDonation(server: Thread, caller: Thread): void {
    if (server.donor !== caller) return;
    caller.sc = server.sc;
    server.sc = null;
    server.donor = null;
  }

  private call(t: Thread, target: Thread, message: IpcMessage): void {
    t.outgoing = message;
    if (target.state === "blocked-recv") {
      this.deliverCall(t, target);
      return;
    }
    const queue = target.sendQueue;
    let i = queue.length;
    while (i > 0 && queue[i - 1]!.priority < t.priority) i--;
    queue.splice(i, 0, t);
    t.callTarget = target;
    this.block(t, "blocked-send");
  }

  /** A non-blocking send (libmicrokit's passive hand-over); dropped if nobody waits. */
  nbSend(t: Thread, target: Thread, message: IpcMessage): void {
    if (target.state !== "blocked-recv") {
      this.record({
        t: this.now,
        type: "debug",
        thread: t.name,
        message: `send to '${target.name}' dropped`,
      });
      return;
    }
    target.resumeValue = { kind: "ipc", message, from: t } satisfies Received;
    this.wake(target);
  }

  private deliverCall(caller: Thread, server: Thread): void {
    const message = caller.outgoing!;
    caller.outgoing = null;
    if (message.kind === "ppc") {
      for (let i = 0; i < message.mrs.length; i++) server.mrs[i] = message.mrs[i]!;
    }
    server.resumeValue = { kind: "ipc", message, from: caller } satisfies Received;
    server.replyTo = caller;
    caller.callTarget = server;
    if (server.sc === null) {
      server.sc = caller.sc;
      caller.sc = null;
      server.donor = caller;
    }
    this.block(caller, "blocked-reply");
    if (server !== this.current) this.wake(server);
  }

  private reply(t: Thread, payload: ReplyPayload): void {
    const caller = t.replyTo;
    if (caller === null) return;
    t.replyTo = null;
    caller.callTarget = null;
    this.record({ t: this.now, type: "reply", from: t.name, to: caller.name });
    for (let i = 0; i < payload.mrs.length; i++) caller.mrs[i] = payload.mrs[i]!;
    caller.lastReply = payload;
    this.returnDonation(t, caller);
    if (caller.state !== "blocked-reply") return;
    if (payload.resume === false) this.block(caller, "inactive");
    else this.wake(caller);
  }

  // ---- IRQs (§2.4) ----

  /** A device drives an interrupt line. */
  setIrqLevel(irq: number, asserted: boolean): void {
    const line = this.irqLines.get(irq);
    if (!line)
      throw new RuntimeError("RT_UNKNOWN_IRQ", `irq ${irq} is not routed to any protection domain`);
    const rising = asserted && !line.asserted;
    line.asserted = asserted;
    if (!rising && !(asserted && line.trigger === "level")) return;
    if (!line.masked) {
      this.deliverIrq(line);
    } else if (rising) {
      line.latched = line.trigger === "edge";
      this.record({
        t: this.now,
        type: "irq",
        irq,
        thread: line.owner.name,
        ch: line.ch,
        outcome: "latched",
      });
    }
  }

  private deliverIrq(line: IrqLine): void {
    line.masked = true;
    line.latched = false;
    this.record({
      t: this.now,
      type: "irq",
      irq: line.irq,
      thread: line.owner.name,
      ch: line.ch,
      outcome: "delivered",
    });
    this.chargeKernel(this.costs.irqEntry);
    this.signal(`irq:${line.irq}`, line.owner, line.ch);
  }

  /** `seL4_IRQHandler_Ack`: unmask; a still-asserted level line or a latched edge fires again. */
  irqAck(line: IrqLine, by: Thread): void {
    this.record({ t: this.now, type: "irq-ack", thread: by.name, ch: line.ch, irq: line.irq });
    line.masked = false;
    if ((line.trigger === "level" && line.asserted) || (line.trigger === "edge" && line.latched)) {
      this.deliverIrq(line);
    }
  }
}

function noop(): void {}

const NO_FLOWS: ReadonlyMap<number, readonly number[]> = new Map();

function hasBit(t: Thread, ch: number): boolean {
  return ch < 32 ? (t.ntfnLo & (1 << ch)) !== 0 : (t.ntfnHi & (1 << (ch - 32))) !== 0;
}

/** Channel ids set in a received word, ascending (reference §2.2). */
export function wordChannels(lo: number, hi: number): number[] {
  const out: number[] = [];
  for (let ch = 0; ch < 32; ch++) if ((lo >>> ch) & 1) out.push(ch);
  for (let ch = 0; ch < 32; ch++) if ((hi >>> ch) & 1) out.push(ch + 32);
  return out;
}
