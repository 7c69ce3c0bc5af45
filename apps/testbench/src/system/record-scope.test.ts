/**
 * What a run records does not change what it reports: without a timeline, a kept log or an
 * `onEvent`, a run makes only the records its own checks read (microkit-pd's `recordStates` and
 * `recordCycles` off: a PD's faults, the UART's loss records). With a caller's `onEvent` every
 * record is made; the report JSON, verdicts and digests must be the same either way — here on
 * scenarios whose findings come from those records (a restarted VMM, a VMM left down, keys lost
 * to line errors and an overrun, a hostile guest's refused accesses).
 */
import { describe, expect, test } from "vitest";
import { runJson } from "../report.js";
import { loadScenario, type Scenario } from "../scenario.js";
import { bundledScenarioPath } from "../testing/fault-checks.js";
import { checkScenario } from "./check.js";

function observed(scenario: Scenario, everyRecord: boolean) {
  let records = 0;
  const { run, rerun, judgements } = checkScenario(scenario, {
    keepWire: false,
    ...(everyRecord ? { onEvent: () => void records++ } : {}),
  });
  return { json: runJson(run, judgements), rerun: rerun.digest, records };
}

/** vm-restart with its VMM left down (no restart): a PD fault that stays a finding. */
function leftDown(s: Scenario): Scenario {
  return {
    ...s,
    guests: s.guests.map((g, k) =>
      k === 0 && g.kind === "vm" ? { ...g, restart: { delay: 0.001, maxRestarts: 0 } } : g,
    ),
  };
}

describe("a run's records", () => {
  const cases: [string, () => Scenario][] = [
    ["vm-restart.json", () => loadScenario(bundledScenarioPath("vm-restart.json"))],
    [
      "vm-restart.json, VMM left down",
      () => leftDown(loadScenario(bundledScenarioPath("vm-restart.json"))),
    ],
    ["uart-errors.json", () => loadScenario(bundledScenarioPath("uart-errors.json"))],
    ["hostile-reference.json", () => loadScenario(bundledScenarioPath("hostile-reference.json"))],
  ];
  test.each(cases)(
    "%s: the same report, verdicts and digests with every record made",
    (_, load) => {
      const scenario = load();
      const all = observed(scenario, true);
      const own = observed(scenario, false);
      expect(all.records).toBeGreaterThan(1000); // every record was made for the caller
      expect(own.json).toEqual(all.json);
      expect(own.rerun).toBe(all.rerun);
    },
  );

  test("a VMM left down is still a finding without the per-cycle records", () => {
    const own = observed(leftDown(loadScenario(bundledScenarioPath("vm-restart.json"))), false);
    expect(JSON.stringify(own.json)).toMatch(/PD vmm_guest1 ended inactive/);
  });
});
