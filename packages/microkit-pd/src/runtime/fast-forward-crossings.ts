/**
 * Where the slice boundaries a leap crosses fall (fast-forward-slices.ts `walkSlice`): in order,
 * each with its instant and the index of the period it falls in. A walk whose slice position
 * comes round again repeats what it did since (the walk is a function of that position alone),
 * so it jumps whole cycles: their crossings are kept once, with how many more times they repeat.
 * An idle stretch of hours crosses millions of slices; the list stays as long as one cycle.
 */
export class SliceCrossings {
  /** Instants (ns) and period indices of the crossings kept. */
  private readonly at: number[] = [];
  private readonly in: number[] = [];
  /**
   * Kept entries `[from, to)` repeat `times` more times right after entry `to − 1`, each
   * repetition `periods` periods after the one before; kept entries from `to` on come after.
   */
  private cycle: { from: number; to: number; times: number; periods: number } | null = null;

  /** `start`: when the walk's first period starts; `period`: its length (ns). */
  constructor(
    readonly start: number,
    readonly period: number,
  ) {}

  /** A slice runs out in period `index` of the walk, `when` ns into it. */
  add(index: number, when: number): void {
    this.at.push(this.start + index * this.period + when);
    this.in.push(index);
  }

  /** Crossings kept so far (a mark for {@link repeat}). */
  get kept(): number {
    return this.at.length;
  }

  /** The crossings kept from mark `from` on repeat `times` more times, `periods` periods apart. */
  repeat(from: number, times: number, periods: number): void {
    if (this.cycle !== null) throw new Error("SliceCrossings: one cycle per walk");
    if (times > 0) this.cycle = { from, to: this.at.length, times, periods };
  }

  /** How many crossings fall in the walk's first `periods` periods. */
  before(periods: number): number {
    const c = this.cycle;
    if (c === null) return lowerBound(this.in, 0, this.in.length, periods);
    let n = lowerBound(this.in, 0, c.to, periods);
    if (n < c.to) return n;
    // Repetition j (0-based) of kept entry r falls in period in[r] + (j + 1) × c.periods.
    for (let r = c.from; r < c.to; r++) {
      const reps = Math.ceil((periods - this.in[r]!) / c.periods) - 1;
      n += Math.max(0, Math.min(c.times, reps));
    }
    if (n < c.to + c.times * (c.to - c.from)) return n;
    return n + lowerBound(this.in, c.to, this.in.length, periods) - c.to;
  }

  /** The instant of crossing `i` (0-based, in order). */
  instant(i: number): number {
    const c = this.cycle;
    if (c === null || i < c.to) return this.at[i]!;
    const size = c.to - c.from;
    const repeated = c.times * size;
    if (i >= c.to + repeated) return this.at[i - repeated]!;
    const k = i - c.to;
    return this.at[c.from + (k % size)]! + (Math.floor(k / size) + 1) * c.periods * this.period;
  }
}

/** The first index in `[lo, hi)` of the ascending `xs` whose value is not below `x`. */
function lowerBound(xs: readonly number[], lo: number, hi: number, x: number): number {
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (xs[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
