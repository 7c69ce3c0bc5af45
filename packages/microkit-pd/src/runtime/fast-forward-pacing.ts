/**
 * When fast-forward fingerprints (fast-forward.ts). A fingerprint costs as much as dozens of
 * simulated trap cycles, so while guests are busy — a short idle stretch between bursts of
 * output, ended by the next taint before any period could be measured — taking them is pure
 * loss. Pacing only chooses *when* a measurement starts, never what a leap applies, so every
 * choice here is exact: the simulated passes in between are the same passes a measurement
 * would have seen.
 *
 * The rule: a measurement starts after `need` consecutive untainted idle checks; a measurement
 * that ends with a taint before any leap doubles `need` (up to {@link MAX_NEED}); a leap resets
 * it to 1, the cost of a fresh start after one quiet check as before.
 */

/** Untainted checks required at most before a measurement starts (about 0.5 ms of WFI cycles). */
export const MAX_NEED = 256;

export class AnchorPacing {
  /** Consecutive untainted checks required before the next measurement starts. */
  need = 1;
  private quiet = 0;
  /** Fingerprints were taken since the last taint, and no leap came of them. */
  private measuring = false;
  /** The thread of the last check, and how many checks in a row were its. */
  private thread: object | null = null;
  private run = 0;

  /** A check found the history tainted; `measured`: fingerprints had been taken since. */
  tainted(measured: boolean): void {
    this.quiet = 0;
    if (measured && this.measuring) this.need = Math.min(MAX_NEED, this.need * 2);
    this.measuring = false;
  }

  /** An untainted check with no measurement under way: whether to start one now. */
  start(): boolean {
    if (++this.quiet < this.need) return false;
    this.measuring = true;
    return true;
  }

  /**
   * The check is `t`'s: false when the core has just changed hands after a run of two or more
   * checks by another thread, whose history then ends (the pass before this check holds the
   * hand-over itself). Threads that alternate at every check keep one history.
   */
  sameHands(t: object): boolean {
    if (t === this.thread) {
      this.run++;
      return true;
    }
    const afterRun = this.run >= 2;
    this.thread = t;
    this.run = 1;
    return !afterRun;
  }

  /** A leap was applied: measurements pay here, so start them early again. */
  leapt(): void {
    this.need = 1;
    this.measuring = false;
  }
}
