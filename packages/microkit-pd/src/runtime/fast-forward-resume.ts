/**
 * A thread's last measured idle period, kept across the times it waits for the core
 * (fast-forward.ts). Guests of one priority share the core in round-robin slices and each slice
 * ends in the middle of a pass, so the state never repeats from one round to the next and
 * every slice began with a fresh measurement of two periods. A waiting thread's position in its
 * step cannot change what the running one does before the core changes hands again, which no
 * leap crosses (a slice end where the thread would not get the core straight back stops it,
 * fast-forward-slices.ts). So when a thread's state at an idle check is the one of its last
 * period that became a leap — waiting threads' step positions left out — with the same idle
 * loop and the same repeatable VMM answers, that period stands in for the earlier of the two a
 * leap needs: one measured period then suffices. And as one state runs one period (the method of
 * fast-forward.ts), the memo, which keeps what a leap reads of its period (its changes, its slice
 * profiles and timer expiries), stands for both periods before any is measured, unless a slice
 * runs out in it (where in the period it does depends on the slice position, which only measuring
 * fixes).
 */
import type { IdleLoop } from "../program.js";
import type { Anchor, AnchorArena } from "./fast-forward-arena.js";
import type { SliceProfile } from "./fast-forward-slices.js";
import type { Leap } from "./fast-forward-window.js";
import type { Thread } from "./tcb.js";

export interface ResumeMemo {
  /** The idle loop of the period (the thread has not left it since). */
  readonly loop: IdleLoop;
  /** `FastForward`'s count of changes to its repeatable answers when the memo was taken. */
  readonly contracts: number;
  /** The state at the period's start, without waiting threads' step positions. */
  readonly shape: Float64Array;
  /** The period's change of every linear quantity. */
  readonly delta: readonly number[];
  /** Each SC's slice profile over the period (fast-forward-slices.ts). */
  readonly profiles: readonly (SliceProfile | null)[];
  /** The period's timer expiries, as offsets from its start (ticks.ts `Ticks.offsets`). */
  readonly expiries: ReadonlySet<number> | null;
}

/** Each thread's memo (the last period of one anchor that became a leap). */
export class ResumeMemos {
  private readonly memos = new Map<Thread, ResumeMemo>();

  /** `t`'s period ending at `anchor` became `leap`. */
  take(t: Thread, anchor: Anchor, arena: AnchorArena, contracts: number, leap: Leap) {
    // The old memo's array is only ever read by `find`: refilled in place when it fits, so a
    // leap allocates no typed array (each has a backing store of its own).
    const old = this.memos.get(t)?.shape;
    const shape =
      old !== undefined && old.length === anchor.prefix
        ? arena.copyInto(anchor.at, old)
        : arena.copy(anchor.at, anchor.prefix);
    const { delta } = leap;
    const profiles = leap.window.profiles(delta);
    const expiries = leap.expiries();
    this.memos.set(t, { loop: anchor.loop, contracts, shape, delta, profiles, expiries });
  }

  /**
   * `t`'s memo when it may stand in for the period before the one from `a` to `anchor` (both of
   * `t`'s loop and of one shape): same loop, same repeatable answers, same state.
   */
  find(t: Thread, anchor: Anchor, arena: AnchorArena, contracts: number): ResumeMemo | null {
    const memo = this.memos.get(t);
    if (memo === undefined || memo.loop !== anchor.loop || memo.contracts !== contracts)
      return null;
    const same = anchor.prefix === memo.shape.length && arena.matches(anchor.at, memo.shape);
    return same ? memo : null;
  }
}
