import { describe, expect, it } from "vitest";
import { SchedContext } from "./sched-context.js";

describe("SchedContext (reference §3.2)", () => {
  it("treats budget == period as a round-robin slice, cumulative across commits", () => {
    const sc = new SchedContext("rr", 1000, 1000, 0);
    expect(sc.roundRobin).toBe(true);
    sc.consumed = 600;
    sc.commit();
    expect(sc.capacity()).toBe(400);
    sc.consumed = 400;
    expect(sc.sufficient()).toBe(false);
    sc.exhaust();
    expect(sc.capacity()).toBe(1000);
    expect(sc.ready(0)).toBe(true);
  });

  it("ends a slice once less than MIN_BUDGET would remain", () => {
    const sc = new SchedContext("rr", 1000, 1000, 20);
    sc.consumed = 979;
    expect(sc.sufficient()).toBe(true);
    sc.consumed = 981;
    expect(sc.sufficient()).toBe(false);
  });

  it("moves a fully used sporadic budget one period later", () => {
    const sc = new SchedContext("s", 200, 1000, 0);
    sc.becomeCurrent(50);
    sc.consumed = 200;
    sc.commit();
    expect(sc.snapshot()).toEqual([{ time: 1050, amount: 200 }]);
    expect(sc.ready(1049)).toBe(false);
    expect(sc.ready(1050)).toBe(true);
  });

  it("splits a partly used budget into a tail refill one period after use (rule 1) and merges when full (rule 2)", () => {
    const sc = new SchedContext("s", 300, 1000, 0);
    sc.becomeCurrent(100);
    sc.consumed = 100;
    sc.commit();
    expect(sc.snapshot()).toEqual([
      { time: 200, amount: 200 },
      { time: 1100, amount: 100 },
    ]);
    sc.becomeCurrent(250);
    sc.consumed = 100;
    sc.commit();
    expect(sc.snapshot()).toEqual([
      { time: 350, amount: 100 },
      { time: 1150, amount: 200 },
    ]);
  });

  it("merges a head refill smaller than MIN_BUDGET into the next one", () => {
    const sc = new SchedContext("s", 300, 1000, 50);
    sc.becomeCurrent(0);
    sc.consumed = 280;
    sc.commit();
    // head would be (280, 20) < MIN: merged into (1000, 280) → (980, 300).
    expect(sc.snapshot()).toEqual([{ time: 980, amount: 300 }]);
  });

  it("starts a due head refill now and absorbs overlapping refills when it becomes current (rule 3)", () => {
    const sc = new SchedContext("s", 300, 1000, 0);
    sc.becomeCurrent(0);
    sc.consumed = 100;
    sc.commit();
    expect(sc.snapshot()).toEqual([
      { time: 100, amount: 200 },
      { time: 1000, amount: 100 },
    ]);
    sc.becomeCurrent(950);
    expect(sc.snapshot()).toEqual([{ time: 950, amount: 300 }]);
  });

  it("charges an overrun across several periods", () => {
    const sc = new SchedContext("s", 100, 1000, 0);
    sc.becomeCurrent(0);
    sc.consumed = 250;
    sc.commit();
    expect(sc.snapshot()).toEqual([
      { time: 2050, amount: 50 },
      { time: 3000, amount: 50 },
    ]);
  });
});
