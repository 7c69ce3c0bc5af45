/**
 * Scenario knobs passed to every VMM (issue 13 item 4): `devicePreemption` (the VMM yields at its
 * console device's preemption points, so libvmm's lost wake-up at the VMM can happen in a
 * full-system run) and `vmmFeatures` (EVENT_IDX, INDIRECT_DESC offered by the hardened console).
 */
import type { VmmConfig } from "@vmmux/vmm";
import type { Knobs } from "../scenario.js";

/** The VMM settings a scenario's knobs ask for, only those given (issue 13 item 4). */
export function vmmKnobs(knobs: Knobs): Pick<VmmConfig, "devicePreemption" | "features"> {
  const f = knobs.vmmFeatures;
  return {
    ...(knobs.devicePreemption === undefined ? {} : { devicePreemption: knobs.devicePreemption }),
    ...(f === undefined
      ? {}
      : {
          features: {
            ...(f.eventIdx === undefined ? {} : { eventIdx: f.eventIdx }),
            ...(f.indirectDesc === undefined ? {} : { indirectDesc: f.indirectDesc }),
          },
        }),
  };
}
