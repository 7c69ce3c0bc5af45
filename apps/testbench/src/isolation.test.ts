/**
 * Isolation (DESIGN.md oracle 6): a hostile `vm` guest (`@vmmux/vmm`'s `HostileGuest`, its
 * script drawn from the scenario seed) next to a guest that replays its output, on the
 * bundled two-VM system.
 */
import { beforeAll, describe, expect, test } from "vitest";
import { hostileScript } from "./guests.js";
import { wireOf } from "./metrics.js";
import { integrity, isolation, judge, wakeups } from "./oracles.js";
import { type RunResult, runScenario } from "./run.js";
import { withDeviceResetMissed, withPdDead, withWireByteDropped } from "./testing/planted.js";
import { syntheticScenario } from "./testing/synthetic.js";

const decode = (bytes: Iterable<number>) => new TextDecoder().decode(Uint8Array.from(bytes));
const lines = (n: number) =>
  Array.from({ length: n }, (_, i) => [0.01 + i * 0.001, `g1 line ${i}\r\n`] as const);

const hostile = (profile: "hardened" | "reference", seed = 1) =>
  syntheticScenario({
    kind: "vm",
    guests: [{ output: lines(20) }, { output: [], hostile: true }],
    knobs: { durationLimit: 0.05, profile, seed },
  });

let hardened: RunResult;
let reference: RunResult;
beforeAll(() => {
  hardened = runScenario(hostile("hardened"), { recordEvents: true });
  reference = runScenario(hostile("reference"));
});

describe("a hostile guest against hardened VMMs", () => {
  test("crashes no PD, gets every exit answered and breaks its own device into DEVICE_NEEDS_RESET", () => {
    const v = isolation(hardened);
    expect(v.findings).toEqual([]);
    const g2 = hardened.guests[1]!;
    expect(g2.hostile).toBe(true);
    expect(g2.vmm?.hostileOps?.completed).toBe(g2.vmm?.hostileOps?.total);
    expect(g2.vmm?.hostileOps?.total).toBeGreaterThan(10);
    expect(g2.vmm?.needsResetRequests).toBeGreaterThan(0);
    expect((g2.vmm!.deviceStatus & 0x40) !== 0).toBe(true);
    expect(hardened.pdFaults).toEqual([]);
    expect(hardened.threads.filter((t) => t.kind === "pd").every((t) => t.state !== "dead")).toBe(
      true,
    );
  });

  test("leaves the other guest's output intact on the wire", () => {
    const g1 = hardened.guests[0]!;
    expect(decode(wireOf(hardened, g1.origin).map((w) => w.byte))).toBe(g1.traceText);
    expect(integrity(hardened).findings).toEqual([]);
    expect(g1.vmm?.findingCounts).toEqual({});
    expect(wakeups(hardened).findings).toEqual([]);
  });

  test("draws the same script from the same seed and another from another seed", () => {
    expect(hostileScript(1, 1)).toEqual(hostileScript(1, 1));
    expect(hostileScript(2, 1)).not.toEqual(hostileScript(1, 1));
  });
});

describe("a hostile guest against libvmm as it is (reference)", () => {
  test("its VMM leaves an exit unanswered: an isolation violation, reported as an expected finding", () => {
    const v = isolation(reference);
    expect(v.ok).toBe(false);
    expect(v.findings.some((f) => f.includes("unanswered"))).toBe(true);
    const [isolationJudgement] = judge(reference, reference, {
      oracles: { isolation: "violation" },
    }).filter((j) => j.verdict.oracle === "isolation");
    expect(isolationJudgement?.asExpected).toBe(true);
    // The guest that behaves is untouched all the same.
    const g1 = reference.guests[0]!;
    expect(decode(wireOf(reference, g1.origin).map((w) => w.byte))).toBe(g1.traceText);
  });
});

describe("the isolation oracle catches what it is for", () => {
  test("a PD that died", () => {
    const v = isolation(withPdDead(hardened, "serial_virt_tx"));
    expect(v.findings).toContain("PD serial_virt_tx ended dead (it crashed)");
  });

  test("a transport that found broken queues and stayed healthy", () => {
    const v = isolation(withDeviceResetMissed(hardened, 1));
    expect(v.findings.some((f) => f.includes("without entering DEVICE_NEEDS_RESET"))).toBe(true);
  });

  test("a disturbed neighbour: a byte of guest1 lost on the wire", () => {
    const broken = withWireByteDropped(hardened, hardened.guests[0]!.origin, 3);
    expect(isolation(broken).findings.some((f) => f.startsWith("another guest disturbed"))).toBe(
      true,
    );
  });
});
