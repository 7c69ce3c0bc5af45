/**
 * Scenario knobs passed to every VMM (issue 13 item 4): `devicePreemption` (the VMM yields at its
 * console device's preemption points, so libvmm's lost wake-up at the VMM can happen in a
 * full-system run), `vmmFeatures` (EVENT_IDX, INDIRECT_DESC offered by the hardened console) and
 * `defects` (single defect switches of the VMM's console and transport, over the profile's).
 */
import { CONSOLE_DEFECTS, type ConsoleDefectSwitches } from "@vmmux/virtio-console";
import { DEFECTS, type DefectSwitches } from "@vmmux/virtio-core";
import type { VmmConfig } from "@vmmux/vmm";
import { z } from "zod";
import type { Knobs } from "../scenario.js";

const CONSOLE_NAMES = Object.keys(CONSOLE_DEFECTS) as (keyof ConsoleDefectSwitches)[];
const TRANSPORT_NAMES = Object.keys(DEFECTS) as (keyof DefectSwitches)[];

/**
 * The `defects` knob: a libvmm defect of the VMM's console (`@vmmux/virtio-console`'s
 * `CONSOLE_DEFECTS`) or transport (`@vmmux/virtio-core`'s `DEFECTS`) by name, `true` = behave
 * like libvmm, `false` = fixed, whatever the profile says for the others (DESIGN.md "Two
 * fidelity profiles": every defect is a named switch). E.g. `{ "txSignalIgnored": false }` under
 * `reference` acts on virt_tx's TX-channel signal (L13), so a wait the console's missing
 * re-check strands (T8) is not masked by the signal being ignored.
 */
export const defectsKnob = z.strictObject(
  Object.fromEntries(
    [...CONSOLE_NAMES, ...TRANSPORT_NAMES].map((name) => [name, z.boolean().optional()]),
  ) as Record<keyof ConsoleDefectSwitches | keyof DefectSwitches, z.ZodOptional<z.ZodBoolean>>,
);

/** What the VMM knobs set: only what the scenario gives. */
export type VmmKnobSettings = Pick<
  VmmConfig,
  "devicePreemption" | "features" | "consoleDefects" | "transportDefects"
>;

/** The VMM settings a scenario's knobs ask for, only those given (issue 13 item 4). */
export function vmmKnobs(knobs: Knobs): VmmKnobSettings {
  const f = knobs.vmmFeatures;
  const defects = knobs.defects ?? {};
  const pick = <N extends string>(names: readonly N[]) => {
    const chosen: Partial<Record<N, boolean>> = {};
    for (const name of names) {
      const on = (defects as Partial<Record<string, boolean>>)[name];
      if (on !== undefined) chosen[name] = on;
    }
    return Object.keys(chosen).length === 0 ? undefined : chosen;
  };
  const consoleDefects = pick(CONSOLE_NAMES);
  const transportDefects = pick(TRANSPORT_NAMES);
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
    ...(consoleDefects === undefined ? {} : { consoleDefects }),
    ...(transportDefects === undefined ? {} : { transportDefects }),
  };
}
