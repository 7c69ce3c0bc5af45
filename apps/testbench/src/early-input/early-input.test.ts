/**
 * Early input (issue 13 item 5): the bundled early-input scenarios are green under `check`
 * with every typed byte at a named place; under reference the console's L14 discard and the
 * guest driver's add_port flush are named; hardened (single port and MULTIPORT) loses nothing;
 * a console that drops input before DRIVER_OK without counting is caught by the `input` oracle.
 */
import { fileURLToPath } from "node:url";
import { createUncountedEarlyDropConsole } from "@vmmux/virtio-console/testing";
import { type VmmConfig, VmmProgram } from "@vmmux/vmm";
import { describe, expect, test } from "vitest";
import { runScenario } from "../run.js";
import { loadScenario } from "../scenario.js";
import { checkScenario } from "../system/check.js";
import { inputAccount, inputAccounting } from "./account.js";

const scenarioPath = (name: string) =>
  fileURLToPath(new URL(`../../../../traces/scenarios/${name}`, import.meta.url));

/** A VMM whose console is the planted device (the VMM's documented `createConsole` point). */
class EarlyDropVmm extends VmmProgram {
  protected override createConsole(options: Parameters<VmmProgram["createConsole"]>[0]) {
    return createUncountedEarlyDropConsole(options);
  }
}

const placesOf = (run: ReturnType<typeof runScenario>, guest: number) =>
  Object.fromEntries(
    inputAccount(run)
      .guests[guest]!.places.filter((p) => p.bytes > 0)
      .map((p) => [p.name, p.bytes]),
  );

describe("early input, accounted by name", () => {
  for (const [file, profile] of [
    ["early-input.json", "hardened"],
    ["early-input-multiport.json", "hardened"],
    ["early-input-reference.json", "reference"],
  ] as const) {
    test(`${file}: check is green and the input oracle sums every typed byte`, () => {
      const scenario = loadScenario(scenarioPath(file));
      expect(scenario.knobs.profile).toBe(profile);
      const { run, judgements } = checkScenario(scenario);
      expect(judgements.filter((j) => !j.asExpected).map((j) => j.verdict.oracle)).toEqual([]);
      const input = judgements.find((j) => j.verdict.oracle === "input");
      expect(input?.verdict.ok).toBe(true);
      const account = inputAccount(run);
      for (const g of account.guests) {
        expect(g.unaccounted).toBe(0);
        expect(g.early).toBeGreaterThan(0);
      }
      if (profile === "hardened") {
        // Nothing the guest's driver would accept is dropped: every typed byte reached its tty.
        for (const g of account.guests) {
          expect(g.delivered).toBe(g.typed);
          expect(g.earlyDelivered).toBe(g.early);
          expect(g.heldFirst).toBe(g.early);
        }
      } else {
        // libvmm discards while queue 0 is not ready (L14); the space typed during the probe
        // lands in add_port's window and the guest's own driver flushes it (virtio §5.2).
        expect(placesOf(run, 0)).toEqual({
          R8_deviceNotReadyDiscarded: 12,
          guestDriverFlushedInAddPort: 1,
        });
        expect(placesOf(run, 1)).toEqual({ R8_deviceNotReadyDiscarded: 12 });
        for (const g of account.guests) expect(g.earlyDelivered).toBe(0);
      }
    });
  }

  test("catches the planted console that drops input before DRIVER_OK without counting it", () => {
    const scenario = loadScenario(scenarioPath("early-input.json"));
    const run = runScenario(scenario, {
      variants: { vmm: (config: VmmConfig) => new EarlyDropVmm(config) },
    });
    const verdict = inputAccounting(run);
    expect(verdict.ok).toBe(false);
    expect(verdict.findings.join("\n")).toMatch(
      /24 typed byte\(s\) are in no named place \(guest1 12, guest2 12 not accounted for/,
    );
  });
});
