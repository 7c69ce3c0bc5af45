/**
 * The scheduler part (seL4 `schedule.c`/`thread.c` scheduling, reference §3.1–§3.3, §4.2): ready
 * queues by domain × priority with seL4's head/tail insertion rules, the scheduler action,
 * scheduling-context budgets and sporadic refills (through {@link SchedContext}), the release
 * queue, and the domain schedule. It owns each thread's {@link SchedRecord}; it calls the kernel
 * core only to log, to change a thread's state and to use the event heap.
 *
 * Extension point: a caller may pass a subclass through `KernelParts.scheduler` (e.g. to trace
 * decisions or try another policy); the protected methods are the seams.
 */
import { recordSwitch } from "./cycle-records.js";
import { RuntimeError } from "./errors.js";
import type { ScheduledEvent } from "./event-queue.js";
import type { Kernel } from "./kernel.js";
import type { SchedContext } from "./sched-context.js";
import type { Thread } from "./tcb.js";

/** seL4's `KernelNumDomains` in the SDK configuration (reference §1.3). */
export const MAX_DOMAINS = 16;

/** One entry of the domain schedule: run `domain` for `duration` ns. */
export interface DomainSlot {
  readonly domain: number;
  readonly duration: number;
}

/** What `schedule` does at the next kernel exit: keep the current thread, choose, or switch to one. */
export type SchedulerAction = "resume" | "choose" | Thread;

export class Scheduler {
  /** The thread on the core, `null` when idle. */
  current: Thread | null = null;
  protected action: SchedulerAction = "resume";
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
  /** The SC charged for the time on the core (§4.2 step 6). */
  private runningSc: SchedContext | null = null;
  private lastRan: Thread | null = null;

  constructor(protected readonly k: Kernel) {}

  /** Runnable threads waiting in a ready queue. */
  get readyThreads(): number {
    return this.readyCount;
  }

  /** Whether the domain schedule's own timer is pending (it never lets the system go idle). */
  get domainTimerPending(): boolean {
    return this.domainTimer !== null && !this.domainTimer.cancelled;
  }

  /**
   * Boot (reference §2.1): enter the first domain, then resume the given threads one by one,
   * each placed at the head of its priority's queue; the next kernel exit chooses.
   */
  start(resumeOrder: readonly Thread[], domainSchedule: readonly DomainSlot[], startIndex: number) {
    if (domainSchedule.length > 0) {
      this.domainSchedule = domainSchedule;
      this.domainIndex = startIndex % domainSchedule.length;
      this.enterDomain();
    }
    for (const thread of this.bootOrder(resumeOrder)) {
      this.k.setState(thread, "runnable");
      this.enqueue(thread);
    }
    this.action = "choose";
  }

  /** The order boot resumes threads in (the system's capDL order); a seam for variants. */
  protected bootOrder(order: readonly Thread[]): readonly Thread[] {
    return order;
  }

  /** Start the current domain-schedule entry and arm the switch to the next (reference §3.3). */
  private enterDomain(): void {
    const k = this.k;
    const slot = this.domainSchedule[this.domainIndex]!;
    if (slot.domain !== this.curDomain) {
      k.record({ t: k.now, type: "domain", domain: slot.domain });
    }
    this.curDomain = slot.domain;
    k.ff.taint();
    this.domainTimer = k.events.push(k.now + slot.duration, () => {
      this.domainIndex = (this.domainIndex + 1) % this.domainSchedule.length;
      this.enterDomain();
      this.rescheduleRequired();
    });
  }

  // ---- budgets (§3.2) ----

  /** Kernel entry: an SC without sufficient budget ends the current thread's slice. */
  checkBudget(): void {
    const k = this.k;
    const cur = this.current;
    if (cur === null || cur.sched.sc === null) return;
    const sc = cur.sched.sc;
    if (k.ff.probing) k.ff.budgetCheck(sc, this.action === "resume" && this.soleAtTop(cur));
    if (sc.sufficient()) return;
    // In a declared idle loop (cycle-records.ts `quiet`) when the slice ends inside one.
    if (k.recording && k.quietStep && cur.quiet) {
      const exhausted = {
        t: k.now,
        type: "budget",
        thread: cur.name,
        sc: sc.name,
        action: "exhausted",
        quiet: true,
      } as const;
      k.record(exhausted);
      k.ff.quietExhaustion(exhausted);
    } else if (k.recording) {
      k.record({ t: k.now, type: "budget", thread: cur.name, sc: sc.name, action: "exhausted" });
    }
    this.exhaust(sc);
    if (cur.state === "runnable" && !cur.sched.inRelease) {
      if (sc.ready(k.now) && sc.sufficient()) this.append(cur);
      else this.postpone(cur);
    }
    this.rescheduleRequired();
  }

