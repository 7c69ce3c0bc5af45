/**
 * Exact fast-forward of idle trap cycles (DESIGN.md "The simulation kernel"; microkit reference
 * §2.10: libvmm answers a trapped WFI at once, so an idle guest's vCPU spins through WFI exits).
 *
 * The contract. A guest declares its idle loop (`VcpuContext.idle`): WFI, one pass of work, and
 * its own monotone deadline test. A VMM that answers such a WFI at once and does nothing else
 * says so in its reply (`FaultReply.repeatable`) and applies its counters for skipped exits
 * itself. While only such code runs, the whole system is a deterministic function of the
 * kernel's state, which this part fingerprints at every pass's deadline check (an *anchor*).
 *
 * The method. When the state at an anchor matches the one `L` anchors earlier, which matched the
 * one `L` before that, with every numeric quantity (clock, run times, slice use, event and log
 * counts, VMM exits) moving by the same amount over both periods, the run is periodic; the kernel
 * then applies `k` more periods at once by arithmetic. `k` stops short of anything that could
 * break the period: the next event on the heap that is not the kernel's own timer (device,
 * timer, release, domain switch), the run limit, the event budget, a round-robin slice running
 * out where the thread would not get the core straight back (fast-forward-slices.ts: a slice of
 * a thread alone at the top of the ready queues that ends mid-step is crossed arithmetically),
 * and the first time any idle guest's deadline test would say true. Anything else
 * (another program's code, any signal, IRQ, heap insertion, thread control) *taints* the history,
 * which then starts afresh. Sporadic SCs that run during a period keep it from being applied.
 *
 * With `fastForward: false` none of this runs: every trap is simulated. The equivalence property
 * (fast-forward.prop.test.ts) shows both give the same clock, run times, counters, event count,
 * log outside the collapsed runs, and guest output.
 */
import type { IdleLoop, RepeatableExit } from "../program.js";
import { isWfiExit, RepeatableAnswers } from "./fast-forward-answers.js";
import { type Anchor, AnchorArena } from "./fast-forward-arena.js";
import { type BudgetRecord, LeapEndRecords } from "./fast-forward-end-records.js";
import { AnchorPacing } from "./fast-forward-pacing.js";
import { type ResumeMemo, ResumeMemos } from "./fast-forward-resume.js";
import { FingerprintIndex, LINEAR_HEAD, linearInto, SC_FIELDS } from "./fast-forward-shape.js";
import { CHECK_FIELDS, deadlineBound, fitEvents, push } from "./fast-forward-slices.js";
import { advanceSlices, type Leap, LeapWindow, measuredProfiles } from "./fast-forward-window.js";
import type { Kernel } from "./kernel.js";
import type { SchedContext } from "./sched-context.js";
import type { IpcMessage, Thread } from "./tcb.js";
import { Ticks } from "./ticks.js";

/** How many anchors the history keeps before it starts afresh (bounds memory and search). */
const HISTORY_LIMIT = 4096;
/**
 * Fingerprints are taken only with room for this many passes (at the last pass's length): a
 * measurement (two or three fingerprints and a leap search) costs a few simulated passes.
 */
const MIN_ROOM_PASSES = 6;
/** Earlier matching anchors tried per anchor, most recent first. */
const CANDIDATES = 12;
/** Budget checks kept per anchor (more make the anchor unusable for crossing slices). */
const MAX_CHECKS = CHECK_FIELDS * 256;

export type { Leap } from "./fast-forward-window.js";

