import { describe, expect, it } from "vitest";
import { needEvent, Wrapping16 } from "./wrapping.js";

describe("Wrapping16", () => {
  it("wraps at 65536 when advanced", () => {
    expect(Wrapping16.of(0xffff).add(1).value).toBe(0);
    expect(Wrapping16.of(0).add(-1).value).toBe(0xffff);
    expect(Wrapping16.of(70000).value).toBe(70000 - 65536);
  });

  it("measures the distance across the wrap", () => {
    expect(Wrapping16.of(2).since(Wrapping16.of(0xfffe))).toBe(4);
    expect(Wrapping16.of(5).since(Wrapping16.of(5))).toBe(0);
  });

  it("maps to ring slots modulo the queue size", () => {
    expect(Wrapping16.of(0xffff).slot(128)).toBe(127);
    expect(Wrapping16.of(0xffff).add(1).slot(128)).toBe(0);
  });
});

describe("needEvent (vring_need_event, VirtIO 1.2 §2.7.10)", () => {
  it("notifies when the event index lies in [old, new)", () => {
    const w = Wrapping16.of;
    expect(needEvent(w(3), w(5), w(2))).toBe(true);
    expect(needEvent(w(5), w(5), w(2))).toBe(false);
    expect(needEvent(w(1), w(5), w(2))).toBe(false);
  });

  it("decides across the 16-bit wrap of old, new and event", () => {
    const w = Wrapping16.of;
    // Batch 0xfffd -> 0x0002 covers entries 0xfffd, 0xfffe, 0xffff, 0x0000, 0x0001.
    expect(needEvent(w(0xfffe), w(2), w(0xfffd))).toBe(true);
    expect(needEvent(w(0x0001), w(2), w(0xfffd))).toBe(true);
    expect(needEvent(w(0x0002), w(2), w(0xfffd))).toBe(false);
    expect(needEvent(w(0xfffc), w(2), w(0xfffd))).toBe(false);
    // An empty batch never notifies; a full 65535-entry batch misses only `new` itself.
    expect(needEvent(w(7), w(7), w(7))).toBe(false);
    expect(needEvent(w(6), w(7), w(8))).toBe(true);
    expect(needEvent(w(7), w(7), w(8))).toBe(false);
  });

  // The spec's "again after the 65536th buffer" counts 65536 buffers after the first: the
  // next hit is when entry 65536 (≡ 0) is written, i.e. buffer number 65537.
  it("with used_event 0 notifies after the 1st buffer and again 65536 buffers later", () => {
    const event = Wrapping16.of(0);
    const hits: number[] = [];
    let old = Wrapping16.of(0);
    for (let n = 1; n <= 65537; n++) {
      const next = old.add(1);
      if (needEvent(event, next, old)) hits.push(n);
      old = next;
    }
    expect(hits).toEqual([1, 65537]);
  });
});