  /** §3.1 `endTimeslice`: refill a round-robin slice or charge a sporadic SC; a seam for variants. */
  protected exhaust(sc: SchedContext): void {
    sc.exhaust();
  }

  /**
   * §4.2 step 6: when the SC on the core changes (a switch, or a donation to or from the running
   * thread), commit the time consumed to the old one and apply the "becoming current" rule.
   */
  syncRunningSc(): void {
    const sc = this.current?.sched.sc ?? null;
    if (sc === this.runningSc) return;
    this.runningSc?.commit();
    this.runningSc = sc;
    sc?.becomeCurrent(this.k.now);
  }

  /** Throttle: wait in the release queue until the SC's head refill is due (§3.2 rule 4). */
  private postpone(t: Thread): void {
    const k = this.k;
    const s = t.sched;
    if (s.queued) this.dequeue(t);
    const sc = s.sc!;
    s.inRelease = true;
    k.record({ t: k.now, type: "budget", thread: t.name, sc: sc.name, action: "throttled" });
    if (s.releaseEvent) k.events.cancel(s.releaseEvent);
    k.ff.taint();
    s.releaseEvent = k.events.push(Math.max(k.now, sc.releaseTime()), () => this.release(t));
    if (t === this.current) this.rescheduleRequired();
  }

  private release(t: Thread): void {
    const k = this.k;
    const s = t.sched;
    s.releaseEvent = null;
    if (!s.inRelease) return;
    s.inRelease = false;
    if (t.state !== "runnable" || s.sc === null) return;
    if (!s.sc.ready(k.now)) {
      this.postpone(t);
      return;
    }
    k.record({ t: k.now, type: "budget", thread: t.name, sc: s.sc.name, action: "released" });
    this.possibleSwitchTo(t);
  }

  // ---- thread state (§3.1) ----

  /** Make a blocked thread runnable (signal, reply, PPC, release, resume) per §3.1. */
  wake(t: Thread): void {
    this.k.setState(t, "runnable");
    const sc = t.sched.sc;
    if (sc === null) return;
    if (!sc.ready(this.k.now)) {
      this.postpone(t);
      return;
    }
    this.possibleSwitchTo(t);
  }

  /** Take a thread off the core and out of every queue. */
  block(t: Thread, state: Thread["state"]): void {
    this.k.setState(t, state);
    const s = t.sched;
    if (s.queued) this.dequeue(t);
    if (s.inRelease) {
      s.inRelease = false;
      if (s.releaseEvent) this.k.events.cancel(s.releaseEvent);
      s.releaseEvent = null;
      this.k.ff.taint();
    }
    if (t === this.current && this.action === "resume") this.action = "choose";
  }

  // ---- scheduling decisions (§3.1: seL4 `schedule`, `possibleSwitchTo`, `chooseThread`) ----

  protected schedulable(t: Thread): boolean {
    return t.state === "runnable" && t.sched.sc !== null && !t.sched.inRelease;
  }

  private queue(domain: number, priority: number): Thread[] {
    return this.queues[domain * 256 + priority]!;
  }

