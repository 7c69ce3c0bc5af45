import { describe, expect, it } from "vitest";
import { CorruptIndexError, QueueAssertionError } from "./errors.js";
import { ORIGIN_VIRTUALISER, provenanceTag } from "./provenance.js";
import { SerialQueue, type SerialQueueOptions } from "./queue.js";
import { ChunkTransfer, transferAll, transferAllColour } from "./transfer.js";

function queue(capacity: number, start = 0, options: SerialQueueOptions = {}): SerialQueue {
  const region = new Uint8Array(12);
  const words = new Uint32Array(region.buffer);
  words[0] = start;
  words[1] = start;
  return new SerialQueue(region, new Uint8Array(capacity), { capacity, ...options });
}

function drain(q: SerialQueue): { bytes: number[]; tags: number[] } {
  const bytes: number[] = [];
  const tags: number[] = [];
  for (let b = q.dequeue(); b !== undefined; b = q.dequeue()) {
    bytes.push(b);
    tags.push(q.lastTag);
  }
  return { bytes, tags };
}

/** A destination that, on each batch, lets `onBatch` act (e.g. the source's producer). */
class HookedQueue extends SerialQueue {
  onBatch: () => void = () => {};
  override enqueueBatch(
    src: Uint8Array,
    srcTags?: Uint32Array | number,
    from?: number,
    count?: number,
  ): number {
    const n = super.enqueueBatch(src, srcTags, from, count);
    this.onBatch();
    return n;
  }
}

describe("transferAll", () => {
  it("moves everything with tags, in two chunks when the source wraps", () => {
    const src = queue(4, 2, { tags: new Uint32Array(4) });
    const dst = queue(8, 0, { tags: new Uint32Array(8) });
    for (let i = 0; i < 4; i++) src.enqueue(0x30 + i, provenanceTag(2, i));
    expect(transferAll(dst, src)).toEqual({ moved: 4, dropped: 0 });
    expect(src.empty()).toBe(true);
    expect(src.head).toBe(6);
    expect(drain(dst)).toEqual({
      bytes: [0x30, 0x31, 0x32, 0x33],
      tags: [0, 1, 2, 3].map((i) => provenanceTag(2, i)),
    });
  });

  it("moves bytes whose indices wrap across 2^32 in both queues", () => {
    const src = queue(4, 2 ** 32 - 2);
    const dst = queue(8, 2 ** 32 - 1);
    src.enqueueBatch(Uint8Array.from([1, 2, 3, 4]));
    expect(transferAll(dst, src).moved).toBe(4);
    expect(src.head).toBe(2);
    expect(dst.tail).toBe(3);
    expect(drain(dst).bytes).toEqual([1, 2, 3, 4]);
  });

  it("hands UNTAGGED to a tagged destination when the source has no shadow", () => {
    const src = queue(4);
    const dst = queue(4, 0, { tags: new Uint32Array(4).fill(5) });
    src.enqueue(1);
    transferAll(dst, src);
    expect(drain(dst).tags).toEqual([0]);
  });

  it("also moves bytes the producer publishes during the transfer (re-reads the tail)", () => {
    const src = queue(8);
    const dst = new HookedQueue(new Uint8Array(12), new Uint8Array(16));
    src.enqueueBatch(Uint8Array.from([1, 2]));
    let published = false;
    dst.onBatch = () => {
      if (!published) src.enqueueBatch(Uint8Array.from([3, 4]));
      published = true;
    };
    expect(transferAll(dst, src).moved).toBe(4);
    expect(drain(dst).bytes).toEqual([1, 2, 3, 4]);
  });

  it("stops after one source capacity even if the producer never stops publishing", () => {
    const src = queue(4);
    const dst = new HookedQueue(new Uint8Array(12), new Uint8Array(64));
    src.enqueue(0);
    let next = 1;
    dst.onBatch = () => {
      src.enqueue(next++);
    };
    const result = transferAll(dst, src);
    expect(result.moved).toBe(4);
    expect(src.lengthConsumer()).toBe(1);
  });

  it("release behaviour: bytes that do not fit are dropped and counted (§10 T7)", () => {
    const src = queue(8);
    const dst = queue(4);
    src.enqueueBatch(Uint8Array.from([1, 2, 3, 4, 5, 6]));
    dst.enqueue(0);
    expect(transferAll(dst, src)).toEqual({ moved: 3, dropped: 3 });
    expect(src.empty()).toBe(true);
    expect(drain(dst).bytes).toEqual([0, 1, 2, 3]);
  });

  it("hardened behaviour: bytes that do not fit stay in the source", () => {
    const src = queue(8);
    const dst = queue(4);
    src.enqueueBatch(Uint8Array.from([1, 2, 3, 4, 5, 6]));
    dst.enqueue(0);
    expect(transferAll(dst, src, { overflow: "keep" })).toEqual({ moved: 3, dropped: 0 });
    expect(drain(src).bytes).toEqual([4, 5, 6]);
  });

  it("checked mode asserts before moving anything when the source does not fit", () => {
    const src = queue(8, 0, { checked: true });
    const dst = queue(2, 0, { checked: true });
    src.enqueueBatch(Uint8Array.from([1, 2, 3]));
    expect(() => transferAll(dst, src)).toThrow(QueueAssertionError);
    expect(src.lengthConsumer()).toBe(3);
    expect(dst.empty()).toBe(true);
  });

  it("a corrupt source tail is reported before anything moves", () => {
    const region = new Uint8Array(12);
    const src = new SerialQueue(region, new Uint8Array(4));
    const dst = queue(4);
    new DataView(region.buffer).setUint32(0, 9, true);
    expect(() => transferAll(dst, src)).toThrow(CorruptIndexError);
    expect(dst.empty()).toBe(true);
  });
});

