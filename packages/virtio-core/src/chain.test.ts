import { describe, expect, it } from "vitest";
import { type BufferSegment, copyFromSegments, copyToSegments } from "./chain.js";
import { DATA_BASE, makeMemory } from "./testing-internal/fixtures.js";

const seg = (addr: number, len: number, writable = false): BufferSegment => ({
  addr,
  len,
  writable,
  inRam: true,
});

describe("chain copy helpers", () => {
  it("copy across segment boundaries from a logical offset, tags included", () => {
    const memory = makeMemory(true);
    memory.write(DATA_BASE, Uint8Array.of(1, 2, 3), 11);
    memory.write(DATA_BASE + 0x100, Uint8Array.of(4, 5, 6, 7), 22);
    const segments = [seg(DATA_BASE, 3), seg(DATA_BASE + 0x100, 4)];
    const out = new Uint8Array(4);
    const tags = new Uint32Array(4);
    expect(copyFromSegments(memory, segments, 2, out, tags)).toBe(4);
    expect([...out]).toEqual([3, 4, 5, 6]);
    expect([...tags]).toEqual([11, 22, 22, 22]);
    expect(copyFromSegments(memory, segments, 6, new Uint8Array(8))).toBe(1);
  });

  it("write into segments from a logical offset and stop at their end", () => {
    const memory = makeMemory(true);
    const segments = [seg(DATA_BASE, 2, true), seg(DATA_BASE + 0x100, 2, true)];
    expect(copyToSegments(memory, segments, 1, Uint8Array.of(9, 8, 7, 6), 5)).toBe(3);
    expect([...memory.read(DATA_BASE, 2)]).toEqual([0, 9]);
    expect([...memory.read(DATA_BASE + 0x100, 2)]).toEqual([8, 7]);
    expect(memory.tagAt(DATA_BASE + 0x101)).toBe(5);
  });
});
