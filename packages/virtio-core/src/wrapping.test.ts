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

  it("with used_event 0 notifies after the 1st buffer and again after the 65536th", () => {
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
