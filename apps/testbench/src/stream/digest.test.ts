/**
 * The streaming digest is a function of the observable outcome only: how the run was
 * observed (event log kept, drained or off; wire kept or not; progress slices) leaves it
 * unchanged, and a changed wire changes it.
 */
import { describe, expect, test } from "vitest";
import { runScenario } from "../run.js";
import { checkScenario } from "../system/check.js";
import { syntheticScenario, VirtTxDroppingBytes } from "../testing/index.js";

const scenario = syntheticScenario({
  guests: [
    { output: [[0.001, "hello from one\r\n".repeat(20)]] },
    { output: [[0.0015, "two says hi\r\n".repeat(20)]] },
  ],
  keyboard: [{ at: 0.02, text: "ab\r" }],
  knobs: { durationLimit: 1 },
});

describe("run digest", () => {
  test("is the same however the run is observed", () => {
    const plain = runScenario(scenario);
    expect(plain.wire.length).toBeGreaterThan(500);
    const variants = [
      runScenario(scenario, { recordEvents: true }),
      runScenario(scenario, { recordEvents: true, retainLog: false }),
      runScenario(scenario, { keepWire: false }),
      runScenario(scenario, { progressStepNs: 1_000_000 }),
    ];
    for (const v of variants) expect(v.digest).toBe(plain.digest);
    expect(variants[2]!.wire).toEqual([]);
    expect(variants[2]!.wireKept).toBe(false);
  });

  test("changes when the wire changes (a virt_tx that drops bytes)", () => {
    const plain = runScenario(scenario);
    const dropping = runScenario(scenario, { variants: { virtTx: VirtTxDroppingBytes } });
    expect(dropping.digest).not.toBe(plain.digest);
  });

  test("a drained log still reports PD faults and keeps no timeline; a kept one does", () => {
    const drained = runScenario(scenario, { recordEvents: true, retainLog: false });
    expect(drained.pdFaults).toEqual([]);
    expect(drained.perfetto()).toBeUndefined();
    const kept = runScenario(scenario, { recordEvents: true });
    expect(kept.perfetto()?.traceEvents.length).toBeGreaterThan(100);
  });

  test("check's rerun keeps no wire and determinism compares digests", () => {
    const seen: number[] = [];
    const { run, rerun, judgements } = checkScenario(scenario, {
      onWire: (byte) => seen.push(byte),
    });
    expect(rerun.wireKept).toBe(false);
    expect(rerun.digest).toBe(run.digest);
    expect(seen).toEqual(run.wire.map((w) => w.byte));
    const determinism = judgements.find((j) => j.verdict.oracle === "determinism");
    expect(determinism?.verdict.ok).toBe(true);
  });
});
