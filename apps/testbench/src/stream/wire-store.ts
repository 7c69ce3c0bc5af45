/**
 * The UART's TX wire as a run produced it, in chunks of typed arrays and no object per
 * character (DESIGN.md "Observers stream"): value (1 byte), provenance tag (4), end time as an
 * offset from its chunk's first end (4; the chunk falls back to absolute doubles, 8, when one does
 * not fit) and frame length, end minus start (4; one that is not a whole ns below 2^32 - 1 is
 * kept aside). Every time reads back exactly as pushed: 13 bytes per character, not 21.
 */

/** A character that left the UART's TX line. */
export interface WireRecord {
  readonly byte: number;
  readonly tag: number;
  /** Start-bit and stop-bit-end times, ns. */
  readonly start: number;
  readonly end: number;
}

/** Read access to a wire, whoever stores it. */
export interface WireView {
  readonly length: number;
  byte(i: number): number;
  tag(i: number): number;
  start(i: number): number;
  end(i: number): number;
}

/** Characters per chunk: at 115,200 baud about 1.4 s of a busy wire, so end offsets fit. */
const CHUNK_BITS = 14;
const CHUNK = 1 << CHUNK_BITS;
const MASK = CHUNK - 1;
/** Frame length marking a start kept aside. */
const ASIDE = 0xffff_ffff;
const U32 = 2 ** 32;

interface Chunk {
  readonly bytes: Uint8Array;
  readonly tags: Uint32Array;
  /** End minus start, ns ({@link ASIDE}: see `starts`). */
  readonly lengths: Uint32Array;
  /** The first end of the chunk, ns. */
  readonly base: number;
  /** Ends as offsets from `base`, or absolute once one did not fit. */
  ends: Uint32Array | Float64Array;
}

function chunk(base: number): Chunk {
  return {
    bytes: new Uint8Array(CHUNK),
    tags: new Uint32Array(CHUNK),
    lengths: new Uint32Array(CHUNK),
    base,
    ends: new Uint32Array(CHUNK),
  };
}

export class WireStore implements WireView {
  private readonly chunks: Chunk[] = [];
  private count = 0;
  /** Starts whose frame length is not a whole ns in [0, 2^32 - 1), by character index. */
  private readonly starts = new Map<number, number>();

  /** A store holding `records` (synthetic runs, tests). */
  static of(records: Iterable<WireRecord>): WireStore {
    const store = new WireStore();
    for (const w of records) store.push(w.byte, w.tag, w.start, w.end);
    return store;
  }

  get length(): number {
    return this.count;
  }

  push(byte: number, tag: number, start: number, end: number): void {
    const k = this.count & MASK;
    if (k === 0) this.chunks.push(chunk(end));
    const c = this.chunks[this.chunks.length - 1]!;
    c.bytes[k] = byte;
    c.tags[k] = tag;
    const length = end - start;
    if (Number.isInteger(length) && length >= 0 && length < ASIDE && end - length === start)
      c.lengths[k] = length;
    else {
      c.lengths[k] = ASIDE;
      this.starts.set(this.count, start);
    }
    if (c.ends instanceof Uint32Array) {
      const offset = end - c.base;
      if (Number.isInteger(offset) && offset >= 0 && offset < U32 && c.base + offset === end)
        c.ends[k] = offset;
      else {
        const absolute = new Float64Array(CHUNK);
        for (let j = 0; j < k; j++) absolute[j] = c.base + c.ends[j]!;
        c.ends = absolute;
      }
    }
    if (c.ends instanceof Float64Array) c.ends[k] = end;
    this.count++;
  }

  byte(i: number): number {
    return this.chunks[i >>> CHUNK_BITS]!.bytes[i & MASK]!;
  }
  tag(i: number): number {
    return this.chunks[i >>> CHUNK_BITS]!.tags[i & MASK]!;
  }
  start(i: number): number {
    const length = this.chunks[i >>> CHUNK_BITS]!.lengths[i & MASK]!;
    return length === ASIDE ? this.starts.get(i)! : this.end(i) - length;
  }

  end(i: number): number {
    const c = this.chunks[i >>> CHUNK_BITS]!;
    const e = c.ends[i & MASK]!;
    return c.ends instanceof Uint32Array ? c.base + e : e;
  }

  /** The bytes alone, in order (the terminal's text). */
  bytes(): Uint8Array {
    const out = new Uint8Array(this.count);
    this.chunks.forEach((c, n) => {
      out.set(c.bytes.subarray(0, Math.min(CHUNK, this.count - n * CHUNK)), n * CHUNK);
    });
    return out;
  }

  /** The records as objects (for callers that want an array; costs one object per byte). */
  records(): WireRecord[] {
    const out: WireRecord[] = new Array(this.count);
    for (let i = 0; i < this.count; i++)
      out[i] = { byte: this.byte(i), tag: this.tag(i), start: this.start(i), end: this.end(i) };
    return out;
  }
}

/** A plain array of records seen through {@link WireView}. */
export function recordsView(records: readonly WireRecord[]): WireView {
  return {
    length: records.length,
    byte: (i) => records[i]!.byte,
    tag: (i) => records[i]!.tag,
    start: (i) => records[i]!.start,
    end: (i) => records[i]!.end,
  };
}
