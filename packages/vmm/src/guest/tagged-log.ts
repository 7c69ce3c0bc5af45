/**
 * What a guest wrote to (or received from) its console, kept as it grows: the bytes in
 * fixed-size chunks of a `Uint8Array` (one byte each, nothing copied on growth) and their
 * provenance tags as runs of consecutive tags. A guest numbers its bytes in order, so a
 * transcript of any length is one run, or one per line the printk path doubles (its CR takes its
 * LF's tag): memory stays a byte per byte, whereas JS number arrays cost sixteen.
 */

const CHUNK_BITS = 16;
const CHUNK = 1 << CHUNK_BITS;
const MASK = CHUNK - 1;

/** Transcripts end to end (`TaggedLog.joined`). */
export interface JoinedLogs {
  readonly bytes: Uint8Array;
  /** Made on first read and kept. */
  readonly tags: Uint32Array;
  /** The tags in pieces, none kept. */
  tagChunks(): Iterable<Uint32Array>;
}

export class TaggedLog {
  private readonly chunks: Uint8Array[] = [];
  private count = 0;
  /** Index at which each run of consecutive tags starts, and the run's first tag. */
  private readonly runStarts: number[] = [];
  private readonly runTags: number[] = [];
  private lastTag = -1;

  get length(): number {
    return this.count;
  }

  push(byte: number, tag: number): void {
    const k = this.count & MASK;
    if (k === 0) this.chunks.push(new Uint8Array(CHUNK));
    this.chunks[this.chunks.length - 1]![k] = byte;
    if (this.count === 0 || tag !== (this.lastTag + 1) >>> 0) {
      this.runStarts.push(this.count);
      this.runTags.push(tag);
    }
    this.lastTag = tag;
    this.count++;
  }

  pushAll(bytes: ArrayLike<number>, tags: ArrayLike<number>): void {
    for (let i = 0; i < bytes.length; i++) this.push(bytes[i]!, tags[i]!);
  }

  byteAt(i: number): number {
    return this.chunks[i >>> CHUNK_BITS]![i & MASK]!;
  }

  tagAt(i: number): number {
    let lo = 0;
    let hi = this.runStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (this.runStarts[mid]! <= i) lo = mid;
      else hi = mid - 1;
    }
    return (this.runTags[lo]! + (i - this.runStarts[lo]!)) >>> 0;
  }

  /** The bytes, in order, copied into `out` at `at`. */
  copyBytes(out: Uint8Array, at = 0): void {
    this.chunks.forEach((c, n) => {
      out.set(c.subarray(0, Math.min(CHUNK, this.count - n * CHUNK)), at + n * CHUNK);
    });
  }

  /** The tags, in order, written into `out` at `at`. */
  copyTags(out: Uint32Array, at = 0): void {
    for (let r = 0; r < this.runStarts.length; r++) {
      const end = this.runStarts[r + 1] ?? this.count;
      const first = this.runTags[r]!;
      for (let i = this.runStarts[r]!; i < end; i++) out[at + i] = first + (i - this.runStarts[r]!);
    }
  }

  /** The tags, in order, in arrays of at most `size` (for a reader that must not hold all). */
  *tagChunks(size = CHUNK): Generator<Uint32Array> {
    for (let from = 0; from < this.count; from += size) {
      const out = new Uint32Array(Math.min(size, this.count - from));
      for (let i = 0; i < out.length; i++) out[i] = this.tagAt(from + i);
      yield out;
    }
  }

  /**
   * The logs end to end: the bytes as one array; the tags as one array made on first read, or
   * in pieces.
   */
  static joined(logs: readonly TaggedLog[]): JoinedLogs {
    const length = logs.reduce((n, l) => n + l.count, 0);
    const bytes = new Uint8Array(length);
    let at = 0;
    for (const l of logs) {
      l.copyBytes(bytes, at);
      at += l.count;
    }
    let tags: Uint32Array | undefined;
    return {
      bytes,
      get tags() {
        if (tags === undefined) {
          tags = new Uint32Array(length);
          let at = 0;
          for (const l of logs) {
            l.copyTags(tags, at);
            at += l.count;
          }
        }
        return tags;
      },
      *tagChunks() {
        for (const l of logs) yield* l.tagChunks();
      },
    };
  }
}
