/**
 * Each oracle passes on a sound run and fails on a run with the kind of fault it is there
 * for: a planted virtualiser bug, or a run result corrupted after the fact.
 */
import { VirtRxUnpublishedSwitch, VirtTxLineBlind } from "@vmmux/sddf-serial/testing";
import { beforeAll, describe, expect, test } from "vitest";
import {
  determinism,
  expectedRouting,
  integrity,
  interleaving,
  judge,
  progress,
  routing,
  splitLines,
} from "./oracles.js";
import { type RunResult, runScenario } from "./run.js";
import {
  VirtTxDroppingBytes,
  withKeystrokeMisrouted,
  withWireByteCorrupted,
  withWireByteDropped,
  withWireBytesSwapped,
} from "./testing/planted.js";
import { syntheticScenario } from "./testing/synthetic.js";

const lines = (k: number, n: number, t0: number) =>
  Array.from({ length: n }, (_, i) => [t0 + i * 0.001, `g${k} line ${i}\r\n`] as const);

/** Two guests printing 20 lines each, and typing that switches 0 → 1 → 0. */
const scenario = syntheticScenario({
  guests: [{ output: lines(1, 20, 0.01) }, { output: lines(2, 20, 0.0105) }],
  keyboard: [{ at: 0.05, text: "ab\x1c1\rcd\x1c0\ref" }],
  // QEMU's UART hands a typed burst to the driver at once, so virt_rx sees several
  // bytes (and a switch) in one pass.
  knobs: { uart: "qemu" },
});

let sound: RunResult;
beforeAll(() => {
  sound = runScenario(scenario);
});

describe("on a sound run", () => {
  test("every oracle passes", () => {
    for (const j of judge(sound, runScenario(scenario))) {
      expect(j.verdict.findings).toEqual([]);
      expect(j.asExpected).toBe(true);
    }
  });
});

