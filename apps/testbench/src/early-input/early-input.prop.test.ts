/**
 * Early input over typing times (issue 13 item 5). A key typed to guest1 at any time from power-on
 * to just after its console probe, then a key at the prompt: the `input` oracle closes under both
 * profiles; the hardened console (single port or MULTIPORT) delivers every byte; the reference
 * console loses early bytes only at named places. Both reference branches are shown reachable:
 * the L14 discard (typed during boot) and the guest driver's add_port flush (typed in the probe's
 * window, 100.2 ms here).
 */
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { runScenario } from "../run.js";
import { parseScenario } from "../scenario.js";
import { inputAccount, inputAccounting } from "./account.js";

const scenarios = fileURLToPath(new URL("../../../../traces/scenarios/", import.meta.url));
const runs = Number(process.env.VMMUX_PROP_RUNS ?? 10);

function scenario(at: number, profile: "reference" | "hardened", multiport: boolean) {
  const doc = {
    system: "../systems/vm-two-guests.system",
    guests: ["guest1", "guest2"].map((name) => ({
      name,
      kind: "vm",
      trace: `early-input-${name}.cast`,
      thenShell: true,
      boot: 0.05,
    })),
    keyboard: [
      { at, text: "x" },
      { at: 0.15, text: "\r" },
    ],
    knobs: {
      profile,
      seed: 1,
      durationLimit: 0.2,
      ...(multiport ? { vmmFeatures: { multiport: true } } : {}),
    },
  };
  return parseScenario(JSON.stringify(doc), `${scenarios}early-input-prop.json`);
}

describe("early input at any time (property)", () => {
  test("every typed byte has a place; hardened delivers all, reference drops only at L14 or add_port's flush", () => {
    const seen = new Set<string>();
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 1040 }).map((n) => n / 10_000),
        fc.constantFrom("reference", "hardened") as fc.Arbitrary<"reference" | "hardened">,
        fc.boolean(),
        (at, profile, multiport) => {
          const run = runScenario(scenario(at, profile, multiport && profile === "hardened"));
          const verdict = inputAccounting(run);
          expect(verdict.findings).toEqual([]);
          const g = inputAccount(run).guests[0]!;
          expect(g.typed).toBe(2);
          const dropped = g.places.filter((p) => p.bytes > 0 && !p.waiting).map((p) => p.name);
          for (const name of dropped) seen.add(name);
          if (profile === "hardened") {
            expect(dropped).toEqual([]);
            expect(g.delivered).toBe(2);
          } else {
            for (const name of dropped)
              expect(["R8_deviceNotReadyDiscarded", "guestDriverFlushedInAddPort"]).toContain(name);
          }
        },
      ),
      {
        seed: 0xea71,
        numRuns: runs,
        examples: [
          [0.001, "reference", false],
          [0.1002, "reference", false],
          [0.1002, "hardened", false],
          [0.1002, "hardened", true],
        ],
      },
    );
    expect([...seen].sort()).toEqual(["R8_deviceNotReadyDiscarded", "guestDriverFlushedInAddPort"]);
  });
});
