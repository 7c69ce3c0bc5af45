/**
 * The records a leap's last instant holds before its anchor (fast-forward.ts). A leap stands for
 * its periods from one anchor to the anchor `count` periods on, and its `idle` record for
 * `[t, until)`. But a round-robin slice can run out at the very instant a period ends: the
 * kernel entry that ends the pass writes the slice's `budget` record at that instant, before the
 * guest's deadline test makes the anchor (microkit reference §3.2: a slice ends at the first
 * kernel entry with less than MIN_BUDGET left). A run without the leap writes that record at
 * `until`; so does the leap, after its `idle` record and its passed ticks' records, so that the
 * log outside `[t, until)` is the same with and without fast-forward.
 *
 * Two ways it happens: the slice runs out where every period ends (the period is whole slices,
 * and the measured period's own record was written at its anchor's instant), or a slice walked
 * across the leap (fast-forward-slices.ts) runs out at its last instant.
 */
import type { RuntimeEvent } from "./event-log.js";
import type { SliceRun } from "./fast-forward-slices.js";
import type { Kernel } from "./kernel.js";
import type { SchedContext } from "./sched-context.js";

export type BudgetRecord = Extract<RuntimeEvent, { type: "budget" }>;

export class LeapEndRecords {
  /** Quiet slice ends recorded at `at`, the latest instant that had one. */
  private readonly latest: BudgetRecord[] = [];
  private at = -1;

  /** A thread in its declared idle loop ran out of its slice; `record` is written now. */
  exhausted(record: BudgetRecord): void {
    if (record.t !== this.at) {
      this.latest.length = 0;
      this.at = record.t;
    }
    this.latest.push(record);
  }

  /**
   * Write the records of the leap's last instant (`k.now`, after the leap) that a leap from an
   * anchor at `start` stands for: `periodic(i)` says SC `i`'s slice runs out in every period
   * (so one that ran out at `start` runs out at every period's end). They are counted already
   * (the periods' record count moved with the leap), so `recorded` is left as it was.
   */
  write(
    k: Kernel,
    start: number,
    scs: readonly SchedContext[],
    slices: readonly (SliceRun | null)[],
    periodic: (i: number) => boolean,
  ): void {
    const recorded = k.recorded;
    if (this.at === start)
      for (const r of this.latest) {
        const i = scs.findIndex((sc) => sc.name === r.sc);
        if (i >= 0 && periodic(i)) k.record({ ...r, t: k.now });
      }
    for (let i = 0; i < scs.length; i++) {
      const run = slices[i];
      if (run === null || run === undefined || run.ends === 0 || run.lastEnd !== k.now) continue;
      const sc = scs[i]!;
      const thread = k.threads[sc.owner]!.name;
      k.record({ t: k.now, type: "budget", thread, sc: sc.name, action: "exhausted", quiet: true });
    }
    k.recorded = recorded;
  }
}
