/**
 * Arithmetic draining of the TX FIFO is exact (COMMON.md: optimisations keep a switch and a
 * property): over random traffic, baud rates, FIFO depths and levels, interrupt masks,
 * line-control and control changes, CTS gating, loopback and register reads at random
 * times, the device with `exactCharacterEvents: false` shows the same wire characters with
 * their times, interrupt edges, register reads and counters as with one event per
 * character. A planted drain that wakes one character late must be caught.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type DrainScenario,
  drainScenarioArb,
  driverTrafficArb,
  LateDrainDevice,
  observeDrain,
  observeDriverDrain,
} from "./testing/drain.js";

const numRuns = Number(process.env.VMMUX_PROP_RUNS ?? 150);
const seed = 0x5013;

function equivalent(scenario: DrainScenario, late = false): void {
  const exact = observeDrain(scenario, true).observed;
  const drained = observeDrain(scenario, false, late ? (o) => new LateDrainDevice(o) : undefined);
  expect(drained.observed).toEqual(exact);
}

describe("arithmetic TX draining (property)", () => {
  it("gives the same wire, interrupt edges, register reads and counters as per-character events", () => {
    fc.assert(
      fc.property(drainScenarioArb, (s) => equivalent(s)),
      { numRuns, seed },
    );
  });

  it("is not vacuous: characters go out, the line moves, and draining skips events", () => {
    const stats = { chars: 0, edges: 0, exactEvents: 0, drainedEvents: 0 };
    fc.assert(
      fc.property(drainScenarioArb, (s) => {
        const exact = observeDrain(s, true);
        const drained = observeDrain(s, false);
        stats.chars += drained.observed.counters.txEmitted ?? 0;
        stats.edges += drained.observed.edges.length;
        stats.exactEvents += exact.events;
        stats.drainedEvents += drained.events;
      }),
      { numRuns: 40, seed },
    );
    expect(stats.chars).toBeGreaterThan(500);
    expect(stats.edges).toBeGreaterThan(20);
    expect(stats.drainedEvents).toBeLessThan(stats.exactEvents);
  });

  it("gives the same results for the device and driver together (TX bursts, typed input)", () => {
    fc.assert(
      fc.property(driverTrafficArb, (t) => {
        const exact = observeDriverDrain(t, true);
        const drained = observeDriverDrain(t, false);
        expect(drained.observed).toEqual(exact.observed);
        expect(drained.events).toBeLessThanOrEqual(exact.events);
      }),
      { numRuns: Math.ceil(numRuns / 3), seed },
    );
  });

  it("catches the planted drain that wakes one character late", () => {
    const result = fc.check(
      fc.property(drainScenarioArb, (s) => equivalent(s, true)),
      { numRuns: Math.max(numRuns, 300), seed },
    );
    expect(result.failed).toBe(true);
  });
});
