/**
 * A thread's last measured idle period, kept across the times it waits for the core
 * (fast-forward.ts). Guests of one priority share the core in round-robin slices and each slice
 * ends in the middle of a pass, so the state never repeats from one round to the next, and a
 * slice would begin with a fresh measurement of two periods. After a hand-over or a taint, when a
 * thread's state at an idle check is the one its memo's period started from, that period is the
 * one that runs next, and a leap by its changes needs no period measured first.
 *
 * What makes the next period the memo's. The kernel's part of it is a function of the shape
 * (fast-forward-shape.ts: scheduler, queues, thread states and step positions, pending IRQs and
 * virtual IRQs, refills, the number of events pending, the repeatable answers tracked) and of the
 * linear quantities only through bounds the leap finds from the state it starts in, by the same
 * code as any leap: the next event that is not an inert tick (`Ticks.horizon`) and the ticks
 * before it with the period's timer expiries (kept here, with the period's start),
 * the run limit and event budget, the loop's deadline test, and each round-robin slice walked
 * from where it stands now through the period's budget checks (kept here, relative to the
 * period's start). Waiting threads' step positions are left out of the comparison: a waiting
 * thread does not run before the core changes hands again, which no leap crosses (a slice end
 * where the thread would not get the core straight back stops it, fast-forward-slices.ts).
 * The programs' part: the guest runs its declared loop (same object). Its VMM promises only
 * that answering a WFI repeatably leaves it unchanged (program.ts `RepeatableExit`), so its
 * answers stay the memo's while nothing else ran since the memo was taken (no taint). After a
 * taint the VMM may be in another state: the memo then holds only if the VMM's last answer to
 * the guest came after the last taint (so it was given in the VMM's state now) and is the memo
 * period's answer (`Answer`: same changes of every linear quantity, slice positions as sums, and
 * the same budget checks at the same offsets). Each later answer is then that one again.
 *
 * Slice time splits into committed and uncommitted time differently right after a hand-over:
 * where an SC commits in every period, each period ends with the uncommitted time the memo's
 * ended with (`end`), so the leap moves the rest of the slice position into committed time.
 */
import type { IdleLoop } from "../program.js";
import { type Anchor, AnchorArena } from "./fast-forward-arena.js";
import { type FingerprintIndex, linearInto, SC_FIELDS } from "./fast-forward-shape.js";
import { CHECK_FIELDS } from "./fast-forward-slices.js";
import type { Kernel } from "./kernel.js";
import type { Thread } from "./tcb.js";

export interface ResumeMemo {
  /** The idle loop of the period (the thread has not left it since). */
  readonly loop: IdleLoop;
  /** `FastForward`'s count of changes to its repeatable answers when the memo was taken. */
  readonly contracts: number;
  /** `FastForward`'s count of taints when the memo was taken. */
  readonly taints: number;
  /** The state at the period's start, without waiting threads' step positions. */
  readonly shape: Float64Array;
  /** The period's change of every linear quantity. */
  readonly delta: readonly number[];
  /** The linear quantities at the period's start and at its end. */
  readonly start: Float64Array;
  readonly end: Float64Array;
  /** The period's budget checks (absolute, `FastForward.budgetCheck`), null if too many. */
  readonly checks: number[] | null;
  /** The period's kernel timer expiries (times), null if unknown (ticks.ts). */
  readonly expiries: number[] | null;
  /** The period's answer by the guest's VMM, null if unknown. */
  readonly answer: Answer | null;
}

/**
 * A VMM's answer to an idle guest's WFI, from the trap to the reply: what it changed of every
 * linear quantity and the budget checks in it (SC, slice position and time from the trap's,
 * clear). Its steps end at those checks, so two answers alike are the same steps.
 */
export interface Answer {
  readonly linear: Float64Array;
  readonly checks: readonly number[];
}

/** Each thread's memo (the last period of one anchor that became a leap). */
export class ResumeMemos {
  private readonly memos = new Map<Thread, ResumeMemo>();

  /**
   * `t`'s period from `a` to `anchor` became a leap with these per-period changes; `contracts`
   * and `taints` are `FastForward`'s counts now.
   */
  take(
    t: Thread,
    a: Anchor,
    anchor: Anchor,
    arena: AnchorArena,
    counts: { readonly contracts: number; readonly taints: number },
    delta: readonly number[],
    answer: Answer | null,
  ): void {
    const old = this.memos.get(t)?.shape;
    const same = old !== undefined && old.length === anchor.prefix && arena.matches(anchor.at, old);
    const shape = same ? old : arena.copy(anchor.at, anchor.prefix);
    const length = anchor.linearLength;
    this.memos.set(t, {
      loop: anchor.loop,
      contracts: counts.contracts,
      taints: counts.taints,
      shape,
      delta,
      start: arena.copy(a.at + a.shapeLength, length),
      end: arena.copy(anchor.at + anchor.shapeLength, length),
      checks: anchor.checks,
      expiries: anchor.expiries,
      answer,
    });
  }

