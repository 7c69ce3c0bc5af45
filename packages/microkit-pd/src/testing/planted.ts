/**
 * The runtime with a scheduler bug planted on purpose, so property suites can show that they
 * catch it. Never use outside tests.
 */
import type { PlantedSchedulerBug } from "../runtime/kernel.js";
import { System, type SystemOptions } from "../runtime/system.js";
import type { SystemDescription } from "../sdf/types.js";

export type { PlantedSchedulerBug };

export function systemWithPlantedBug(
  description: SystemDescription,
  options: SystemOptions,
  bug: PlantedSchedulerBug | undefined,
): System {
  return new System(description, options, bug === undefined ? {} : { plantedBug: bug });
}
