/**
 * Lossless console under `hardened` (issue 4 "TX larger than the queue, RX with a slow
 * guest, input before ready: lossless under hardened"): with the Linux front end writing
 * kernel-log and tty output of random sizes through sDDF queues of random capacity (often
 * smaller than one buffer), virt_tx draining in random amounts and input typed at random
 * moments, the guest finishes every write, virt_tx receives exactly the guest's bytes in
 * order with their provenance, and the guest receives every typed byte in order.
 *
 * virt_tx may also run at the device's "queue full, about to request a signal" preemption
 * point, the interleaving that loses a wake-up without the double check (sddf-serial §3.3).
 *
 * Both branches are reachable: each planted variant (hardened with one libvmm behaviour
 * switched on: TX wake-up ignored, L13; no re-check after the request, T8; whole chains
 * only, L4) stalls and fails the property.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type ConsoleScenario, runScenario } from "./testing/lossless.js";
import { PLANTED_BUGS } from "./testing/planted.js";

const RUNS = Number(process.env.VMMUX_PROP_RUNS ?? 40);
const SEED = 0xc0_501e;

const scenarioArb: fc.Arbitrary<ConsoleScenario> = fc.record({
  capacity: fc.constantFrom(64, 256, 1024, 4096),
  queueSize: fc.constantFrom(4, 16, 128),
  writes: fc.array(
    fc.record({
      kind: fc.constantFrom("printk" as const, "tty" as const),
      len: fc.oneof(fc.integer({ min: 1, max: 80 }), fc.integer({ min: 80, max: 9000 })),
    }),
    { minLength: 1, maxLength: 8 },
  ),
  env: fc.array(
    fc.record({
      slice: fc.integer({ min: 1, max: 60 }),
      drain: fc.integer({ min: 0, max: 3000 }),
      input: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 400 })),
    }),
    { minLength: 2, maxLength: 40 },
  ),
  interleave: fc.array(fc.boolean(), { maxLength: 8 }),
});

function lossless(scenario: ConsoleScenario, defects = {}): boolean {
  const o = runScenario(scenario, defects);
  return (
    o.guestFinished &&
    o.outputTags.length === o.expectedTags.length &&
    o.outputTags.every((t, i) => t === o.expectedTags[i]) &&
    o.inputTags.length === o.typedTags.length &&
    o.inputTags.every((t, i) => t === o.typedTags[i])
  );
}

describe("console with the Linux front end (hardened)", () => {
  it("delivers every output and input byte exactly once, in order, with its provenance", () => {
    fc.assert(
      fc.property(scenarioArb, (scenario) => {
        const o = runScenario(scenario);
        expect(o.guestFinished).toBe(true);
        expect(o.outputTags).toEqual(o.expectedTags);
        expect(o.inputTags).toEqual(o.typedTags);
      }),
      { numRuns: RUNS, seed: SEED },
    );
  });

  it("stays lossless when the device offers EVENT_IDX and INDIRECT_DESC (QEMU's ring features)", () => {
    fc.assert(
      fc.property(scenarioArb, (scenario) => {
        const o = runScenario(scenario, {}, { features: { eventIdx: true, indirectDesc: true } });
        expect(o.guestFinished).toBe(true);
        expect(o.outputTags).toEqual(o.expectedTags);
        expect(o.inputTags).toEqual(o.typedTags);
      }),
      { numRuns: RUNS, seed: SEED },
    );
  });

  it("catches the planted bug: virt_tx's wake-up ignored (libvmm's lost wake-up, L13)", () => {
    const result = fc.check(
      fc.property(scenarioArb, (scenario) => lossless(scenario, PLANTED_BUGS.ignoresTxWakeup)),
      { numRuns: 200, seed: SEED, endOnFailure: true },
    );
    expect(result.failed).toBe(true);
  });

  it("catches the planted bug: no re-check after the signal request (lost wake-up, T8)", () => {
    const result = fc.check(
      fc.property(scenarioArb, (scenario) => lossless(scenario, PLANTED_BUGS.noRecheck)),
      { numRuns: 200, seed: SEED, endOnFailure: true },
    );
    expect(result.failed).toBe(true);
  });

  it("catches the planted bug: TX chains placed whole or not at all (libvmm L4 stall)", () => {
    const result = fc.check(
      fc.property(scenarioArb, (scenario) => lossless(scenario, PLANTED_BUGS.wholeChainOnly)),
      { numRuns: 200, seed: SEED, endOnFailure: true },
    );
    expect(result.failed).toBe(true);
  });
});
