/**
 * Arithmetic TX draining under the Microkit runtime: the kernel's own ordering (a PD's
 * register access at time t comes after the device events due at t) is what `tx.ts`
 * relies on. With random TX loads, priorities, a busy PD that holds the core, typed input
 * and both profiles, the wire, the bytes virt_rx receives, every counter, each thread's
 * run time, the kernel's whole event log and its event count are identical with and without
 * the state machine at each character's end.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { uartSystem } from "./testing/system.js";

interface Load {
  readonly profile: "reference" | "hardened";
  readonly txBytes: number;
  readonly driverPriority: number;
  readonly hogPriority: number;
  readonly hogBusyUs: number;
  readonly hogStartNs: number;
  readonly keys: number;
  readonly keyGapNs: number;
  readonly minBudgetUs: number;
  readonly hogStepUs: number;
}

const numRuns = Number(process.env.VMMUX_PROP_RUNS ?? 150);

const loadArb: fc.Arbitrary<Load> = fc.record({
  profile: fc.constantFrom("reference" as const, "hardened" as const),
  txBytes: fc.integer({ min: 0, max: 600 }),
  driverPriority: fc.constantFrom(100, 200),
  hogPriority: fc.constantFrom(50, 150),
  hogBusyUs: fc.integer({ min: 0, max: 3_000 }),
  hogStartNs: fc.integer({ min: 0, max: 20_000_000 }),
  keys: fc.integer({ min: 0, max: 40 }),
  keyGapNs: fc.constantFrom(0, 40_000, 500_000),
  // A character's end is a kernel entry: with MIN_BUDGET, one late in a long step ends the slice.
  minBudgetUs: fc.constantFrom(0, 0, 50, 300),
  hogStepUs: fc.constantFrom(1, 250, 700),
});

function run(load: Load, exactCharacterEvents: boolean) {
  const wire: number[] = [];
  const t = uartSystem({
    profile: load.profile,
    txBytes: load.txBytes,
    driverPriority: load.driverPriority,
    hogPriority: load.hogPriority,
    hogBusyUs: load.hogBusyUs,
    hogStartNs: load.hogStartNs,
    minBudgetUs: load.minBudgetUs,
    hogStepUs: load.hogStepUs,
    recordEvents: true,
    device: {
      exactCharacterEvents,
      transmitSink: (byte, tag, start, end, kind) => wire.push(byte, tag, start, end, kind),
    },
  });
  t.sys.runUntil(400_000);
  for (let i = 0; i < load.keys; i++) {
    t.uart.send(0x61 + (i % 26), { at: 500_000 + i * load.keyGapNs, tag: 0x7000 + i });
  }
  t.sys.runUntil(80_000_000);
  t.uart.settle();
  return {
    wire,
    received: t.received,
    device: { ...t.uart.counters },
    driver: { ...t.driver.counters },
    threads: t.sys.threads().map((th) => [th.name, th.runTime, th.state]),
    log: t.sys.log.map((e) => JSON.stringify(e)),
    now: t.sys.now(),
    events: t.sys.eventsProcessed,
  };
}

describe("arithmetic TX draining under the Microkit runtime", () => {
  it("leaves the wire, input, counters, run times, event log and event count unchanged", () => {
    let chars = 0;
    fc.assert(
      fc.property(loadArb, (load) => {
        const exact = run(load, true);
        const drained = run(load, false);
        expect(drained).toEqual(exact);
        chars += drained.device.txEmitted ?? 0;
      }),
      { numRuns: Math.max(12, Math.floor(numRuns / 12)), seed: 0x5014 },
    );
    expect(chars).toBeGreaterThan(500);
  });
});
