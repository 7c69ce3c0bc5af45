/**
 * Arithmetic draining of the TX FIFO is exact (COMMON.md: optimisations keep a switch and a
 * property): over random traffic, baud rates, FIFO depths and levels, interrupt masks,
 * line-control and control changes, CTS gating, loopback and register reads at random
 * times, the device with `exactCharacterEvents: false` shows the same wire characters with
 * their times, interrupt edges, register reads and counters as with one event per
 * character, and the host runs the same number of events (a timer per character either way, so
 * the kernel's event count does not change). A planted drain that wakes one character late
 * must be caught.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Pl011Device } from "./device.js";
import { Int, Reg } from "./registers.js";
import {
  type DrainScenario,
  drainScenarioArb,
  driverTrafficArb,
  LateDrainDevice,
  observeDrain,
  observeDriverDrain,
} from "./testing/drain.js";
import { FakeDeviceHost } from "./testing/fake-host.js";
import { programUart } from "./testing/setup.js";

const numRuns = Number(process.env.VMMUX_PROP_RUNS ?? 150);
const seed = 0x5013;

function equivalent(scenario: DrainScenario, late = false): void {
  const exact = observeDrain(scenario, true);
  const drained = observeDrain(scenario, false, late ? (o) => new LateDrainDevice(o) : undefined);
  expect(drained.observed).toEqual(exact.observed);
  expect(drained.events).toBe(exact.events);
}

describe("arithmetic TX draining (property)", () => {
  it("gives the same wire, interrupt edges, register reads and counters as per-character events", () => {
    fc.assert(
      fc.property(drainScenarioArb, (s) => equivalent(s)),
      { numRuns, seed },
    );
  });

  it("is not vacuous: characters go out and the line moves, with the same host events", () => {
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
    expect(stats.drainedEvents).toBe(stats.exactEvents);
  });

  it("gives the same results for the device and driver together (TX bursts, typed input)", () => {
    fc.assert(
      fc.property(driverTrafficArb, (t) => {
        const exact = observeDriverDrain(t, true);
        const drained = observeDriverDrain(t, false);
        expect(drained.observed).toEqual(exact.observed);
        expect(drained.events).toBe(exact.events);
      }),
      { numRuns: Math.ceil(numRuns / 3), seed },
    );
  });

  it("shows a character still shifting to a read at its end instant that comes before its timer", () => {
    // Reads scheduled before the writes come first among the events at each character's end.
    const probe = (
      exact: boolean,
      baud: number,
      n: number,
      ifls: number,
      at: readonly number[],
    ) => {
      const host = new FakeDeviceHost();
      const ends: number[] = [];
      const uart = new Pl011Device({
        host,
        irq: 33,
        exactCharacterEvents: exact,
        transmitSink: (_b, _t, _s, end) => ends.push(end),
      });
      programUart(uart, { baud, ifls, imsc: Int.TX });
      const seen: number[] = [];
      for (const t of at) host.at(t, () => seen.push(uart.read(Reg.FR, 4), uart.read(Reg.RIS, 4)));
      for (let i = 0; i < n; i++) uart.write(Reg.DR, 4, 0x41 + i, i);
      host.runAll();
      return { seen, ends, edges: host.irqChanges.map((c) => `${c.time}:${c.asserted}`) };
    };
    fc.assert(
      fc.property(
        fc.constantFrom(9_600, 115_200, 1_500_000),
        fc.integer({ min: 1, max: 16 }),
        fc.integer({ min: 0, max: 0x3f }),
        (baud, n, ifls) => {
          const ends = probe(true, baud, n, ifls, []).ends;
          const exact = probe(true, baud, n, ifls, ends);
          expect(exact.seen.length).toBe(2 * n);
          expect(probe(false, baud, n, ifls, ends)).toEqual(exact);
        },
      ),
      { numRuns: 60, seed },
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
