import type { IdleLoop } from "../program.js";

/**
 * Where fast-forward keeps its anchors' numbers (fast-forward.ts): one growing buffer for every
 * fingerprint and every set of linear quantities of the current history, emptied when the
 * history starts afresh. Taking an anchor then allocates no array of its own: at tens of
 * thousands of anchors per run, per-anchor typed arrays (each its own backing store) cost more
 * than the fingerprint itself.
 */
export class AnchorArena {
  private data = new Float64Array(4096);
  private words = new Int32Array(this.data.buffer);
  /** Numbers written so far; a record is a range [at, at + length). */
  length = 0;

  push(v: number): void {
    if (this.length === this.data.length) this.grow();
    // -0 and 0 are one value to `!==`; they are written alike so that their hashes agree too.
    this.data[this.length++] = v === 0 ? 0 : v;
  }

  /** The number at `i`. */
  at(i: number): number {
    return this.data[i]!;
  }

  /** FNV-1a over the bits of [from, to) (a bucket key; equality is checked in full). */
  hash(from: number, to: number, seed: number): number {
    const words = this.words;
    let h = seed;
    for (let i = from * 2, n = to * 2; i < n; i++) h = Math.imul(h ^ words[i]!, 0x01000193);
    return h >>> 0;
  }

  /** Whether the `n` numbers at `a` and at `b` are equal. */
  same(a: number, b: number, n: number): boolean {
    const data = this.data;
    for (let i = 0; i < n; i++) if (data[a + i] !== data[b + i]) return false;
    return true;
  }

  /** A copy of the `n` numbers at `a`. */
  copy(a: number, n: number): Float64Array {
    return this.data.slice(a, a + n);
  }

  /** The `into.length` numbers at `a`, written into `into` (returned). */
  copyInto(a: number, into: Float64Array): Float64Array {
    const data = this.data;
    for (let i = 0; i < into.length; i++) into[i] = data[a + i]!;
    return into;
  }

  /** Whether the numbers at `a` are those of `values`. */
  matches(a: number, values: Float64Array): boolean {
    const data = this.data;
    for (let i = 0; i < values.length; i++) if (data[a + i] !== values[i]) return false;
    return true;
  }

  /** Keep only the numbers [from, to), moved to the start. */
  keep(from: number, to: number): void {
    this.data.copyWithin(0, from, to);
    this.length = to - from;
  }

  private grow(): void {
    const data = new Float64Array(this.data.length * 2);
    data.set(this.data);
    this.data = data;
    this.words = new Int32Array(data.buffer);
  }
}

/** One anchor of fast-forward's history (fast-forward.ts). */
export interface Anchor {
  /**
   * Where its numbers are in the arena: the shape (everything that must be equal for two
   * anchors to be the same phase), then the linear quantities (those that may move by a
   * constant amount per period, `linearInto`).
   */
  at: number;
  readonly shapeLength: number;
  /** The shape's length without the step positions of threads waiting in the ready queues. */
  readonly prefix: number;
  readonly linearLength: number;
  readonly hash: number;
  /** The shape and where every round-robin slice stands: equal when the whole state repeats. */
  readonly full: number;
  /** The idle loop whose check this anchor is. */
  readonly loop: IdleLoop;
  /** Budget checks since the previous anchor (`CHECK_FIELDS` numbers each); null if too many. */
  readonly checks: number[] | null;
  /** Kernel timer expiries since the previous anchor (times); null if unknown (ticks.ts). */
  readonly expiries: number[] | null;
}
