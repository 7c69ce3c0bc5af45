/**
 * The scenario knobs `devicePreemption`, `vmmFeatures` and `defects` reach every VMM's
 * configuration (issue 13 item 4), and a scenario without them builds VMMs configured as before.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { VmmProgram } from "@vmmux/vmm";
import { describe, expect, test } from "vitest";
import { ScenarioError } from "../errors.js";
import { loadScenario, parseScenario, withKnobs } from "../scenario.js";
import { buildSystem } from "../system/build.js";

const scenarioFile = fileURLToPath(
  new URL("../../../../traces/scenarios/vm-restart.json", import.meta.url),
);
const scenario = loadScenario(scenarioFile);

function vmmConfigs(knobs: Parameters<typeof withKnobs>[1]) {
  const built = buildSystem(withKnobs(scenario, knobs));
  return built.guests.map((g) => {
    const vmm = Object.values(g.programs)[0] as VmmProgram;
    return {
      devicePreemption: vmm.config.devicePreemption,
      features: vmm.config.features,
      ...(vmm.config.consoleDefects === undefined
        ? {}
        : { consoleDefects: vmm.config.consoleDefects }),
      ...(vmm.config.transportDefects === undefined
        ? {}
        : { transportDefects: vmm.config.transportDefects }),
    };
  });
}

describe("VMM knobs", () => {
  test("devicePreemption and vmmFeatures are passed to every VMM", () => {
    const configs = vmmConfigs({
      devicePreemption: true,
      vmmFeatures: { eventIdx: true, indirectDesc: false },
    });
    expect(configs).toEqual([
      { devicePreemption: true, features: { eventIdx: true, indirectDesc: false } },
      { devicePreemption: true, features: { eventIdx: true, indirectDesc: false } },
    ]);
  });

  test("absent knobs leave the VMMs' defaults", () => {
    expect(vmmConfigs({})).toEqual([
      { devicePreemption: undefined, features: undefined },
      { devicePreemption: undefined, features: undefined },
    ]);
  });

  test("defects switches one console or transport defect over the profile, the rest as it says", () => {
    const built = buildSystem(
      withKnobs(scenario, {
        profile: "reference",
        defects: { txSignalIgnored: false, edgeInterrupt: false },
      }),
    );
    const vmm = Object.values(built.guests[0]!.programs)[0] as VmmProgram;
    expect(vmm.config.consoleDefects).toEqual({ txSignalIgnored: false });
    expect(vmm.config.transportDefects).toEqual({ edgeInterrupt: false });
    // Under hardened (the scenario's profile) a single libvmm defect can be switched on.
    expect(vmmConfigs({ defects: { txNoRecheck: true } })[1]).toEqual({
      devicePreemption: undefined,
      features: undefined,
      consoleDefects: { txNoRecheck: true },
    });
  });

  test("a defect name no component has is refused where it stands", () => {
    const text = readFileSync(scenarioFile, "utf8").replace(
      '"knobs": {',
      '"knobs": {\n    "defects": { "txSignalIgnored": false, "noSuchDefect": true },',
    );
    expect(text).toContain("noSuchDefect");
    expect(() => parseScenario(text, scenarioFile)).toThrow(ScenarioError);
    expect(() => parseScenario(text, scenarioFile)).toThrow(/knobs\.defects/);
  });
});
