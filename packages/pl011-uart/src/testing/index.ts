/**
 * Test support for packages above: a stand-alone device host and planted defects.
 */
export type {
  DrainObservation,
  DrainOp,
  DrainRun,
  DrainScenario,
  DriverTraffic,
  DriverTrafficOp,
} from "./drain.js";
export {
  drainOpArb,
  drainScenarioArb,
  driverTrafficArb,
  LateDrainDevice,
  observeDrain,
  observeDriverDrain,
} from "./drain.js";
export type { IrqChange, TraceRecord } from "./fake-host.js";
export { FakeDeviceHost } from "./fake-host.js";
export type { HarnessOptions } from "./harness.js";
export { CH_IRQ, CH_RX, CH_TX, DriverHarness, IRQ } from "./harness.js";
export type { DriverOp, DriverScript } from "./interleave.js";
export {
  checkDriverScript,
  DriverModelViolation,
  driverOpArb,
  driverScriptArb,
} from "./interleave.js";
export type { UartOp, UartScenario } from "./ops.js";
export { checkUartScenario, UartModelViolation, uartOpArb, uartScenarioArb } from "./ops.js";
export type { PlantedDeviceBug, PlantedDriverBug } from "./planted.js";
export { NoRecheckDriver, PLANTED_DEVICE_BUGS, plantedDevice } from "./planted.js";
export type { DirectSetup, LineSettings } from "./setup.js";
export { directUart, programUart } from "./setup.js";
export type { UartSystem, UartSystemOptions } from "./system.js";
export { uartSystem } from "./system.js";
