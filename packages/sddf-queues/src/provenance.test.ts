import { describe, expect, it } from "vitest";
import {
  ORIGIN_CLIENT_FIRST,
  ORIGIN_CLIENT_LAST,
  ORIGIN_DEVICE,
  ORIGIN_KEYBOARD,
  ORIGIN_VIRTUALISER,
  provenanceTag,
  tagOrigin,
  tagSeq,
  UNTAGGED,
} from "./provenance.js";
import { SerialQueue } from "./queue.js";
import { provenanceShadow } from "./shadow.js";

describe("provenance tag encoding", () => {
  it("puts the origin in bits 31..24 and the sequence number in bits 23..0", () => {
    const tag = provenanceTag(ORIGIN_KEYBOARD, 0x123456);
    expect(tag).toBe(0xfe12_3456);
    expect(tagOrigin(tag)).toBe(ORIGIN_KEYBOARD);
    expect(tagSeq(tag)).toBe(0x123456);
  });

  it("keeps only the low 24 bits of the sequence number", () => {
    expect(provenanceTag(1, 0x0100_0005)).toBe(provenanceTag(1, 5));
  });

  it("gives distinct, non-client origins to the keyboard, virtualiser and device", () => {
    const special = [ORIGIN_KEYBOARD, ORIGIN_VIRTUALISER, ORIGIN_DEVICE];
    expect(new Set(special).size).toBe(3);
    for (const o of special) expect(o > ORIGIN_CLIENT_LAST).toBe(true);
    expect(tagOrigin(UNTAGGED)).toBeLessThan(ORIGIN_CLIENT_FIRST);
  });
});

describe("provenanceShadow", () => {
  it("returns the same tag array for the same bytes, so both ends share provenance", () => {
    const buffer = new ArrayBuffer(0x3000);
    const a = provenanceShadow(buffer, 0x1000, 0x1000);
    expect(provenanceShadow(buffer, 0x1000, 0x800)).toBe(a);
    expect(provenanceShadow(buffer, 0x2000, 0x1000)).not.toBe(a);
    expect(provenanceShadow(new ArrayBuffer(0x3000), 0x1000, 0x1000)).not.toBe(a);
  });

  it("refuses to grow an existing shadow", () => {
    const buffer = new ArrayBuffer(64);
    provenanceShadow(buffer, 0, 16);
    expect(() => provenanceShadow(buffer, 0, 32)).toThrow(
      expect.objectContaining({ code: "BAD_TAGS" }),
    );
  });

  it("refuses a negative, fractional or out-of-buffer range with BAD_TAGS, caching nothing", () => {
    const buffer = new ArrayBuffer(64);
    for (const [offset, length] of [
      [0, -1],
      [0, Number.NaN],
      [0, 2 ** 40],
      [-4, 4],
      [1.5, 4],
      [60, 8],
    ] as const) {
      expect(() => provenanceShadow(buffer, offset, length)).toThrow(
        expect.objectContaining({ code: "BAD_TAGS" }),
      );
    }
    expect(provenanceShadow(buffer, 0, 64)).toHaveLength(64);
  });

  it("is shared memory when the region is", () => {
    const shadow = provenanceShadow(new SharedArrayBuffer(16), 0, 16);
    expect(shadow.buffer).toBeInstanceOf(SharedArrayBuffer);
  });

  it("fromRegions refuses regions that do not fit their buffer with a typed error", () => {
    const memory = new ArrayBuffer(0x2000);
    const inside = { buffer: memory, byteOffset: 0, size: 0x1000 };
    expect(() =>
      SerialQueue.fromRegions({ buffer: memory, byteOffset: 0x1ffc, size: 12 }, inside),
    ).toThrow(expect.objectContaining({ code: "BAD_QUEUE_REGION" }));
    expect(() =>
      SerialQueue.fromRegions(inside, { buffer: memory, byteOffset: 0x1800, size: 0x1000 }),
    ).toThrow(expect.objectContaining({ code: "BAD_CAPACITY" }));
    expect(() =>
      SerialQueue.fromRegions(inside, { buffer: memory, byteOffset: Number.NaN, size: 0x1000 }),
    ).toThrow(expect.objectContaining({ code: "BAD_CAPACITY" }));
  });

  it("lets two handles from fromRegions see each other's tags", () => {
    const memory = new ArrayBuffer(0x2000);
    const queueRegion = { buffer: memory, byteOffset: 0, size: 0x1000 };
    const dataRegion = { buffer: memory, byteOffset: 0x1000, size: 0x1000 };
    const producer = SerialQueue.fromRegions(queueRegion, dataRegion);
    const consumer = SerialQueue.fromRegions(queueRegion, dataRegion);
    producer.enqueue(0x41, provenanceTag(3, 9));
    expect(consumer.dequeue()).toBe(0x41);
    expect(consumer.lastTag).toBe(provenanceTag(3, 9));
    expect(
      SerialQueue.fromRegions(queueRegion, dataRegion, { provenance: false }).tags,
    ).toBeUndefined();
  });
});