describe("transferAllColour", () => {
  const start = Uint8Array.from([0x1b, 0x5b, 0x33, 0x31, 0x6d]);
  const end = Uint8Array.from([0x1b, 0x5b, 0x30, 0x6d]);
  const colourTag = provenanceTag(ORIGIN_VIRTUALISER, 0);

  it("wraps the source's bytes in the colour strings, colour bytes carrying the given tag", () => {
    const src = queue(4, 0, { tags: new Uint32Array(4) });
    const dst = queue(16, 0, { tags: new Uint32Array(16) });
    src.enqueue(0x68, provenanceTag(1, 0));
    src.enqueue(0x69, provenanceTag(1, 1));
    expect(transferAllColour(dst, src, start, end, colourTag)).toEqual({
      moved: 2,
      dropped: 0,
      colourDropped: 0,
    });
    const out = drain(dst);
    expect(out.bytes).toEqual([...start, 0x68, 0x69, ...end]);
    expect(out.tags).toEqual([
      ...Array(5).fill(colourTag),
      provenanceTag(1, 0),
      provenanceTag(1, 1),
      ...Array(4).fill(colourTag),
    ]);
  });

  it("release behaviour: a destination too small truncates colour and drops source bytes", () => {
    const src = queue(4);
    const dst = queue(8);
    src.enqueueBatch(Uint8Array.from([1, 2, 3]));
    expect(transferAllColour(dst, src, start, end)).toEqual({
      moved: 3,
      dropped: 0,
      colourDropped: 4,
    });
    src.enqueueBatch(Uint8Array.from([1, 2, 3]));
    expect(transferAllColour(dst, src, start, end)).toEqual({
      moved: 0,
      dropped: 3,
      colourDropped: 9,
    });
  });

  it("checked mode asserts when source plus colour exceed the destination's free space", () => {
    const src = queue(4, 0, { checked: true });
    const dst = queue(16, 0, { checked: true });
    src.enqueueBatch(Uint8Array.from([1, 2, 3, 4]));
    dst.enqueueBatch(new Uint8Array(4));
    expect(() => transferAllColour(dst, src, start, end)).toThrow(
      /source and colour do not fit destination/,
    );
  });
});

describe("transfer bounds and ChunkTransfer", () => {
  it("bound 'none' runs as the C loop: until the source is empty", () => {
    const src = queue(4);
    const dst = new HookedQueue(new Uint8Array(12), new Uint8Array(64));
    src.enqueue(0);
    let next = 1;
    dst.onBatch = () => {
      if (next < 10) src.enqueue(next++);
    };
    expect(transferAll(dst, src, { bound: "none" }).moved).toBe(10);
    expect(src.empty()).toBe(true);
  });

  it("a numeric bound consumes exactly that many source bytes", () => {
    const src = queue(8, 6);
    const dst = queue(16);
    src.enqueueBatch(Uint8Array.from([1, 2, 3, 4, 5]));
    expect(transferAll(dst, src, { bound: 3 })).toEqual({ moved: 3, dropped: 0 });
    expect(drain(src).bytes).toEqual([4, 5]);
  });

  it("steps one contiguous chunk at a time, publishing the source head after each", () => {
    const src = queue(4, 2, { tags: new Uint32Array(4) });
    const dst = queue(8, 0, { tags: new Uint32Array(8) });
    for (let i = 0; i < 4; i++) src.enqueue(0x30 + i, provenanceTag(2, i));
    const t = new ChunkTransfer().begin(dst, src, "none");
    expect(t.step()).toBe(true);
    expect([t.chunk, t.copied, src.head, dst.tail]).toEqual([2, 2, 4, 2]);
    expect(t.step()).toBe(true);
    expect([t.chunk, t.copied, src.head, t.moved]).toEqual([2, 2, 6, 4]);
    expect(t.step()).toBe(false);
    expect(t.chunk).toBe(0);
    expect(drain(dst).tags).toEqual([0, 1, 2, 3].map((i) => provenanceTag(2, i)));
  });

  it("a broken destination stops the transfer without consuming the source", () => {
    const region = new Uint8Array(12);
    const dst = new SerialQueue(region, new Uint8Array(4), { onCorruptIndex: "break" });
    const src = queue(4);
    src.enqueueBatch(Uint8Array.from([1, 2]));
    new DataView(region.buffer).setUint32(4, 9, true);
    expect(transferAll(dst, src)).toEqual({ moved: 0, dropped: 0 });
    expect(dst.broken?.field).toBe("head");
    expect(src.lengthConsumer()).toBe(2);
  });

  it("a broken source moves nothing and throws nothing", () => {
    const region = new Uint8Array(12);
    const src = new SerialQueue(region, new Uint8Array(4), { onCorruptIndex: "break" });
    const dst = queue(4);
    new DataView(region.buffer).setUint32(0, 9, true);
    expect(transferAll(dst, src)).toEqual({ moved: 0, dropped: 0 });
    expect(src.broken?.field).toBe("tail");
    expect(dst.empty()).toBe(true);
  });
});
