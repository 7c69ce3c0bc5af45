/**
 * DESIGN.md oracles 1 and 2 over generated scenarios: whatever two guests print, whatever
 * is typed (switch sequences, escapes, invalid numbers included), under either profile,
 * with or without colour, at any client priorities and queue sizes, the UART output
 * attributed to each guest is what it wrote (except counted loss points) and every typed
 * byte reaches exactly the guest selected at that moment.
 *
 * With the line-atomic mux (hardened), no line that could travel whole is split by the
 * other guest's bytes (oracle 3).
 *
 * Each property is shown to fail on a planted bug: a virt_tx that drops client bytes, a
 * virt_rx that forgets to publish at a switch, a line-atomic virt_tx that does not hold
 * back partial lines.
 */
import { VirtRxUnpublishedSwitch, VirtTxLineBlind } from "@vmmux/sddf-serial/testing";
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { integrity, interleaving, routing } from "./oracles.js";
import { type RunVariants, runScenario } from "./run.js";
import type { KeyStroke, Knobs } from "./scenario.js";
import { VirtTxDroppingBytes } from "./testing/planted.js";
import { type SyntheticGuest, syntheticScenario } from "./testing/synthetic.js";

const numRuns = Number(process.env.VMMUX_PROP_RUNS ?? 20);
const seed = 0x7e57;

const output: fc.Arbitrary<SyntheticGuest["output"]> = fc
  .array(fc.tuple(fc.integer({ min: 0, max: 4000 }), fc.stringMatching(/^[a-z \n]{1,60}$/)), {
    maxLength: 12,
  })
  .map((events) => {
    let t = 0.001;
    return events.map(([gapUs, text]) => {
      t += gapUs / 1e6;
      return [t, text] as const;
    });
  });

const guest: fc.Arbitrary<SyntheticGuest> = fc.record({
  output,
  cpu: fc.constantFrom("idle" as const, "busy" as const),
  input: fc.constantFrom("echo" as const, "record" as const),
});

const keyboard: fc.Arbitrary<KeyStroke[]> = fc.array(
  fc.record({
    at: fc.integer({ min: 0, max: 40_000 }).map((us) => us / 1e6),
    text: fc
      .array(
        fc.constantFrom("a", "b", "\r", "\x1c", "0", "1", "7", "\x1c0\r", "\x1c1\r", "\x1c\x1c"),
        {
          minLength: 1,
          maxLength: 6,
        },
      )
      .map((parts) => parts.join("")),
  }),
  { maxLength: 6 },
);

const knobs: fc.Arbitrary<Partial<Knobs>> = fc
  .record({
    profile: fc.constantFrom("reference" as const, "hardened" as const),
    colour: fc.boolean(),
    uart: fc.constantFrom("hardware" as const, "qemu" as const),
    client: fc.constantFrom(0x1000, 0x10000),
    driver: fc.constantFrom(0x1000, 0x20000),
    p1: fc.integer({ min: 1, max: 150 }),
    p2: fc.integer({ min: 1, max: 150 }),
  })
  .map((k) => ({
    profile: k.profile,
    colour: k.colour,
    uart: k.uart,
    durationLimit: 2,
    queueSizes: { client: k.client, driver: k.driver },
    pds: { guest1: { priority: k.p1 }, guest2: { priority: k.p2 } },
  }));

const scenarios = fc
  .record({ g1: guest, g2: guest, keyboard, knobs })
  .map(({ g1, g2, keyboard, knobs }) => syntheticScenario({ guests: [g1, g2], keyboard, knobs }));

/** Hardened, line-atomic, typing echoed by guest1 while both print. */
const lineAtomicScenarios = fc
  .record({ g1: output, g2: output, keyboard, knobs })
  .map(({ g1, g2, keyboard, knobs }) =>
    syntheticScenario({
      guests: [
        { output: g1, input: "echo" },
        { output: g2, input: "echo" },
      ],
      keyboard,
      knobs: { ...knobs, profile: "hardened", lineAtomic: true },
    }),
  );

function holds(variants: RunVariants, oracle: typeof integrity, from = scenarios) {
  return fc.property(from, (scenario) => {
    const v = oracle(runScenario(scenario, { variants }));
    if (!v.ok) throw new Error(v.findings.join("\n"));
  });
}

describe("integrity over generated scenarios", () => {
  test("each guest's attributed wire bytes are what it wrote, in order, except counted losses", () => {
    fc.assert(holds({}, integrity), { numRuns, seed });
  });

  test("fails on the planted virt_tx that drops client bytes", () => {
    const result = fc.check(holds({ virtTx: VirtTxDroppingBytes }, integrity), {
      numRuns: 50,
      seed,
      endOnFailure: true,
    });
    expect(result.failed).toBe(true);
  });
});

describe("routing over generated scenarios", () => {
  test("each typed byte reaches exactly the guest selected at that moment", () => {
    fc.assert(holds({}, routing), { numRuns, seed });
  });

  test("fails on the planted virt_rx that does not publish at a switch", () => {
    const result = fc.check(holds({ virtRx: VirtRxUnpublishedSwitch }, routing), {
      numRuns: 100,
      seed,
      endOnFailure: true,
    });
    expect(result.failed).toBe(true);
  });
});

describe("interleaving over generated scenarios", () => {
  test("with the line-atomic mux no guest line that fits is split by the other guest", () => {
    fc.assert(holds({}, interleaving, lineAtomicScenarios), { numRuns, seed });
  });

  test("fails on the planted line-atomic virt_tx that does not hold back partial lines", () => {
    const result = fc.check(holds({ virtTx: VirtTxLineBlind }, interleaving, lineAtomicScenarios), {
      numRuns: 100,
      seed,
      endOnFailure: true,
    });
    expect(result.failed).toBe(true);
  });
});
