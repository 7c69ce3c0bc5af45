/**
 * Fast-forward is exact (DESIGN.md "Cost follows work", issue 12 items 1 and 3): with the
 * kernel's `fastForward` and `inlineSteps` and the PL011's arithmetic drain on, and with all off,
 * a run gives the same wire bytes with their tags and times, the
 * same report JSON (event count and digest included), the same oracle verdicts and digests —
 * over every bundled scenario (its first virtual seconds) and over generated ones: random
 * traces, priorities, budgets, periods, queue sizes, both profiles, the line-atomic mux and
 * schedule seeds (testing/generated-scenarios.ts).
 * Skips, saying so, while the runtime has no `fastForward` option.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { plantedFastForward } from "@vmmux/microkit-pd/testing";
import { LateDrainDevice } from "@vmmux/pl011-uart/testing";
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { runJson } from "../report.js";
import { type RunOptions, runScenario } from "../run.js";
import { loadScenario, type Scenario, withKnobs } from "../scenario.js";
import { checkScenario } from "../system/check.js";
import { runtimeHasFastForward } from "../testing/fast-forward.js";
import { generatedSystem as generated, generatedCase } from "../testing/generated-scenarios.js";

const numRuns = Number(process.env.VMMUX_PROP_RUNS ?? 200);
const seed = 0xf0f0;
const supported = runtimeHasFastForward();
const scenariosDir = fileURLToPath(new URL("../../../../traces/scenarios/", import.meta.url));
/** Virtual seconds of each bundled scenario compared (the boots and first output). */
const BUNDLED_SECONDS = 1.5;

/** Everything observable of `scenario`'s check, with fast-forward `on`. */
function observe(
  scenario: Scenario,
  on: boolean,
  schedule?: RunOptions["schedule"],
  variants?: RunOptions["variants"],
) {
  // Off simulates everything: every trap, and the PL011's state machine at every character's
  // end (its arithmetic drain and the kernel's leaps past inert ticks are on only with `on`).
  const { run, rerun, judgements } = checkScenario(scenario, {
    fastForward: on,
    inlineSteps: on,
    exactCharacterEvents: !on,
    ...(schedule === undefined ? {} : { schedule }),
    ...(variants === undefined ? {} : { variants }),
  });
  return {
    wire: run.wire,
    json: runJson(run, judgements),
    rerunDigest: rerun.digest,
  };
}

function expectSame(
  scenario: Scenario,
  schedule?: RunOptions["schedule"],
  variants?: RunOptions["variants"],
): void {
  const on = observe(scenario, true, schedule, variants);
  const off = observe(scenario, false, schedule);
  expect(on.wire).toEqual(off.wire);
  expect(on.json).toEqual(off.json);
  expect(on.rerunDigest).toBe(off.rerunDigest);
}

describe.skipIf(!supported)(
  supported
    ? "fast-forward is exact"
    : "fast-forward is exact (skipped: the runtime has no `fastForward` option yet)",
  () => {
    // real-*.json boot a real guest, whose emulator starts asynchronously (real/prepare.ts).
    test.each(
      readdirSync(scenariosDir).filter(
        (f) => f.endsWith(".json") && f !== "scenario.schema.json" && !f.startsWith("real-"),
      ),
    )("bundled %s: same wire, report, verdicts and digests on and off", (name) => {
      const scenario = loadScenario(`${scenariosDir}${name}`);
      expectSame(
        withKnobs(scenario, {
          durationLimit: Math.min(scenario.knobs.durationLimit, BUNDLED_SECONDS),
        }),
      );
    });

    // The folded timeline (`replay --out`) shows idle stretches the same whether leapt or not.
    test.each(
      readdirSync(scenariosDir).filter(
        (f) => f.endsWith(".json") && f !== "scenario.schema.json" && !f.startsWith("real-"),
      ),
    )("bundled %s: the same Perfetto file on and off", async (name) => {
      const scenario = withKnobs(loadScenario(`${scenariosDir}${name}`), {
        durationLimit: BUNDLED_SECONDS,
      });
      const dir = mkdtempSync(join(tmpdir(), "vmmux-ff-perfetto-"));
      const file = (on: boolean) => {
        const path = join(dir, `${on}.perfetto.json`);
        const run = runScenario(scenario, {
          recordEvents: true,
          retainLog: false,
          keepWire: false,
          perfettoFile: path,
          perfettoFold: true,
          fastForward: on,
          inlineSteps: on,
          exactCharacterEvents: !on,
        });
        return run.streamed.then(() => readFileSync(path, "utf8"));
      };
      const [on, off] = [await file(true), await file(false)];
      rmSync(dir, { recursive: true });
      expect(on.length).toBeGreaterThan(1000);
      expect(on === off).toBe(true);
    });

    test("generated scenarios: same wire, report, verdicts and digests on and off", () => {
      fc.assert(
        fc.property(generated, (g) => {
          expectSame(...generatedCase(g));
        }),
        { numRuns, seed },
      );
    });

    test("a planted PL011 drain that finishes each character one character time late is caught", () => {
      const bundled = withKnobs(loadScenario(`${scenariosDir}default.json`), {
        durationLimit: BUNDLED_SECONDS,
      });
      expect(() => expectSame(bundled, undefined, { uart: LateDrainDevice })).toThrow();
    });

    test("a planted fast-forward that runs one idle period past a slice is caught", () => {
      const planted = { kernel: plantedFastForward("period-past-slice").parts };
      const bundled = withKnobs(loadScenario(`${scenariosDir}default.json`), {
        durationLimit: BUNDLED_SECONDS,
      });
      // In the full system the overshoot shows as a timer armed in the past (the kernel
      // refuses it), before any output can differ.
      expect(() => expectSame(bundled, undefined, planted)).toThrow(/armed a timer of -/);
      expect(() =>
        fc.assert(
          fc.property(generated, (g) => {
            expectSame(...generatedCase(g), planted);
          }),
          { numRuns, seed },
        ),
      ).toThrow(/Property failed/);
    });
  },
);
