/**
 * Hostile-guest fuzzing (reference virtio §6.3, DESIGN.md oracle 6): random register
 * accesses, descriptor tables, indirect tables and avail indices against the transport and
 * the loopback device. `runHostile` states the oracles. CI runs at least 100k actions
 * (196 random scripts × 520 actions, plus the seed corpus); VMMUX_PROP_RUNS scales the number of scripts.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { DefectSwitches } from "./profile.js";
import { hostileScriptArb } from "./testing/arbitraries.js";
import { type HostileOp, type HostileReport, runHostile } from "./testing/hostile.js";

const numRuns = Number(process.env.VMMUX_PROP_RUNS ?? 200);
const seed = 0x5eed_0006;
const SCRIPT_LENGTH = 520;

/** The violation and the script prefix that replays it (`runHostile(script, options)`). */
function failure(report: HostileReport): string {
  return `${report.violations.join("\n")}\nreplay: ${JSON.stringify(report.counterexample)}`;
}

/** Hand-written scripts that seed the corpus: the happy path and three classic attacks. */
const probeLive: HostileOp = { k: "probe", size: 8, features: 1, driverOk: true };
const CORPUS: HostileOp[][] = [
  [
    probeLive,
    { k: "chain", queue: 0, first: 0, readable: [5, 7], writable: [] },
    { k: "notify", queue: 0 },
    { k: "ack" },
  ],
  [
    probeLive,
    { k: "avail", queue: 0, slot: 0, head: 200 },
    { k: "availIdx", queue: 0, delta: 1 },
    { k: "notify", queue: 0 },
  ],
  [
    probeLive,
    { k: "desc", queue: 0, table: -1, index: 0, addr: 0x4010_0000, len: 16, flags: 5, next: 1 },
    { k: "avail", queue: 0, slot: 0, head: 0 },
    { k: "availIdx", queue: 0, delta: 1 },
    { k: "notify", queue: 0 },
  ],
  [
    probeLive,
    { k: "queueReg", sel: 0xffff_ffff, offset: 0x044, value: 1 },
    { k: "write", offset: 0x070, width: 4, value: 3 },
  ],
];

function hardenedProperty(defects: Partial<DefectSwitches> = {}, length = SCRIPT_LENGTH) {
  return fc.property(hostileScriptArb(length), (ops) => {
    const report = runHostile(ops, { profile: "hardened", defects });
    if (report.violations.length > 0) throw new Error(failure(report));
  });
}

describe("hostile guest, hardened profile", () => {
  it("never lets an exception escape, never touches an invalid chain, and resets where the spec says", () => {
    let actions = 0;
    let needsReset = 0;
    let chains = 0;
    const property = fc.property(hostileScriptArb(SCRIPT_LENGTH), (ops) => {
      const report = runHostile(ops, { profile: "hardened" });
      actions += report.ops;
      needsReset += report.needsReset;
      chains += report.chainsTaken;
      if (report.violations.length > 0) throw new Error(failure(report));
    });
    fc.assert(property, { numRuns, seed, examples: CORPUS.map((script) => [script]) });
    expect(actions).toBeGreaterThanOrEqual((numRuns - CORPUS.length) * SCRIPT_LENGTH);
    // Both branches are reachable: devices went to NEEDS_RESET, and valid chains flowed.
    expect(needsReset).toBeGreaterThan(0);
    expect(chains).toBeGreaterThan(0);
  });

  it("catches a device without the readable-before-writable check (planted: orderUnchecked)", () => {
    const result = fc.check(hardenedProperty({ orderUnchecked: true }, 200), {
      numRuns: 300,
      seed,
      endOnFailure: true,
    });
    expect(result.failed).toBe(true);
  });

  it("catches a device without the avail-index jump check (planted: availIndexUnchecked)", () => {
    const result = fc.check(hardenedProperty({ availIndexUnchecked: true }, 200), {
      numRuns: 300,
      seed,
      endOnFailure: true,
    });
    expect(result.failed).toBe(true);
  });
});

describe("hostile guest, reference profile", () => {
  it("reports libvmm's guest-reachable defects as findings instead of failing", () => {
    const findings = new Map<string, number>();
    let crashes = 0;
    fc.assert(
      fc.property(hostileScriptArb(SCRIPT_LENGTH), (ops) => {
        const report = runHostile(ops, { profile: "reference" });
        for (const [k, v] of report.findings) findings.set(k, (findings.get(k) ?? 0) + v);
        crashes += report.crashes;
        // Even libvmm's model never throws out of the transport.
        expect(report.violations).toEqual([]);
      }),
      { numRuns: Math.min(numRuns, 60), seed },
    );
    const expected = [
      "failOnIllegalAccess", // L8
      "queueReadyOutOfBounds", // L1
      "uncheckedGuestAddresses", // L2
      "queueNumUnchecked", // L3
      "headIndexUnchecked", // L5
      "injectFailureBlocks", // L12
      "exactFeatureWords", // L9
      "statusMultiBitFails", // L10
      "statusRewriteResets", // L11
      "availIndexUnchecked", // L15
      "badChainConsumed", // L15
      "indirectAsData", // L15
      "orderUnchecked", // L15
      "mmioRangeAliasing", // §4.2
    ];
    for (const name of expected) expect([name, findings.get(name) ?? 0]).not.toEqual([name, 0]);
    expect(crashes).toBeGreaterThan(0);
  });
});
