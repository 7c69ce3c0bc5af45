/**
 * @vmmux/microkit-pd — Microkit system files and a deterministic seL4 runtime.
 */
export type {
  AccessWidth,
  DeviceHost,
  FaultMessage,
  FaultReply,
  GuestExit,
  GuestProgram,
  GuestStep,
  IdleLoop,
  MappedRegion,
  MessageInfo,
  MmioDevice,
  MmioPort,
  Nanoseconds,
  PdContext,
  PdProgram,
  PdStep,
  Permissions,
  PreemptionPoint,
  RepeatableExit,
  TimerHandle,
  VcpuContext,
} from "./program.js";
export { work } from "./program.js";
export * from "./runtime/index.js";
export * from "./sdf/index.js";
