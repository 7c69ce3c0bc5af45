/**
 * The signalling protocol (reference/sddf-serial.md §3.2–§3.3): a producer that requests a
 * signal and then re-checks the queue can never wait forever for space that exists; without
 * the re-check it can (the planted bug, `withoutDoubleCheck`). Checked over every
 * interleaving of small cases and over seeded random schedules of larger ones.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { arbCapacity, arbStartIndex } from "./testing/arbitraries.js";
import { withoutDoubleCheck } from "./testing/planted.js";
import {
  exploreAll,
  formatTrace,
  type ProtocolCase,
  randomScheduler,
  runSchedule,
} from "./testing/protocol.js";

const numRuns = Number(process.env.VMMUX_PROP_RUNS ?? 200);
const seed = 0x51a1;

const smallCases: Omit<ProtocolCase, "doubleCheck">[] = [];
for (const capacity of [1, 2, 4]) {
  for (let bytes = 1; bytes <= 8; bytes++) {
    for (const start of [0, 2 ** 32 - 2]) smallCases.push({ capacity, bytes, start });
  }
}

describe("signalling protocol, every interleaving of small cases", () => {
  it.each(smallCases)(
    "with the double check every interleaving delivers all bytes (capacity $capacity, $bytes bytes, start $start)",
    (spec) => {
      const result = exploreAll({ ...spec, doubleCheck: true });
      expect(result.lostWakeUps).toBe(0n);
      expect(result.deliveredRuns).toBe(result.interleavings);
    },
  );

  it("reaches both outcomes of the re-check, so the property is not vacuous", () => {
    const result = exploreAll({ capacity: 1, bytes: 4, doubleCheck: true });
    expect(result.actionsSeen).toContain("producer: re-check: space appeared");
    expect(result.actionsSeen).toContain("producer: re-check: still full");
    expect(result.actionsSeen).toContain("consumer: require: no signal wanted");
    expect(result.interleavings).toBeGreaterThan(1_000_000n);
  });

  it("finds the lost wake-up of §3.3 when the double check is removed", () => {
    const result = exploreAll(withoutDoubleCheck({ capacity: 1, bytes: 3 }));
    expect(result.lostWakeUps).toBeGreaterThan(0n);
    const trace = result.counterexample!;
    // The consumer decides not to signal (the flag still says "cancelled") and only then does
    // the producer request: the order that loses the wake-up.
    const declined = trace.findLastIndex((s) => s.action === "require: no signal wanted");
    const requested = trace.findLastIndex((s) => s.action.startsWith("request signal"));
    expect(declined).toBeGreaterThanOrEqual(0);
    expect(requested).toBeGreaterThan(declined);
    expect(formatTrace(trace)).toContain("producer request signal");
  });

  it("finds lost wake-ups without the double check in every small case that needs two rounds", () => {
    for (const spec of smallCases.filter((c) => c.bytes >= 2 * c.capacity + 1)) {
      expect(exploreAll(withoutDoubleCheck(spec)).lostWakeUps).toBeGreaterThan(0n);
    }
  });
});

const arbLargeCase = fc.record({
  capacity: arbCapacity(1, 6),
  bytes: fc.integer({ min: 1, max: 400 }),
  start: arbStartIndex(),
  schedule: fc.nat({ max: 2 ** 32 - 1 }),
  switchProbability: fc.constantFrom(0.05, 0.3, 0.5, 0.9),
});

function randomRunProperty(doubleCheck: boolean) {
  return fc.property(arbLargeCase, ({ schedule, switchProbability, ...spec }) => {
    const run = runSchedule({ ...spec, doubleCheck }, randomScheduler(schedule, switchProbability));
    if (run.outcome !== "delivered") {
      throw new Error(`${run.outcome} after ${run.received} of ${spec.bytes} bytes`);
    }
  });
}

describe("signalling protocol, random schedules of larger cases", () => {
  it("with the double check every random schedule delivers all bytes", () => {
    fc.assert(randomRunProperty(true), { numRuns, seed });
  });

  it("without the double check some random schedule loses a wake-up", () => {
    const result = fc.check(randomRunProperty(false), { numRuns: Math.max(numRuns, 150), seed });
    expect(result.failed).toBe(true);
  });
});
