import { describe, expect, test } from "vitest";
import { Pacer } from "./pacer.js";

describe("Pacer", () => {
  test("virtual time follows the wall clock times the speed", () => {
    const p = new Pacer({ speed: 2, maxLagNs: 1e8, wallStartMs: 1000, virtualStartNs: 0 });
    expect(p.target(1000)).toBe(0);
    expect(p.target(1500)).toBe(1_000_000_000);
    expect(p.target(900)).toBe(0);
  });

  test("a model that falls behind keeps at most maxLagNs of backlog and counts the rest", () => {
    const p = new Pacer({ speed: 1, maxLagNs: 100e6, wallStartMs: 0, virtualStartNs: 0 });
    // At 1 s of wall time the model only reached 0.7 s.
    p.settle(700e6, 1000);
    expect(p.target(1000)).toBe(800e6);
    expect(p.slippedNs).toBe(200e6);
    // Within the allowed lag nothing is given up.
    p.settle(750e6, 1000);
    expect(p.slippedNs).toBe(200e6);
  });

  test("rejects a speed that is not a positive number", () => {
    for (const speed of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => new Pacer({ speed, maxLagNs: 0, wallStartMs: 0, virtualStartNs: 0 })).toThrow(
        RangeError,
      );
    }
  });
});
