/**
 * What a guest wrote to (or received from) its console, kept as it grows: the bytes in one
 * resizable `ArrayBuffer` (grown in place, so nothing is copied on growth and the whole
 * transcript is a view, not a copy) and their provenance tags as runs of consecutive tags. A guest numbers its bytes in order, so a
 * transcript of any length is one run, or one per line the printk path doubles (its CR takes its
 * LF's tag): memory stays a byte per byte, whereas JS number arrays cost sixteen.
 */

const CHUNK = 1 << 16;
/** Bytes a log's buffer may grow to in place; past it, the bytes move to a larger buffer. */
const IN_PLACE = 2 ** 30;

/** `ArrayBuffer` with ES2024's resizable buffers (Node 20). */
interface Resizable extends ArrayBuffer {
  resize(byteLength: number): void;
  readonly maxByteLength: number;
}
const ResizableBuffer = ArrayBuffer as unknown as new (
  byteLength: number,
  options: { maxByteLength: number },
) => Resizable;

/** Transcripts end to end (`TaggedLog.joined`). */
export interface JoinedLogs {
  readonly bytes: Uint8Array;
  /** Made on first read and kept. */
  readonly tags: Uint32Array;
  /** The tags in pieces, none kept. */
  tagChunks(): Iterable<Uint32Array>;
}

export class TaggedLog {
  private buffer = new ResizableBuffer(0, { maxByteLength: IN_PLACE });
  private bytes = new Uint8Array(this.buffer);
  private count = 0;
  /** Index at which each run of consecutive tags starts, and the run's first tag. */
  private readonly runStarts: number[] = [];
  private readonly runTags: number[] = [];
  private lastTag = -1;

  get length(): number {
    return this.count;
  }

  push(byte: number, tag: number): void {
    if (this.count === this.bytes.length) this.grow();
    this.bytes[this.count] = byte;
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
    return this.bytes[i]!;
  }

  /** The bytes so far, as a view of the log's buffer (valid until the log outgrows it in place). */
  view(): Uint8Array {
    return new Uint8Array(this.buffer, 0, this.count);
  }

  private grow(): void {
    const size = Math.max(CHUNK, this.bytes.length * 2);
    if (size <= this.buffer.maxByteLength) this.buffer.resize(size);
    else {
      const larger = new ResizableBuffer(size, { maxByteLength: this.buffer.maxByteLength * 2 });
      new Uint8Array(larger).set(this.bytes);
      this.buffer = larger;
    }
    this.bytes = new Uint8Array(this.buffer, 0, size);
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
    out.set(this.bytes.subarray(0, this.count), at);
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
    const starts = this.runStarts;
    let r = 0; // the run holding the next byte (the last one starting at or before it)
    for (let from = 0; from < this.count; from += size) {
      const out = new Uint32Array(Math.min(size, this.count - from));
      for (let i = 0; i < out.length; i++) {
        const at = from + i;
        while (r + 1 < starts.length && starts[r + 1]! <= at) r++;
        out[i] = (this.runTags[r]! + (at - starts[r]!)) >>> 0;
      }
      yield out;
    }
  }

  /**
   * The logs end to end: the bytes as one array; the tags as one array made on first read, or
   * in pieces.
   */
  static joined(logs: readonly TaggedLog[]): JoinedLogs {
    const length = logs.reduce((n, l) => n + l.count, 0);
    // One log (one boot) is its own view; several are copied end to end.
    const bytes = logs.length === 1 ? logs[0]!.view() : new Uint8Array(length);
    let at = 0;
    if (logs.length !== 1) {
      for (const l of logs) {
        l.copyBytes(bytes, at);
        at += l.count;
      }
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
