/**
 * The system campaign's guests with a given hostile script: the scenario's guests as
 * `system/build.ts` builds them, except that the hostile one runs `script` instead of the
 * script drawn from the scenario seed, so a shrunk counterexample replays as a script. The
 * hostile guest is built as `guests.ts` builds one (`vmGuest`); a test shows that both give
 * the same run for the drawn script.
 */
import { customMachine, type VmmConfig, VmmProgram } from "@vmmux/vmm";
import { HostileGuest, type HostileScript } from "@vmmux/vmm/testing";
import { vmmKnobs } from "../faults/vmm-knobs.js";
import {
  type BuiltGuest,
  buildGuest,
  hostileBuilt,
  NeedsResetWatch,
  vmmConfigOf,
} from "../guests.js";
import type { Scenario, ScenarioGuest } from "../scenario.js";
import type { SystemBuildOptions } from "../system/build.js";
import type { GuestWiring } from "../wiring.js";

/**
 * A guest factory for `runScenario`'s `guest` option: guest `hostileIndex` runs `script`;
 * `makeVmm` builds every VMM (`RunVariants.vmm`).
 */
export function withHostileScript(
  scenario: Scenario,
  hostileIndex: number,
  script: HostileScript,
  makeVmm?: (config: VmmConfig) => VmmProgram,
): NonNullable<SystemBuildOptions["guest"]> {
  const knobs = scenario.knobs;
  return (g: ScenarioGuest, w: GuestWiring, index: number): BuiltGuest => {
    const vmm = { ...vmmKnobs(knobs), origin: w.index + 1 };
    if (index !== hostileIndex)
      return buildGuest(g, w, {
        profile: knobs.profile,
        seed: knobs.seed,
        ...(makeVmm === undefined ? {} : { makeVmm }),
        vmm,
      });
    if (w.kind !== "vm") throw new Error(`wiring of ${g.name} is not a VMM PD`);
    const watch = new NeedsResetWatch();
    const config: Omit<VmmConfig, "boot"> = {
      ...vmmConfigOf(w, knobs.profile),
      ...vmm,
      wfi: "block",
    };
    const vm = customMachine(
      config,
      () => new HostileGuest(script, w.ramRegion),
      (c) => {
        const program = makeVmm?.(c) ?? new VmmProgram(c);
        watch.attach(program);
        return program;
      },
    );
    return hostileBuilt(vm, w, watch);
  };
}