export class FastForward {
  private readonly pacing = new AnchorPacing();
  private taints = 0;
  private taintsAtLast = -1;
  private lastAnchorAt = 0;
  /** ns between the last two untainted anchors of one thread. */
  private lastPass = 0;
  /** At this anchor: the first event a leap must stop before (`Ticks.horizon`). */
  private horizon = 0;
  private history: Anchor[] = [];
  private readonly byHash = new Map<number, number[]>();
  private readonly byFull = new Map<number, number[]>();
  private readonly answers = new RepeatableAnswers();
  /** Per thread, its last period that became a leap (fast-forward-resume.ts). */
  private readonly memos = new ResumeMemos();
  private readonly endRecords = new LeapEndRecords();
  private readonly index: FingerprintIndex;
  /** The history's numbers (fingerprints and linear quantities). */
  private readonly arena = new AnchorArena();
  /** The leap each candidate gave in this anchor's search (by candidate index). */
  private readonly measured = new Map<number, Leap | null>();
  private readonly leapLags: number[] = []; // anchors per period of this search's leaps
  /** Periods applied so far, and anchors fingerprinted (for tests and the bench). */
  leaps = 0;
  anchors = 0;
  /** Record budget checks (`Scheduler.checkBudget` reports them) while a history is kept. */
  probing = false;
  private checks: number[] | null = [];
  /** `eventsProcessed` at the kernel entry of the last inert tick not tied to a timer expiry. */
  private tickEntry = -1;
  private window: LeapWindow | null = null; // the period a candidate's bounds measure
  private readonly resumes: boolean; // KernelOptions.resumeLeaps

  constructor(
    protected readonly k: Kernel,
    readonly enabled: boolean,
  ) {
    this.index = new FingerprintIndex(k);
    this.resumes = k.options.resumeLeaps ?? true;
  }

  /** Something outside the declared idle loops happened: the history no longer predicts. */
  taint(): void {
    this.taints++;
  }

  /** A budget check with `sc` on the core; `clear`: a slice ending here gives the core straight back. */
  budgetCheck(sc: SchedContext, clear: boolean): void {
    const checks = this.checks;
    // An inert tick's checks are not the period's (fast-forward-slices.ts says why none is needed).
    if (checks === null || this.k.eventsProcessed === this.tickEntry) return;
    if (checks.length >= MAX_CHECKS) {
      this.checks = null;
      return;
    }
    checks.push(sc.owner, sc.sliceUsed + sc.consumed, clear ? 1 : 0, this.k.now);
  }

  /** An inert tick entered the kernel, not at a timer's expiry: its budget checks are left out. */
  tickEntered(): void {
    this.tickEntry = this.k.eventsProcessed;
  }

  /** A thread in its declared idle loop ran out of its slice (`record` is being written). */
  quietExhaustion(record: BudgetRecord): void {
    if (this.enabled) this.endRecords.exhausted(record);
  }

  /** A vCPU's guest entered its idle loop. */
  enterQuiet(t: Thread): void {
    t.quiet = true;
  }

  /** A thread leaves a declared loop (returns from it, is stopped or restarted). */
  leaveQuiet(t: Thread): void {
    if (!t.quiet) return;
    t.quiet = false;
    this.taint();
  }

  /** Whether `message` is an idle guest's WFI exit (its VMM's answer may then be repeatable). */
  isIdleWfi(caller: Thread, message: IpcMessage): boolean {
    return caller.quiet && isWfiExit(message);
  }

  /** A quiet VMM replied; a repeatable answer keeps the history, anything else taints it. */
  replied(exit: RepeatableExit | undefined, resumed: boolean): void {
    if (exit === undefined || !resumed) {
      this.taint();
      return;
    }
    // A VMM should answer with the same object each time; fresh ones only end the history.
    if (!this.answers.given(exit)) this.taint();
  }

