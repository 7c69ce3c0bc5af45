/**
 * Hostile-guest fuzzing (reference virtio §6.3, DESIGN.md oracle 6): random register
 * accesses, descriptor tables, indirect tables and avail indices against the transport and
 * the loopback device. `runHostile` states the oracles; `runHostileCampaign` runs them over
 * variable-length scripts that fast-check shrinks. CI runs about 106k actions (196 random
 * scripts of 0–1150 actions plus the seed corpus); VMMUX_PROP_RUNS scales the number of scripts.
 */

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { hostileScriptArb } from "./testing/arbitraries.js";
import { runHostileCampaign } from "./testing/campaign.js";
import type { HostileOp, TransportFactory } from "./testing/hostile.js";
import { runHostile } from "./testing/hostile.js";
import { DroppedNotifyTransport } from "./testing/planted.js";

const numRuns = Number(process.env.VMMUX_PROP_RUNS ?? 200);
const seed = 0x5eed_0006;

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

/** Random scripts average ~490 actions; the campaign must not run fewer than this many each. */
const OPS_PER_SCRIPT = 400;

/** Campaigns of VMMUX_PROP_RUNS scripts take longer than the default test timeout allows. */
const CAMPAIGN_TIMEOUT = Math.max(120_000, numRuns * 100);

/** The planted variants run 300 scripts of at most 200 actions; the defects need no shrinking. */
const PLANTED = { seed, runs: 300, maxLength: 200 } as const;
const UNSHRUNK = { ...PLANTED, shrink: false } as const;

describe("hostile guest, hardened profile", () => {
  it(
    "never lets an exception escape, never touches an invalid chain, and resets where the spec says",
    () => {
      const result = runHostileCampaign({ seed, runs: numRuns - CORPUS.length, examples: CORPUS });
      expect(result.counterexample, JSON.stringify(result.counterexample)).toBeUndefined();
      expect(result.scripts).toBe(numRuns);
      expect(result.ops).toBeGreaterThanOrEqual(OPS_PER_SCRIPT * (numRuns - CORPUS.length));
      // Both branches are reachable: devices went to NEEDS_RESET, and valid chains flowed.
      expect(result.needsReset).toBeGreaterThan(0);
      expect(result.chainsTaken).toBeGreaterThan(0);
    },
    CAMPAIGN_TIMEOUT,
  );

  it("catches a device without the readable-before-writable check (planted: orderUnchecked)", () => {
    const result = runHostileCampaign({ ...UNSHRUNK, defects: { orderUnchecked: true } });
    expect(result.counterexample?.violations.join()).toMatch(/invalid chain/);
  });

  it("catches a device without the avail-index jump check (planted: availIndexUnchecked)", () => {
    const result = runHostileCampaign({ ...UNSHRUNK, defects: { availIndexUnchecked: true } });
    expect(result.counterexample?.violations.join()).toMatch(/ahead of it/);
  });

  it("catches a transport that drops a notification, shrunk to probe, chain, notify", () => {
    const transport: TransportFactory = (o) => new DroppedNotifyTransport(o);
    const result = runHostileCampaign({ ...PLANTED, transport });
    const found = result.counterexample;
    expect(found?.violations.join()).toMatch(/pending that it could take/);
    // A handful of actions, readable as they are, and replayable from their JSON.
    const script = JSON.parse(JSON.stringify(found?.script)) as HostileOp[];
    expect(script.length).toBeLessThanOrEqual(4);
    expect(script.map((op) => op.k)).toEqual(expect.arrayContaining(["probe", "chain", "notify"]));
    expect(runHostile(script, { profile: "hardened", transport }).violations).toEqual(
      found?.violations,
    );
    // The real transport passes the same script.
    expect(runHostile(script, { profile: "hardened" }).violations).toEqual([]);
  });

  it("generates scripts of short and long lengths up to the maximum, so failures can shrink", () => {
    const lengths = fc.sample(hostileScriptArb(), { seed, numRuns: 200 }).map((s) => s.length);
    expect(Math.min(...lengths)).toBeLessThan(60);
    expect(Math.max(...lengths)).toBeGreaterThan(1080);
  });
});

describe("hostile guest, reference profile", () => {
  it("reports libvmm's guest-reachable defects as findings instead of failing", () => {
    const findings = new Map<string, number>();
    let crashes = 0;
    fc.assert(
      fc.property(hostileScriptArb(), (ops) => {
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