  /** `t`'s memo, if it has one. */
  of(t: Thread): ResumeMemo | null {
    return this.memos.get(t) ?? null;
  }

  /**
   * `t`'s memo when its period is the one that runs from `anchor` (`t`'s check): same loop, same
   * repeatable answers, same state (waiting threads' step positions aside), as many linear
   * quantities.
   */
  find(t: Thread, anchor: Anchor, arena: AnchorArena, contracts: number): ResumeMemo | null {
    const memo = this.memos.get(t);
    if (memo === undefined || memo.loop !== anchor.loop || memo.contracts !== contracts)
      return null;
    if (memo.delta.length !== anchor.linearLength) return null;
    const same = anchor.prefix === memo.shape.length && arena.matches(anchor.at, memo.shape);
    return same ? memo : null;
  }
}

/**
 * Each idle guest's last WFI trap and its VMM's answer (fast-forward.ts `isIdleWfi`, `replied`):
 * the linear quantities at the trap and at the reply, and the budget checks kept in between.
 */
export class Answers {
  private readonly marks: (AnswerMark | undefined)[] = [];

  constructor(
    private readonly k: Kernel,
    private readonly index: FingerprintIndex,
  ) {}

  /** `t` traps now, `taints` taints so far; `checks` is the list of budget checks being kept. */
  trapped(t: Thread, taints: number, exits: readonly number[], checks: number[] | null): void {
    let m = this.marks[t.index];
    if (m === undefined) {
      m = new AnswerMark();
      this.marks[t.index] = m;
    }
    if (m.trapTaints === taints && m.trapTime === this.k.now && m.replyTaints < 0) return;
    m.trapTaints = taints;
    m.trapTime = this.k.now;
    m.replyTaints = -1;
    m.checks = checks;
    m.from = checks === null ? -1 : checks.length;
    m.trap.length = 0;
    linearInto(m.trap, this.k, this.index.scList(), exits);
  }

  /** `t`'s VMM answered repeatably with no taint since the trap (`taints` so far). */
  replied(t: Thread | null, taints: number, exits: readonly number[], checks: number[] | null) {
    const m = t === null ? undefined : this.marks[t.index];
    if (m === undefined || m.trapTaints !== taints || m.from < 0) return;
    if (checks === null || checks !== m.checks) return;
    m.replyTaints = taints;
    m.to = checks.length;
    m.reply.length = 0;
    linearInto(m.reply, this.k, this.index.scList(), exits);
  }

  /** Whether `t`'s VMM's last answer came after the last taint and is `memo`'s period's. */
  holds(memo: ResumeMemo, t: Thread, taints: number): boolean {
    if (memo.answer === null) return false;
    const answer = this.last(t, taints, Number.NEGATIVE_INFINITY);
    return answer !== null && sameAnswer(memo.answer, answer, this.index);
  }

  /**
   * `t`'s VMM's last answer, if nothing was tainted since it began (`taints` so far) and, with
   * `since`, its trap came at or after that time; null when unknown.
   */
  last(t: Thread, taints: number, since: number): Answer | null {
    const m = this.marks[t.index];
    if (m === undefined || m.replyTaints !== taints || m.trapTime < since) return null;
    const trap = m.trap;
    const length = trap.length;
    if (m.reply.length !== length) return null;
    const linear = new Float64Array(length);
    for (let i = 0; i < length; i++) linear[i] = m.reply.at(i) - trap.at(i);
    const base = this.index.scBase();
    const checks = m.checks!;
    const out: number[] = [];
    for (let j = m.from; j < m.to; j += CHECK_FIELDS) {
      const o = base + checks[j]! * SC_FIELDS;
      out.push(checks[j]!, checks[j + 1]! - trap.at(o) - trap.at(o + 1));
      out.push(checks[j + 2]!, checks[j + 3]! - m.trapTime);
    }
    return { linear, checks: out };
  }
}

class AnswerMark {
  readonly trap = new AnchorArena();
  readonly reply = new AnchorArena();
  trapTaints = -1;
  trapTime = -1;
  /** Taints when the answer was given, -1 while none is. */
  replyTaints = -1;
  /** The budget-check list kept at the trap and the answer's range in it. */
  checks: number[] | null = null;
  from = -1;
  to = -1;
}

/** Whether two answers are alike (a round-robin SC's slice position compared as its sum). */
export function sameAnswer(a: Answer, b: Answer, index: FingerprintIndex): boolean {
  const x = a.linear;
  const y = b.linear;
  if (x.length !== y.length || a.checks.length !== b.checks.length) return false;
  for (let i = 0; i < a.checks.length; i++) if (a.checks[i] !== b.checks[i]) return false;
  for (let i = 0; i < x.length; i++) {
    if (x[i] === y[i]) continue;
    const o = index.splitPair(i);
    if (o < 0 || x[o]! + x[o + 1]! !== y[o]! + y[o + 1]!) return false;
  }
  return true;
}
