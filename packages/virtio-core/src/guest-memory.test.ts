import { describe, expect, it } from "vitest";
import { GuestMemoryError } from "./errors.js";
import { GuestMemory } from "./guest-memory.js";

const BASE = 0x4000_0000;

function mem(provenance = false) {
  return new GuestMemory({
    regions: [
      { base: BASE, size: 0x4000 },
      { base: BASE + 0x10000, size: 0x2000 },
    ],
    provenance,
  });
}

describe("GuestMemory", () => {
  it("stores typed values little-endian", () => {
    const m = mem();
    m.write32(BASE, 0x11223344);
    expect([...m.read(BASE, 4)]).toEqual([0x44, 0x33, 0x22, 0x11]);
    m.write16(BASE + 8, 0xbeef);
    expect(m.read16(BASE + 8)).toBe(0xbeef);
    m.write64(BASE + 16, 0x0102030405060708n);
    expect(m.read64(BASE + 16)).toBe(0x0102030405060708n);
    expect(m.read32(BASE + 20)).toBe(0x01020304);
  });

  it("handles typed accesses that straddle a page boundary", () => {
    const m = mem();
    m.write32(BASE + 0xffe, 0xa1b2c3d4);
    expect(m.read32(BASE + 0xffe)).toBe(0xa1b2c3d4);
    expect(m.read8(BASE + 0x1000)).toBe(0xb2);
  });

  it("reads untouched sparse pages as zero", () => {
    const m = mem();
    expect(m.read32(BASE + 0x3ffc)).toBe(0);
    expect([...m.read(BASE + 0x10000, 8)]).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
  });

  it("rejects accesses outside ram with a typed error naming the address", () => {
    const m = mem();
    const attempts = [
      () => m.read8(BASE - 1),
      () => m.read32(BASE + 0x3ffe),
      () => m.write16(BASE + 0x4000, 1),
      () => m.read(BASE + 0x3000, 0x2000),
      () => m.read8(Number.NaN),
      () => m.read8(2 ** 60),
      () => m.read(BASE, -1),
      () => m.read(BASE, Number.NaN),
      () => m.tags(BASE, -1),
      () => m.copy(BASE, BASE + 16, -1),
      () => m.read8(BASE + 0.5),
    ];
    for (const attempt of attempts) {
      expect(attempt).toThrow(GuestMemoryError);
    }
    try {
      m.read8(BASE - 1);
    } catch (e) {
      expect((e as GuestMemoryError).code).toBe("memory-out-of-range");
      expect((e as GuestMemoryError).message).toContain("0x3fffffff");
    }
  });

  it("does not let an access straddle two regions", () => {
    const m = new GuestMemory({
      regions: [
        { base: BASE, size: 0x1000 },
        { base: BASE + 0x1000, size: 0x1000 },
      ],
    });
    expect(m.contains(BASE + 0xffc, 4)).toBe(true);
    expect(m.contains(BASE + 0xffe, 4)).toBe(false);
    expect(() => m.read32(BASE + 0xffe)).toThrow(GuestMemoryError);
  });

  it("rejects overlapping or unaligned regions", () => {
    expect(
      () =>
        new GuestMemory({
          regions: [
            { base: BASE, size: 0x2000 },
            { base: BASE + 0x1000, size: 0x1000 },
          ],
        }),
    ).toThrow(GuestMemoryError);
    expect(() => new GuestMemory({ regions: [{ base: BASE + 1, size: 0x1000 }] })).toThrow(
      GuestMemoryError,
    );
  });

  it("shares a supplied backing buffer", () => {
    const buffer = new Uint8Array(0x2000);
    const m = new GuestMemory({ regions: [{ base: BASE, size: 0x2000, buffer }] });
    m.write(BASE + 0xffe, Uint8Array.of(1, 2, 3));
    expect([...buffer.subarray(0xffe, 0x1001)]).toEqual([1, 2, 3]);
  });

  it("moves provenance tags with copied bytes and clears them on typed stores", () => {
    const m = mem(true);
    m.write(
      BASE + 0xff0,
      Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20),
      7,
    );
    const tags = new Uint32Array(20);
    const bytes = new Uint8Array(20);
    m.readInto(BASE + 0xff0, bytes, tags);
    expect([...tags]).toEqual(new Array(20).fill(7));
    m.copy(BASE + 0x10000, BASE + 0xff0, 20);
    expect(m.tagAt(BASE + 0x10013)).toBe(7);
    expect(m.read8(BASE + 0x10013)).toBe(20);
    m.write8(BASE + 0x10013, 0);
    expect(m.tagAt(BASE + 0x10013)).toBe(0);
    m.write(BASE + 0x100, Uint8Array.of(1, 2), Uint32Array.of(41, 42));
    expect([...m.tags(BASE + 0x100, 2)]).toEqual([41, 42]);
  });

  it("reports tag 0 everywhere when provenance is off", () => {
    const m = mem(false);
    m.write(BASE, Uint8Array.of(1), 9);
    expect(m.tagAt(BASE)).toBe(0);
  });
});
