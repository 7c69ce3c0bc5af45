/**
 * A slice walk that jumps whole cycles of slice positions (fast-forward-slices.ts `walkSlice`,
 * fast-forward-crossings.ts) gives what walking every boundary gives: over generated slice
 * profiles (budgets, minimum budgets, per-period use, budget checks that may or may not let a
 * boundary be crossed), start positions and period counts, the same periods walked, slices
 * ended and final position, and the same crossings: how many fall before any period and each
 * one's instant; and so for every count up to 2000 periods of one profile, which ends walks at
 * every remainder of its cycle (a jump that leaves no period to walk after it is caught there).
 * A crossing list planted to keep a jumped cycle one repetition short is caught.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CycleOneShort } from "../testing/slice-crossings-planted.js";
import { SliceCrossings } from "./fast-forward-crossings.js";
import { type SliceProfile, walkSlice } from "./fast-forward-slices.js";

const numRuns = Number(process.env.VMMUX_PROP_RUNS ?? 200);
const seed = 0x511ce;

interface Case {
  readonly profile: SliceProfile;
  readonly pos: number;
  readonly count: number;
  /** Period indices to count the crossings before. */
  readonly probes: readonly number[];
}

const caseArb: fc.Arbitrary<Case> = fc
  .record({
    // Costs in whole 10s of ns make short cycles of slice positions, odd ones long cycles.
    grain: fc.constantFrom(1, 10, 10, 100),
    use: fc.integer({ min: 1, max: 300 }),
    slices: fc.integer({ min: 1, max: 60 }),
    extra: fc.nat(299),
    minBudget: fc.constantFrom(0, 1, 5, 50),
    // Budget checks inside the period; one at its end too (the pass's own kernel entry), mostly.
    checks: fc.array(
      fc.record({ at: fc.nat(1000), clear: fc.oneof(fc.constant(true), fc.boolean()) }),
      { maxLength: 3 },
    ),
    atEnd: fc.oneof(fc.constant(true), fc.boolean()),
    known: fc.oneof(fc.constant(true), fc.boolean()),
    posShare: fc.nat(1000),
    count: fc.integer({ min: 1, max: 40_000 }),
    probes: fc.array(fc.nat(40_000), { maxLength: 4 }),
  })
  .map((g) => {
    const use = g.use * g.grain;
    // A budget of whole periods or not, one slice spanning up to 60 periods (or less than one).
    const budget = g.slices * use + (g.extra % g.use) * g.grain;
    const inner = g.checks.map((c) => ({
      at: Math.floor((c.at * g.use) / 1000) * g.grain,
      clear: c.clear,
    }));
    const checks = [...inner, ...(g.atEnd ? [{ at: use, clear: true }] : [])].sort(
      (a, b) => a.at - b.at,
    );
    const profile: SliceProfile = {
      budget,
      minBudget: g.minBudget,
      use,
      at: checks.map((c) => c.at),
      clear: checks.map((c) => c.clear),
      when: checks.map((c) => c.at * 2),
      known: g.known,
    };
    const pos = Math.floor((g.posShare * budget) / 1001);
    return { profile, pos, count: g.count, probes: [0, g.count, ...g.probes] };
  });

const sameWalk = (Crossings: typeof SliceCrossings) =>
  fc.property(caseArb, ({ profile, pos, count, probes }) => {
    const jumped = new Crossings(1_000, 2 * profile.use);
    const walked = new SliceCrossings(1_000, 2 * profile.use);
    const a = walkSlice(profile, pos, count, jumped, true);
    const b = walkSlice(profile, pos, count, walked, false);
    expect(a).toEqual(b);
    for (const p of [...probes, a.periods]) expect(jumped.before(p)).toBe(walked.before(p));
    const all = walked.before(b.periods);
    for (let i = 0; i < all; i++) expect(jumped.instant(i)).toBe(walked.instant(i));
  });

describe("a slice walk that jumps cycles", () => {
  it("gives the walk of every boundary: periods, ends, position, crossings and their instants", () => {
    fc.assert(sameWalk(SliceCrossings), { seed, numRuns });
  });

  it("ends where walking every boundary ends, for counts of every remainder of a cycle", () => {
    // Slices of 10.5 periods: positions come round every 2 boundaries (21 periods).
    const profile: SliceProfile = {
      budget: 1_050,
      minBudget: 1,
      use: 100,
      at: [40, 100],
      clear: [true, true],
      when: [40, 100],
      known: true,
    };
    for (let count = 1; count <= 2_000; count++) {
      const jumped = walkSlice(profile, 30, count, new SliceCrossings(0, 100), true);
      expect(jumped).toEqual(walkSlice(profile, 30, count, new SliceCrossings(0, 100), false));
    }
  });

  it("jumps in most generated walks (the property is not vacuous)", () => {
    let jumps = 0;
    class Counting extends SliceCrossings {
      override repeat(from: number, times: number, periods: number): void {
        if (times > 0) jumps++;
        super.repeat(from, times, periods);
      }
    }
    for (const c of fc.sample(caseArb, { seed, numRuns: 100 }))
      walkSlice(c.profile, c.pos, c.count, new Counting(0, 1));
    expect(jumps).toBeGreaterThanOrEqual(10);
  });

  it("catches crossings planted to keep a jumped cycle one repetition short", () => {
    const result = fc.check(sameWalk(CycleOneShort), { seed, numRuns, endOnFailure: true });
    expect(result.failed).toBe(true);
  });
});
