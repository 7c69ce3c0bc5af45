/**
 * The system campaign's oracle and its scripts: a given script replays the run its seed
 * draws, a failing run shrinks to a short script, an exception out of a PD fails a run, and
 * the honest guest's bytes held back behind a hostile unit are queued for the wire in order.
 */
import { FaultingVmm, unansweredUnmappedVmm } from "@vmmux/vmm/testing";
import { describe, expect, it } from "vitest";
import { hostileScript } from "../guests.js";
import { type CorpusEntry, entryName } from "./corpus.js";
import { runSystemCase, shrinkSystemCase } from "./system.js";

describe("system campaign", () => {
  it("replays a scenario seed's drawn script as a given script, with the same report", () => {
    for (const seed of [1, 2147483640]) {
      const drawn = runSystemCase(seed);
      expect(runSystemCase(seed, "hardened", hostileScript(seed, 1))).toEqual(drawn);
      expect(drawn.violations).toEqual([]);
    }
  });

  it("tags a hostile guest's F_EMERG_WRITE byte with its origin, so no other guest is blamed", () => {
    const r = runSystemCase(1, "hardened", {
      probe: false,
      ops: [{ op: "write", offset: 0x108, width: 4, value: 0x80 }],
    });
    expect(r.violations).toEqual([]);
    expect(r.other).toEqual({ sent: 120, delivered: 120, queued: 0, inOrder: true });
  });

  it("accepts the honest guest's bytes queued behind a 64 KiB hostile unit, in order", () => {
    // Scenario seed 89523856: the hostile guest publishes one 65536-byte chain just before the
    // honest guest's first line; virt_tx moves it whole into the driver queue (sddf-serial §5.3).
    const r = runSystemCase(89523856);
    expect(r.other).toEqual({ sent: 120, delivered: 0, queued: 120, inOrder: true });
    expect(r.violations).toEqual([]);
    // Seed 287609449: a hostile unit lands between two of the honest lines.
    const split = runSystemCase(287609449);
    expect(split.other).toEqual({ sent: 120, delivered: 88, queued: 32, inOrder: true });
    expect(split.violations).toEqual([]);
  });

  it("fails a run whose VMM throws, naming the PD", () => {
    const r = runSystemCase(5, "hardened", undefined, { vmm: (c) => new FaultingVmm(c, 1e6) });
    expect(r.violations.join("\n")).toMatch(/PD vmm_guest\d/);
  });

  it("shrinks a failing run to a short script that still fails the same way", () => {
    const variants = { vmm: unansweredUnmappedVmm };
    const script = hostileScript(1, 1);
    const withFar = {
      probe: true,
      ops: [...script.ops, { op: "far" as const, address: 0x900_0000, write: true }],
    };
    const failing = runSystemCase(1, "hardened", withFar, variants);
    expect(failing.violations.join("\n")).toMatch(/left unanswered/);
    const shrunk = shrinkSystemCase(failing, "hardened", withFar, { variants });
    expect(shrunk.script.ops.length).toBeLessThanOrEqual(2);
    expect(shrunk.script.ops.some((op) => op.op === "far")).toBe(true);
    expect(runSystemCase(1, "hardened", shrunk.script, variants).violations).toEqual(
      shrunk.report.violations,
    );
  });

  it("names a system entry by its seed, or by its script, seed and probe", () => {
    const seedOnly: CorpusEntry = {
      format: "vmmux-fuzz/1",
      suite: "system",
      profile: "hardened",
      scenarioSeed: 1,
      violations: [],
      found: { campaignSeed: 1 },
    };
    // The name of a seed-only entry is what it was before scripts (the corpus keeps its files).
    expect(entryName(seedOnly)).toBe("f2fc177cdb3a.json");
    const script = { ...seedOnly, script: [{ op: "kick", queue: 1 }] };
    const names = [
      entryName(script),
      entryName({ ...script, scenarioSeed: 2 }),
      entryName({ ...script, probe: false }),
    ];
    expect(new Set([entryName(seedOnly), ...names]).size).toBe(4);
    expect(entryName({ ...script, probe: true })).toBe(names[0]);
  });
});