  /**
   * An idle guest's deadline test said false after a pass: record the state, and apply whole
   * periods if the run has become periodic.
   */
  anchor(t: Thread, loop: IdleLoop): void {
    if (!this.enabled) return;
    const k = this.k;
    const checks = this.checks;
    const expiries = k.ticks.takeExpiries();
    this.checks = [];
    const sameHands = this.pacing.sameHands(t);
    const tainted = this.taints !== this.taintsAtLast;
    if (tainted) {
      // Something else ran before this anchor, which may begin a new history (pacing below).
      this.pacing.tainted(this.history.length > 0);
      this.reset();
      this.taintsAtLast = this.taints;
      this.lastAnchorAt = k.now - this.lastPass; // room is estimated by the last idle pass
    }
    if (!sameHands) {
      // The core changed hands: the history was another thread's; this state may begin this
      // thread's (with `resumeLeaps`, KernelOptions).
      this.reset();
      this.lastAnchorAt = k.now - this.lastPass;
      if (!this.resumes) return;
    }
    if (t !== k.current || !k.atCleanInstant()) {
      this.reset();
      return;
    }
    // Where the next event or the run limit is only a few passes away, no leap could pay for
    // the fingerprint: skip it (the search starts again afterwards).
    const since = k.now - this.lastAnchorAt;
    this.lastAnchorAt = k.now;
    if (!tainted && sameHands) this.lastPass = since;
    this.horizon = k.ticks.horizon();
    const room = Math.min(k.stepLimit, this.horizon) - k.now;
    if (room < MIN_ROOM_PASSES * since) {
      this.reset();
      return;
    }
    if (this.history.length === 0 && !this.pacing.start()) return;
    const arena = this.arena;
    const at = arena.length;
    const prefix = this.index.shapeInto(arena, this.answers.length);
    if (prefix < 0) {
      this.reset();
      return;
    }
    this.anchors++;
    const shapeLength = arena.length - at;
    const hash = arena.hash(at, arena.length, 0x811c9dc5);
    linearInto(arena, k, this.index.scList(), this.answers.counts());
    const anchor: Anchor = {
      at,
      shapeLength,
      prefix,
      linearLength: arena.length - at - shapeLength,
      hash,
      full: this.index.fullHash(hash),
      loop,
      checks,
      expiries,
    };
    const n = this.history.length;
    const leap = this.findLeap(anchor, n, t);
    if (leap !== null) {
      if (leap.lag === 1) this.memos.take(t, anchor, arena, this.answers.changed, leap);
      this.apply(leap, t);
      this.pacing.leapt();
      this.lastAnchorAt = k.now; // the next pass is measured from here, not across the leap
      // The state moved on as if the periods had run: the history still describes its phases
      // (the next window's budget checks are unseen).
      this.taintsAtLast = this.taints;
      this.checks = null;
      k.ticks.unlisted();
    }
    if (n >= HISTORY_LIMIT) {
      const end = this.arena.length;
      this.reset();
      this.arena.keep(anchor.at, end);
      anchor.at = 0;
    }
    const index = this.history.length;
    this.history.push(anchor);
    push(this.byHash, hash, index);
    push(this.byFull, anchor.full, index);
    this.probing = true;
  }

  private reset(): void {
    this.probing = false;
    this.arena.length = 0;
    if (this.history.length === 0) return;
    this.history = [];
    this.byHash.clear();
    this.byFull.clear();
  }

  /**
   * The best leap over candidates: recent anchors of the same shape (periods within a slice) and
   * recent anchors of the same full state (periods spanning slice rotations).
   */
  private findLeap(anchor: Anchor, n: number, t: Thread): Leap | null {
    this.measured.clear();
    this.leapLags.length = 0;
    const a = this.searchLeap(anchor, n, this.byHash.get(anchor.hash), CANDIDATES);
    const b = this.searchLeap(anchor, n, this.byFull.get(anchor.full), CANDIDATES);
    if (a === null && b === null)
      return this.resumes ? (this.resumeLeap(anchor, n, t) ?? this.memoLeap(anchor, t)) : null;
    if (a === null) return b;
    if (b === null) return a;
    return b.count * b.period > a.count * a.period ? b : a;
  }

  private searchLeap(
    anchor: Anchor,
    n: number,
    list: readonly number[] | undefined,
    limit: number,
  ): Leap | null {
    if (list === undefined) return null;
    let best: Leap | null = null;
    let tried = 0;
    for (let i = list.length - 1; i >= 0 && tried < limit; i--) {
      const m = list[i]!;
      const lag = n - m;
      const m2 = m - lag;
      if (m2 < 0) break;
      tried++;
      // A multiple of a period that leapt leaps no further (same bounds, in whole periods).
      if (this.leapLags.some((l) => lag % l === 0)) continue;
      const a = this.history[m]!;
      const b = this.history[m2]!;
      if (b.hash !== anchor.hash || !this.sameShape(anchor, a) || !this.sameShape(anchor, b))
        continue;
      // The two searches often meet the same candidate: measure it once.
      let leap = this.measured.get(m);
      if (leap === undefined) {
        leap = this.leapFrom(anchor, a, b, m, n);
        this.measured.set(m, leap);
        if (leap !== null) this.leapLags.push(lag);
      }
      if (leap !== null && (best === null || leap.count * leap.period > best.count * best.period))
        best = leap;
    }
    return best;
  }

