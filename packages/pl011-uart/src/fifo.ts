/**
 * A bounded FIFO of 12-bit entries with a provenance tag beside each entry (DESIGN.md
 * "Provenance"). The storage is sized for the largest depth; the active depth changes
 * with LCR_H.FEN (pl011 reference §6: FEN = 0 makes each FIFO a one-entry register).
 */
export class TaggedFifo {
  protected readonly values: Uint16Array;
  protected readonly tags: Uint32Array;
  protected head = 0;
  protected count = 0;

  constructor(readonly storage: number) {
    this.values = new Uint16Array(storage);
    this.tags = new Uint32Array(storage);
  }

  get length(): number {
    return this.count;
  }

  /** Append unless `count ≥ depth`; returns false when full. */
  push(value: number, tag: number, depth: number): boolean {
    if (this.count >= depth) return false;
    const slot = (this.head + this.count) % this.storage;
    this.values[slot] = value;
    this.tags[slot] = tag;
    this.count++;
    return true;
  }

  /** Value of the oldest entry; call only when non-empty. */
  peekValue(): number {
    return this.values[this.head]!;
  }

  peekTag(): number {
    return this.tags[this.head]!;
  }

  /** Value of the `i`-th oldest entry (0 = oldest); call only with `i < length`. */
  valueAt(i: number): number {
    return this.values[(this.head + i) % this.storage]!;
  }

  tagAt(i: number): number {
    return this.tags[(this.head + i) % this.storage]!;
  }

  /** Drop the oldest entry (after peeking at it). */
  drop(): void {
    if (this.count === 0) return;
    this.head = (this.head + 1) % this.storage;
    this.count--;
  }

  clear(): void {
    this.head = 0;
    this.count = 0;
  }
}
