/**
 * Test support for packages above @vmmux/virtio-console: a wired console rig (device,
 * transport, sDDF queues, Linux front end), a direct MMIO adapter, the hostile fuzzer and its
 * campaigns with JSON counterexamples, and the planted bugs.
 */

export type { HostileArbOptions } from "./arbitraries.js";
export { hostileOpArb, hostileRunArb } from "./arbitraries.js";
export type {
  ConsoleCampaignOptions,
  ConsoleCampaignResult,
  ConsoleCounterexample,
} from "./campaign.js";
export {
  CONSOLE_SCRIPT_MAX_LENGTH,
  consoleScriptArb,
  replayConsole,
  runConsoleCampaign,
} from "./campaign.js";
export { createUncountedEarlyDropConsole, UncountedEarlyDropConsole } from "./early-drop.js";
export type { HostileOp, HostileReport, HostileRunOptions } from "./hostile.js";
export { FUZZ_DATA_BASE, FUZZ_DATA_SIZE, FUZZ_QUEUE_SIZE, runHostile } from "./hostile.js";
export type {
  ConsoleScenario,
  EnvStep,
  GuestWrite,
  ScenarioOptions,
  ScenarioOutcome,
} from "./lossless.js";
export { runScenario } from "./lossless.js";
export type { PlantedBug } from "./planted.js";
export { neverUpdatesUsedEvent, PLANTED_BUGS } from "./planted.js";
export type {
  ConsoleRigOptions,
  MmioAccessRecord,
  RawQueues,
  SerialPair,
} from "./rig.js";
export {
  ConsoleRig,
  DirectMmio,
  RIG_MMIO_BASE,
  RIG_RAM_BASE,
  RIG_RAM_SIZE,
  rawProbe,
  runGuest,
  serialPair,
} from "./rig.js";