describe("integrity", () => {
  test("catches a virt_tx that silently drops client bytes", () => {
    const run = runScenario(scenario, { variants: { virtTx: VirtTxDroppingBytes } });
    const v = integrity(run);
    expect(v.ok).toBe(false);
    expect(v.findings[0]).toMatch(/missing inside guest streams but loss point T7 counted only 0/);
  });

  test("catches a byte lost on the wire", () => {
    const v = integrity(withWireByteDropped(sound, 2, 5));
    expect(v.ok).toBe(false);
    expect(v.findings.join("\n")).toContain("guest2: byte(s) #5..#5 missing");
  });

  test("catches two bytes swapped", () => {
    const v = integrity(withWireBytesSwapped(sound, 1, 3));
    expect(v.ok).toBe(false);
    expect(v.findings.join("\n")).toMatch(/guest1: byte #3 appears again or out of order/);
  });

  test("catches a byte altered on the way", () => {
    const v = integrity(withWireByteCorrupted(sound, 1, 0));
    expect(v.findings).toEqual(["guest1: byte #0 left the wire as 'G' but was written as 'g'"]);
  });
});

describe("routing", () => {
  test("predicts virt_rx's destinations from the switch sequences (sddf-serial §6.2)", () => {
    const { destination, finalClient } = expectedRouting(sound);
    // "ab" → 0, "\x1c1\r" consumed, "cd" → 1, "\x1c0\r" consumed, "ef" → 0.
    expect(destination).toEqual([0, 0, null, null, null, 1, 1, null, null, null, 0, 0]);
    expect(finalClient).toBe(0);
  });

  test("an escaped switch character reaches the current guest; an invalid client number switches nothing", () => {
    const keys = Array.from("\x1c\x1cx\x1c7\ry", (c) => ({ byte: c.charCodeAt(0), tag: 0, at: 0 }));
    const { destination } = expectedRouting({ ...sound, keyboard: keys });
    expect(destination).toEqual([null, 0, 0, null, null, null, 0]);
  });

  test("catches a virt_rx that forgets to publish the old guest's bytes at a switch", () => {
    const run = runScenario(scenario, { variants: { virtRx: VirtRxUnpublishedSwitch } });
    const v = routing(run);
    expect(v.ok).toBe(false);
    expect(v.findings[0]).toMatch(
      /typed byte\(s\) reached no guest; counted: 0 at R5, 0 at R8, 0 still before virt_rx/,
    );
  });

  test("counts bytes still unread in a guest's RX queue as reached, also when the limit cut the run", () => {
    // guest1 computes (cpu busy) until 0.5 s, so it cannot read what is typed at 10 ms.
    const busy = syntheticScenario({
      guests: [
        {
          output: [
            [0.001, "a\n"],
            [0.5, "b\n"],
          ],
          cpu: "busy",
        },
        { output: [] },
      ],
      keyboard: [{ at: 0.01, text: "xy" }],
      knobs: { durationLimit: 0.1 },
    });
    const run = runScenario(busy);
    expect(run.idle).toBe(false);
    expect(run.guests[0]!.received).toEqual([]);
    expect(run.guests[0]!.rxPending.map((r) => r.byte)).toEqual([0x78, 0x79]);
    const v = routing(run);
    expect(v.ok).toBe(true);
    expect(v.notes).toContain("2 typed byte(s) were still unread in guest RX queues at the end");
    // Had virt_rx lost them, the oracle would say so although the run did not go idle.
    const lost = { ...run, guests: run.guests.map((g) => ({ ...g, rxPending: [] })) };
    expect(routing(lost).findings[0]).toBe(
      "2 typed byte(s) reached no guest; counted: 0 at R5, 0 at R8, 0 still before virt_rx",
    );
  });

  test("catches a keystroke delivered to the wrong guest", () => {
    const v = routing(withKeystrokeMisrouted(sound, 0, 1));
    expect(v.ok).toBe(false);
    expect(v.findings[0]).toBe("keyboard byte #0 ('a') reached guest2 but belonged to guest1");
  });
});

describe("interleaving", () => {
  /** guest1 echoes a typed word (one unbuffered publish per byte) while guest2 prints lines. */
  const typing = (lineAtomic: boolean) =>
    syntheticScenario({
      guests: [
        { output: [], input: "echo" },
        {
          output: Array.from({ length: 30 }, (_, i) => [0.0012 + i * 0.0005, `g2 ${i}\n`] as const),
        },
      ],
      keyboard: [
        { at: 0.001, text: "abcdefgh" },
        { at: 0.02, text: "\r" },
      ],
      knobs: { lineAtomic },
    });

  test("without the option, an echoed line is split by the other guest and only counted", () => {
    const run = runScenario(typing(false));
    expect(splitLines(run).map((s) => [s.guest, s.length])).toEqual([["guest1", 10]]);
    expect(interleaving(run).ok).toBe(true);
  });

  test("with the line-atomic mux the echoed line travels whole", () => {
    const run = runScenario(typing(true));
    expect(splitLines(run)).toEqual([]);
    expect(interleaving(run).ok).toBe(true);
  });

  test("catches a line-atomic virt_tx that does not hold back partial lines", () => {
    const v = interleaving(runScenario(typing(true), { variants: { virtTx: VirtTxLineBlind } }));
    expect(v.ok).toBe(false);
    expect(v.findings[0]).toMatch(
      /^guest1: a 10-byte line \(which fits\) was split after its byte #\d+/,
    );
  });
});

describe("determinism", () => {
  test("catches runs that differ", () => {
    const v = determinism(sound, { ...withWireByteCorrupted(sound, 1, 4), digest: "0".repeat(64) });
    expect(v.ok).toBe(false);
    expect(v.findings[1]).toMatch(/^first difference at wire byte \d+/);
  });
});

describe("progress", () => {
  test("holds the run to the scenario's expectations and reports the measured numbers", () => {
    const ok = progress(sound, { guests: { guest1: { complete: true, firstByteBefore: 0.02 } } });
    expect(ok.ok).toBe(true);
    expect(ok.notes[0]).toMatch(/^guest1: first byte at 0\.01\d s/);
    const late = progress(sound, { guests: { guest2: { firstByteAfter: 1 } } });
    expect(late.findings[0]).toMatch(/^guest2: first byte at 0\.01\d s, expected after 1 s$/);
  });

  test("an expected violation under the scenario is a finding, not a failure", () => {
    const broken = withWireByteDropped(sound, 1, 0);
    const [integrityJudgement] = judge(broken, broken, { oracles: { integrity: "violation" } });
    expect(integrityJudgement!.verdict.ok).toBe(false);
    expect(integrityJudgement!.asExpected).toBe(true);
  });
});
