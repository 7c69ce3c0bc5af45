/** The deterministic seL4/Microkit runtime. */
export type { CostModel, CostModelOverride } from "./cost-model.js";
export { defaultCostModel, zeroKernelCosts } from "./cost-model.js";
export type { RuntimeErrorCode } from "./errors.js";
export { GuestDataAbort, RuntimeError } from "./errors.js";
export type { EntryPoint, RuntimeEvent, RuntimeEventType, ThreadStateName } from "./event-log.js";
export { formatEvent } from "./event-log.js";
export { GZIP_CHUNK_BYTES, GzipStream, type GzipStreamOptions } from "./gzip-stream.js";
export { StepInliner } from "./inline-steps.js";
export type { Kernel, KernelParts, ThreadKind } from "./kernel.js";
export { Notifications } from "./notifications.js";
export type { PerfettoStreamOptions, PerfettoTrace, TraceEvent } from "./perfetto.js";
export { PerfettoStream } from "./perfetto.js";
export type { SchedContext } from "./sched-context.js";
export { type DomainSlot, Scheduler, type SchedulerAction } from "./scheduler.js";
export type { SpinWait } from "./spin.js";
export { spinUntil } from "./spin.js";
export type {
  DeviceEntry,
  GuestEntry,
  ProgramEntry,
  SystemOptions,
  ThreadInfo,
} from "./system.js";
export { DEFAULT_IDLE_LIMIT_NS, System } from "./system.js";
export type { Thread } from "./tcb.js";
