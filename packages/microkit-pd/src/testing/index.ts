/**
 * Test support for packages that write PD programs or device models.
 */
export type {
  DomainsSpec,
  EndSpec,
  MapSpec,
  PdSpec,
  RegionSpec,
  SystemSpec,
  VmSpec,
} from "./describe-system.js";
export { describeSystem } from "./describe-system.js";
export { type PlantedSliceBug, plantedSliceCrossing } from "./fast-forward-planted.js";
export {
  bandwidthViolations,
  comparableLogs,
  leapWindows,
  lostSignals,
  outsideLeaps,
  priorityViolations,
} from "./log-checks.js";
export type { ManualPdCall, ManualPdOptions, ManualRegionSpec } from "./manual-pd.js";
export { ManualPd, ManualPdFault } from "./manual-pd.js";
export type {
  PlantedFastForwardBug,
  PlantedInlineBug,
  PlantedKernel,
  PlantedSchedulerBug,
} from "./planted.js";
export {
  leakyBootOrder,
  plantedFastForward,
  plantedInlineSteps,
  systemWithPlantedBug,
} from "./planted.js";
export type { ProgramParts } from "./programs.js";
export { pdProgram } from "./programs.js";
export { scenarioSystem } from "./scenario.js";
export { plantedSpinReplay, plantedSpinTicks, plantedStepTicks } from "./spin-planted.js";
