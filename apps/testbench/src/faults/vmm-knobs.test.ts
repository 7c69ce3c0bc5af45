/**
 * The scenario knobs `devicePreemption` and `vmmFeatures` reach every VMM's configuration
 * (issue 13 item 4), and a scenario without them builds VMMs configured as before.
 */
import { fileURLToPath } from "node:url";
import type { VmmProgram } from "@vmmux/vmm";
import { describe, expect, test } from "vitest";
import { loadScenario, withKnobs } from "../scenario.js";
import { buildSystem } from "../system/build.js";

const scenario = loadScenario(
  fileURLToPath(new URL("../../../../traces/scenarios/vm-restart.json", import.meta.url)),
);

function vmmConfigs(knobs: Parameters<typeof withKnobs>[1]) {
  const built = buildSystem(withKnobs(scenario, knobs));
  return built.guests.map((g) => {
    const vmm = Object.values(g.programs)[0] as VmmProgram;
    return { devicePreemption: vmm.config.devicePreemption, features: vmm.config.features };
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
});