  /** seL4 `schedule()`: act on the pending scheduler action. */
  schedule(): void {
    if (this.action === "resume") {
      const cur = this.current;
      if (cur === null || this.schedulable(cur)) return;
      this.action = "choose";
    }
    const cur = this.current;
    const wasRunnable = cur !== null && this.schedulable(cur);
    if (cur !== null && wasRunnable && !cur.sched.queued) this.enqueue(cur);
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

  /**
   * At a kernel entry now, `t` (on the core) would go on running: no switch is pending and it is
   * schedulable (`schedule` would return at once), its SC is the one on the core and, if it has
   * one, sufficient.
   */
  keeps(t: Thread): boolean {
    return (
      this.action === "resume" &&
      this.current === t &&
      this.runningSc === t.sched.sc &&
      this.schedulable(t) &&
      (t.sched.sc === null || t.sched.sc.sufficient())
    );
  }

  /** `t` would be chosen again at once if its slice ended here (fast-forward's slice crossing). */
  private soleAtTop(t: Thread): boolean {
    return (
      t.state === "runnable" &&
      !t.sched.inRelease &&
      !t.sched.queued &&
      this.highestReady(this.curDomain) < t.priority
    );
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
    const k = this.k;
    if (t.sched.queued) this.dequeue(t);
    if (t !== this.current && k.recordingCycles) recordSwitch(k, this.current?.name ?? null, t);
    if (t !== this.lastRan && k.costs.contextSwitch > 0) t.workRemaining += k.costs.contextSwitch;
    this.current = t;
    this.lastRan = t;
    this.syncRunningSc();
  }

  private switchToIdle(): void {
    const k = this.k;
    if (this.current !== null && k.recordingCycles) recordSwitch(k, this.current.name, null);
    this.current = null;
    this.syncRunningSc();
  }

  protected rescheduleRequired(): void {
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

  /** seL4 `possibleSwitchTo`: a woken thread preempts now, or waits in its queue. */
  protected possibleSwitchTo(t: Thread): void {
    if (t.sched.sc === null || t.sched.inRelease) return;
    if (t.sched.domain !== this.curDomain) {
      this.enqueue(t);
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
  protected enqueue(t: Thread): void {
    if (t.sched.queued) return;
    this.queue(t.sched.domain, t.priority).unshift(t);
    this.markQueued(t);
  }

  /** SCHED_APPEND: tail of its priority queue. */
  protected append(t: Thread): void {
    if (t.sched.queued) return;
    this.queue(t.sched.domain, t.priority).push(t);
    this.markQueued(t);
  }

  private markQueued(t: Thread): void {
    const domain = t.sched.domain;
    t.sched.queued = true;
    this.readyCount++;
    this.readyBits[domain * 8 + (t.priority >> 5)]! |= 1 << (t.priority & 31);
  }

  private dequeue(t: Thread): void {
    const domain = t.sched.domain;
    const queue = this.queue(domain, t.priority);
    const i = queue.indexOf(t);
    if (i >= 0) queue.splice(i, 1);
    t.sched.queued = false;
    this.readyCount--;
    if (queue.length === 0)
      this.readyBits[domain * 8 + (t.priority >> 5)]! &= ~(1 << (t.priority & 31));
  }

  /**
   * Fast-forward's fingerprint of the scheduler: action, current and last thread, domain, the SC
   * on the core, and every ready queue in order.
   */
  shapeInto(
    out: { push(v: number): void },
    idx: (t: Thread | null) => number,
    scIdx: (sc: SchedContext | null) => number,
  ): boolean {
    const action = this.action;
    out.push(action === "resume" ? -3 : action === "choose" ? -4 : action.index);
    out.push(idx(this.current));
    out.push(idx(this.lastRan));
    out.push(this.curDomain);
    out.push(this.domainIndex);
    out.push(scIdx(this.runningSc));
    out.push(this.readyCount);
    const bits = this.readyBits;
    for (let w = 0; w < bits.length; w++) {
      for (let word = bits[w]!; word !== 0; word &= word - 1) {
        const q = w * 32 + 31 - Math.clz32(word & -word);
        const queue = this.queues[q]!;
        out.push(q);
        out.push(queue.length);
        for (const t of queue) out.push(t.index);
      }
    }
    return true;
  }

  /** The current thread's SC budget left, for the kernel's timer (never 0 for a running thread). */
  timerSlice(cur: Thread): number {
    let dt = cur.workRemaining;
    if (cur.sched.sc) dt = Math.min(dt, cur.sched.sc.capacity());
    if (dt <= 0)
      throw new RuntimeError("RT_INTERNAL", `thread '${cur.name}' armed a timer of ${dt} ns`);
    return dt;
  }
}