  /**
   * One measured period (the last anchor to this one) and the thread's memo of an earlier one
   * standing in for the period before it (fast-forward-resume.ts).
   */
  protected resumeLeap(anchor: Anchor, n: number, t: Thread): Leap | null {
    const a = this.history[n - 1];
    if (a === undefined || a.loop !== anchor.loop || !this.sameShape(anchor, a)) return null;
    const memo = this.memos.find(t, anchor, this.arena, this.answers.changed);
    return memo === null ? null : this.leapFrom(anchor, a, memo, n - 1, n);
  }

  /**
   * No period measured: the thread's memo stands for both periods when its state at this check
   * is the memo's and no slice runs out in its period (fast-forward-resume.ts).
   */
  protected memoLeap(anchor: Anchor, t: Thread): Leap | null {
    const memo = this.memos.find(t, anchor, this.arena, this.answers.changed);
    if (memo === null || memo.delta.length !== anchor.linearLength) return null;
    const base = this.index.scBase();
    for (let i = 0; i < this.index.scList().length; i++)
      if (memo.delta[base + i * SC_FIELDS + 3] !== 0) return null;
    const window = new LeapWindow(this.k, this.index, () => memo.profiles);
    return this.bounded(memo.delta, window, [anchor.loop], () => memo.expiries, 1);
  }

  /**
   * `k` periods of `n − m` anchors, if the period `a`–`anchor` agrees with the one before it
   * (`b`–`a`, or a memo's) and nothing bounds it to 0.
   */
  protected leapFrom(
    anchor: Anchor,
    a: Anchor,
    b: Anchor | ResumeMemo,
    m: number,
    n: number,
  ): Leap | null {
    const len = anchor.linearLength;
    const memo = "delta" in b ? b : null;
    if (a.linearLength !== len || (memo?.delta.length ?? (b as Anchor).linearLength) !== len)
      return null;
    const arena = this.arena;
    const x = anchor.at + anchor.shapeLength;
    const y = a.at + a.shapeLength;
    const z = memo === null ? (b as Anchor).at + (b as Anchor).shapeLength : 0;
    const prior = memo === null ? null : memo.delta;
    const delta: number[] = new Array(len);
    for (let i = 0; i < len; i++) {
      const d = arena.at(x + i) - arena.at(y + i);
      const p = prior === null ? arena.at(y + i) - arena.at(z + i) : prior[i]!;
      if (d !== p && !this.index.splitOnly(arena, i, x, y, z, prior)) return null;
      delta[i] = d;
    }
    this.steadySplits(delta);
    const loops: IdleLoop[] = [anchor.loop];
    for (let i = m; i < n; i++) loops.push(this.history[i]!.loop);
    const profiles = (d: readonly number[]) =>
      measuredProfiles(this.index, arena, this.history, anchor, m, n, d);
    const expiries = () => {
      const lists = this.history.slice(m + 1, n).map((x) => x.expiries);
      return Ticks.offsets([...lists, anchor.expiries], arena.at(y));
    };
    return this.bounded(
      delta,
      new LeapWindow(this.k, this.index, profiles),
      loops,
      expiries,
      n - m,
    );
  }

  /** The leap of a period with changes `delta`, slice profiles `window`, idle `loops`, timer `expiries`. */
  private bounded(
    delta: readonly number[],
    window: LeapWindow,
    loops: readonly IdleLoop[],
    expiries: () => ReadonlySet<number> | null,
    lag: number,
  ): Leap | null {
    const period = delta[0]!;
    if (!(period > 0)) return null;
    const k = this.k;
    let count = Math.floor((k.stepLimit - k.now) / period);
    count = Math.min(count, Math.floor(k.eventAllowance / Math.max(1, delta[1]!)));
    count = Math.min(count, Math.floor((this.horizon - 1 - k.now) / period));
    if (count <= 0) return null;
    this.window = window;
    window.count = count;
    count = Math.min(count, this.budgetBound(delta));
    if (count <= 0) return null;
    count = deadlineBound(loops, k.now, period, count);
    // Slices that end in the leap add one timer event each: keep within the event allowance.
    count = fitEvents(count, delta[1]!, k.eventAllowance, (c) => this.window!.walks(delta, c));
    // Inert device ticks inside the leap (ticks.ts), with the period's expiries and the slices'
    // ends for their ties.
    const ends = (c: number) =>
      this.window!.walks(delta, c).reduce((e, r) => e + (r?.ends ?? 0), 0);
    const fit = k.ticks.bound(
      count,
      period,
      expiries,
      (c) => this.window!.sliceEnds(delta, c),
      (c, more) => c * delta[1]! + ends(c) + more <= k.eventAllowance,
    );
    count = fit.count;
    const slices = this.window!.walks(delta, count);
    if (count <= 0) return null;
    return { count, period, lag, delta, slices, ticks: fit.run, window, expiries };
  }

