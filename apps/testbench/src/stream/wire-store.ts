/**
 * The UART's TX wire as a run produced it, in growable chunks of typed arrays: 21 bytes per
 * character (value, provenance tag, start and end times) and no object per character, so a
 * long run's wire costs a fixed, small amount per byte (DESIGN.md "Observers stream").
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

const CHUNK_BITS = 16;
const CHUNK = 1 << CHUNK_BITS;
const MASK = CHUNK - 1;

interface Chunk {
  readonly bytes: Uint8Array;
  readonly tags: Uint32Array;
  readonly starts: Float64Array;
  readonly ends: Float64Array;
}

function chunk(): Chunk {
  return {
    bytes: new Uint8Array(CHUNK),
    tags: new Uint32Array(CHUNK),
    starts: new Float64Array(CHUNK),
    ends: new Float64Array(CHUNK),
  };
}

export class WireStore implements WireView {
  private readonly chunks: Chunk[] = [];
  private count = 0;

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
    if (k === 0) this.chunks.push(chunk());
    const c = this.chunks[this.chunks.length - 1]!;
    c.bytes[k] = byte;
    c.tags[k] = tag;
    c.starts[k] = start;
    c.ends[k] = end;
    this.count++;
  }

  byte(i: number): number {
    return this.chunks[i >>> CHUNK_BITS]!.bytes[i & MASK]!;
  }
  tag(i: number): number {
    return this.chunks[i >>> CHUNK_BITS]!.tags[i & MASK]!;
  }
  start(i: number): number {
    return this.chunks[i >>> CHUNK_BITS]!.starts[i & MASK]!;
  }
  end(i: number): number {
    return this.chunks[i >>> CHUNK_BITS]!.ends[i & MASK]!;
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
