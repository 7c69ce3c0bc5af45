/**
 * `kind: "vm"` guests: Linux guest models on the vCPUs of two libvmm-style VMMs whose VirtIO
 * consoles are sDDF serial clients (`traces/systems/vm-two-guests.system`).
 */
import { beforeAll, describe, expect, test } from "vitest";
import { guestMetrics, wireOf } from "./metrics.js";
import { integrity, routing } from "./oracles.js";
import { type RunResult, runScenario } from "./run.js";
import { VirtTxDroppingBytes } from "./testing/planted.js";
import { syntheticScenario } from "./testing/synthetic.js";

const decode = (bytes: Iterable<number>) => new TextDecoder().decode(Uint8Array.from(bytes));
const lines = (k: number, n: number, t0: number) =>
  Array.from({ length: n }, (_, i) => [t0 + i * 0.001, `g${k} line ${i}\r\n`] as const);

const scenario = syntheticScenario({
  kind: "vm",
  guests: [{ output: lines(1, 20, 0.01) }, { output: lines(2, 20, 0.0105) }],
  keyboard: [{ at: 0.05, text: "ab\x1c1\rcd\x1c0\ref\r" }],
  knobs: { durationLimit: 0.1 },
});

let run: RunResult;
beforeAll(() => {
  run = runScenario(scenario);
});

describe("two VM guests on one UART", () => {
  test("each guest boots, probes its console and its trace reaches the wire complete, then its echo", () => {
    const [g1, g2] = run.guests;
    expect(decode(wireOf(run, g1!.origin).map((w) => w.byte))).toBe(`${g1!.traceText}abef\r\n`);
    expect(decode(wireOf(run, g2!.origin).map((w) => w.byte))).toBe(`${g2!.traceText}cd`);
    expect(run.guests.map((g) => g.findings)).toEqual([[], []]);
  });

  test("typed input reaches the guest selected at the time, through virt_rx and the console", () => {
    expect(run.guests.map((g) => decode(g.received.map((r) => r.byte)))).toEqual(["abef\r", "cd"]);
    expect(routing(run).ok).toBe(true);
  });

  test("integrity holds by provenance tags, and catches a virt_tx that drops bytes", () => {
    expect(integrity(run).findings).toEqual([]);
    const broken = runScenario(scenario, { variants: { virtTx: VirtTxDroppingBytes } });
    expect(integrity(broken).ok).toBe(false);
  });
});

describe("unequal VM priorities", () => {
  test("the lower guest runs only while the higher one waits for its VMM, and falls behind", () => {
    const withPriority = (priority: number) =>
      runScenario(
        syntheticScenario({
          kind: "vm",
          guests: [{ output: lines(1, 5, 0.01) }, { output: lines(2, 5, 0.01) }],
          knobs: { durationLimit: 0.1, pds: { guest1: { priority } } },
        }),
      );
    const equal = withPriority(100);
    const unequal = withPriority(110);
    const first = (r: RunResult, k: number) => guestMetrics(r, r.guests[k]!).firstByteAt!;
    // guest1's trace starts at 10 ms (after 2 ms of boot); at equal priority both are out by ~12 ms.
    expect(first(equal, 1)).toBeLessThan(0.015);
    // At 110, guest1's vCPU yields only while its trapped exits wait for VMM1 (priority 100),
    // and guest2's vCPU shares those gaps with VMM1: its first byte comes tens of ms later.
    expect(first(unequal, 0)).toBeLessThan(0.015);
    expect(first(unequal, 1) - first(equal, 1)).toBeGreaterThan(0.02);
    for (const r of [equal, unequal]) expect(integrity(r).ok).toBe(true);
  });
});
