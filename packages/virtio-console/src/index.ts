/**
 * @vmmux/virtio-console — the VirtIO console device back end bridged to sDDF serial queues,
 * and a model of Linux's virtio console driver as a guest front end.
 */
export type { ConsoleConfigFields } from "./config.js";
export { CONSOLE_CONFIG_SIZE, ConfigOffset, encodeConfig } from "./config.js";
export type { ControlEventCode, QueueRole } from "./constants.js";
export {
  BAD_PORT_ID,
  CONSOLE_DEVICE_ID,
  CONTROL_RX_QUEUE,
  CONTROL_TX_QUEUE,
  ConsoleFeature,
  ControlEvent,
  DEFAULT_QUEUE_SIZE,
  LIBVMM_VENDOR_ID,
  PAGE_SIZE,
  queueCount,
  queueRole,
  RX_QUEUE,
  rxQueueOf,
  TX_QUEUE,
  txQueueOf,
} from "./constants.js";
export type { ControlMessage } from "./control.js";
export { CONTROL_HEADER_SIZE, decodeControl, encodeControl } from "./control.js";
export type { FeatureRequest } from "./device/behaviours.js";
export type {
  ConsoleHooks,
  ConsolePortSpec,
  ConsolePreemptionSite,
  PortCounters,
  VirtioConsoleOptions,
} from "./device.js";
export { VirtioConsoleDevice } from "./device.js";
export type { ConsoleErrorCode } from "./errors.js";
export { CONSOLE_ERROR_CLAUSES, ConsoleError } from "./errors.js";
export {
  consolePrintChunks,
  HVC_ATOMIC_READ_MAX,
  N_INBUF,
  N_OUTBUF,
  onlcr,
  ttyWriteChunks,
} from "./guest/hvc.js";
export type {
  GuestMmio,
  GuestStep,
  LinuxConsoleDriverOptions,
  LinuxDriverCounters,
  ProbeOutcome,
  UsedEventRule,
} from "./guest/linux-driver.js";
export { keepUsedEventCurrent, LinuxConsoleDriver, vcpuMmio } from "./guest/linux-driver.js";
export type {
  ConsoleDefectName,
  ConsoleDefectSwitches,
  ConsoleFinding,
  ConsoleImpact,
} from "./profile.js";
export { CONSOLE_DEFECTS, consoleDefectsFor, consoleFinding } from "./profile.js";
export type { ConsoleWiring, ConsoleWiringHooks, ConsoleWiringOptions } from "./wiring.js";
export { createVirtioConsole } from "./wiring.js";
