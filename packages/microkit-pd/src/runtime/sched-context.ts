/**
 * seL4 MCS scheduling contexts as Microkit configures them (reference §3.2): a round-robin SC
 * when budget == period, otherwise a sporadic server with at most two refills (0 extra refills,
 * constant-bandwidth variant).
 */

/** One sporadic refill: `amount` ns of budget usable from `time`. */
export interface Refill {
  time: number;
  amount: number;
}

export class SchedContext {
  /** budget == period: the budget is a time slice and the SC never throttles. */
  readonly roundRobin: boolean;
  /** Sporadic refills, head first; sum = budget (unused for round-robin SCs). */
  readonly refills: Refill[];
  /** Round-robin: slice used and committed so far, cumulative across blocking (§3.2). */
  sliceUsed = 0;
  /** Time charged while current and not yet committed. */
  consumed = 0;
  /** Times it became the running SC, and times it was exhausted (fast-forward bookkeeping). */
  activations = 0;
  exhaustions = 0;
  /** Index of the thread whose own SC this is (-1 until the kernel assigns it). */
  owner = -1;

  constructor(
    readonly name: string,
    readonly budget: number,
    readonly period: number,
    readonly minBudget: number,
  ) {
    this.roundRobin = budget >= period;
    this.refills = [{ time: 0, amount: budget }];
  }

  /** What the SC can still run right now before it is exhausted. */
  capacity(): number {
    if (this.roundRobin) return this.budget - this.sliceUsed - this.consumed;
    return this.refills[0]!.amount - this.consumed;
  }

  /**
   * A slice ends at the first kernel entry at which less than MIN_BUDGET would remain, and at
   * the latest when it is fully used (§3.2 "Min budget").
   */
  sufficient(): boolean {
    const left = this.capacity();
    return left > 0 && left >= this.minBudget;
  }

  /** Runnable only if the head refill is due and large enough (§3.2 rule 4). */
  ready(now: number): boolean {
    if (this.roundRobin) return true;
    const head = this.refills[0]!;
    return head.time <= now && head.amount >= this.minBudget && head.amount > 0;
  }

  /** When a throttled SC becomes ready again. */
  releaseTime(): number {
    return this.roundRobin ? 0 : this.refills[0]!.time;
  }

  /** Commit the time consumed while current (the SC stops being the running one). */
  commit(): void {
    const used = this.consumed;
    this.consumed = 0;
    if (used <= 0) return;
    if (this.roundRobin) this.sliceUsed += used;
    else this.charge(used);
  }

  /**
   * Exhaustion: round-robin refills the whole slice (the thread goes to the tail of its queue);
   * a sporadic SC is charged and its next refill postponed (§3.1 `endTimeslice`).
   */
  exhaust(): void {
    this.exhaustions++;
    if (this.roundRobin) {
      this.consumed = 0;
      this.sliceUsed = 0;
    } else {
      this.commit();
    }
  }

  /** §3.2 rule 1: charge `u` ns against the refills, moving spent budget one period later. */
  private charge(u: number): void {
    const r = this.refills;
    let left = u;
    while (left > 0 && r[0]!.amount <= left) {
      const head = r[0]!;
      left -= head.amount;
      if (r.length === 1) {
        head.time += this.period;
      } else {
        r.shift();
        this.schedule(head.time + this.period, head.amount);
      }
    }
    if (left > 0) {
      const head = r[0]!;
      this.schedule(head.time + this.period, left);
      head.amount -= left;
      head.time += left;
    }
    while (r.length > 1 && r[0]!.amount < this.minBudget) {
      const head = r.shift()!;
      const next = r[0]!;
      next.amount += head.amount;
      next.time -= head.amount;
    }
  }

  /** §3.2 rule 2: add `amount` at `time`, keeping at most two refills. */
  private schedule(time: number, amount: number): void {
    const r = this.refills;
    const tail = r[r.length - 1]!;
    if (r.length === 1 && tail.amount === 0) {
      tail.time = time;
      tail.amount = amount;
    } else if (tail.time + tail.amount >= time) {
      tail.amount += amount;
    } else if (r.length < 2) {
      r.push({ time, amount });
    } else {
      tail.time = time - tail.amount;
      tail.amount += amount;
    }
  }

  /**
   * §3.2 rule 3, applied whenever this SC becomes the running one: a due head refill starts now,
   * and refills that overlap it merge into it.
   */
  becomeCurrent(now: number): void {
    this.activations++;
    if (this.roundRobin) return;
    const r = this.refills;
    const head = r[0]!;
    if (head.time > now) return;
    head.time = now;
    while (r.length > 1 && r[1]!.time <= head.time + head.amount) {
      const next = r.splice(1, 1)[0]!;
      head.amount += next.amount;
    }
  }

  /** A copy of the refill list, for inspection and tests. */
  snapshot(): Refill[] {
    return this.refills.map((refill) => ({ ...refill }));
  }
}
