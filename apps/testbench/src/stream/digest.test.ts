/**
 * The streaming digest is a function of the observable outcome only: how the run was
 * observed (event log kept, drained or off; wire kept or not; progress slices) leaves it
 * unchanged, and a changed wire changes it.
 */
import { describe, expect, test } from "vitest";
import { runScenario } from "../run.js";
import { checkScenario } from "../system/check.js";
import { syntheticScenario, VirtTxDroppingBytes } from "../testing/index.js";
import { RunDigest } from "./digest.js";

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

describe("RunDigest over a constructed outcome", () => {
  const guest = {
    enqueued: Uint8Array.from([1, 2]),
    enqueuedTags: Uint32Array.from([10, 11]),
    enqueueTimes: new Float64Array(0),
    received: [{ byte: 0x61, tag: 5, at: Number.NaN }],
    loss: { T1: 0 },
    unpublished: 0,
    inputDropped: 0,
  };
  const end = { virtualTime: 1000, events: 42, idle: true, guests: [guest], loss: { R5: 0 } };
  const digest = (
    wire: readonly [number, number, number, number][],
    e: typeof end = end,
  ): string => {
    const d = new RunDigest();
    for (const w of wire) d.wire(...w);
    return d.finish(e);
  };
  const wire: [number, number, number, number][] = [
    [0x41, 7, 0, 100],
    [0x42, 8, 100, 200],
  ];

  test("every observable part counts", () => {
    const base = digest(wire);
    expect(digest(wire)).toBe(base);
    const variants = [
      digest([wire[0]!, [0x43, 8, 100, 200]]),
      digest([wire[0]!, [0x42, 9, 100, 200]]),
      digest([wire[0]!, [0x42, 8, 101, 200]]),
      digest([wire[0]!, [0x42, 8, 100, 201]]),
      digest([wire[0]!]),
      digest(wire, { ...end, events: 43 }),
      digest(wire, { ...end, virtualTime: 1001 }),
      digest(wire, { ...end, guests: [{ ...guest, received: [] }] }),
      digest(wire, { ...end, guests: [{ ...guest, enqueued: Uint8Array.from([1, 3]) }] }),
      digest(wire, { ...end, loss: { R5: 1 } }),
    ];
    expect(new Set([base, ...variants]).size).toBe(variants.length + 1);
  });

  test("the same however many wire records a batch holds (more than one batch)", () => {
    const many: [number, number, number, number][] = Array.from({ length: 10_000 }, (_, i) => [
      i & 0xff,
      i,
      i * 2,
      i * 2 + 1,
    ]);
    expect(digest(many)).toBe(digest(many));
    expect(digest(many)).not.toBe(digest(many.slice(0, 9_999)));
  });
});