  /**
   * A round-robin SC committed in the period (its slice used moved) is committed in every
   * period after it at the same points, so its uncommitted time stays what it is now: the whole
   * change of its slice position is committed time. (Where the period began right after a taint
   * or a hand-over, the measured split is not the one that repeats.)
   */
  protected steadySplits(delta: number[]): void {
    this.index.steadySplits(delta);
  }

  /**
   * Periods the scheduling contexts allow: none while a sporadic SC runs; for a round-robin
   * slice, up to the first boundary that cannot be crossed (fast-forward-slices.ts).
   */
  protected budgetBound(delta: readonly number[]): number {
    let count = this.window!.count;
    const scs = this.index.scList();
    const base = this.index.scBase();
    const walks = this.window!.walks(delta, count);
    for (let i = 0; i < scs.length; i++) {
      const sc = scs[i]!;
      const o = base + i * SC_FIELDS;
      const used = delta[o]! + delta[o + 1]!;
      if (!sc.roundRobin) {
        if (delta[o + 2] !== 0 || used !== 0) return 0;
        continue;
      }
      if (used < 0) return 0;
      if (used === 0) continue;
      if (delta[o + 3] !== 0) return 0;
      count = Math.min(count, walks[i]!.periods);
    }
    return count;
  }

  /** Timer events the crossed slice boundaries stand for (one each: the slice ran out mid-step). */
  protected boundaryEvents(ends: number): number {
    return ends;
  }

  /** Apply `leap.count` periods: every linear quantity moves by count × its per-period change. */
  protected apply(leap: Leap, t: Thread): void {
    const k = this.k;
    const { count, period, delta } = leap;
    const start = k.now;
    const span = count * period;
    k.shiftClock(span);
    let ends = 0;
    for (const run of leap.slices) ends += run?.ends ?? 0;
    const events = count * delta[1]! + this.boundaryEvents(ends) + leap.ticks.events;
    k.eventsProcessed += events;
    const threads = k.threads;
    // Who ran how long, for the log's record (built only when events are recorded).
    const ran: Record<string, number> | null = k.recordingCycles ? {} : null;
    for (let i = 0; i < threads.length; i++) {
      const d = count * delta[LINEAR_HEAD + i]!;
      threads[i]!.runTime += d;
      if (d !== 0 && ran !== null) ran[threads[i]!.name] = d;
    }
    const scs = this.index.scList();
    const base = this.index.scBase();
    advanceSlices(scs, base, leap);
    const c0 = base + scs.length * SC_FIELDS;
    for (let i = 0; i < this.answers.length; i++) {
      const times = count * delta[c0 + i]!;
      if (times !== 0) this.answers.repeat(i, times);
    }
    this.leaps += count;
    if (ran !== null)
      k.record({
        t: start,
        type: "idle",
        thread: t.name,
        until: k.now,
        count,
        period,
        events,
        ran,
      });
    // The passed ticks' records (when recording) come after the leap's, in time order, and
    // then those of its last instant.
    k.ticks.pass(leap.ticks);
    const periodic = (i: number) => delta[base + i * SC_FIELDS + 3] !== 0;
    if (k.recording) this.endRecords.write(k, start, scs, leap.slices, periodic);
  }

  // ---- the state fingerprint ----

  /** Whether two anchors' shapes are equal. */
  private sameShape(x: Anchor, y: Anchor): boolean {
    return x.shapeLength === y.shapeLength && this.arena.same(x.at, y.at, x.shapeLength);
  }
}
