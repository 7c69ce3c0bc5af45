/**
 * Test support for packages above @vmmux/virtio-core: a Linux-like MMIO probe, a trivial
 * loopback device, the queue-pair and hostile-guest harnesses, hostile campaigns with JSON
 * counterexamples, fast-check arbitraries for chains and hostile actions, and the planted-bug
 * queue and transport variants.
 */
export {
  chainShapeArb,
  HOSTILE_SCRIPT_MAX_LENGTH,
  hostileOpArb,
  hostileScriptArb,
  queuePairConfigArb,
  queuePairOpArb,
  queuePairScriptArb,
} from "./arbitraries.js";
export type {
  HostileCampaignOptions,
  HostileCampaignResult,
  HostileCounterexample,
} from "./campaign.js";
export { replayHostile, runHostileCampaign } from "./campaign.js";
export type { HostileOp, HostileOptions, HostileReport, TransportFactory } from "./hostile.js";
export {
  HOSTILE_DATA_BASE,
  HOSTILE_QUEUE_BASE,
  HOSTILE_RAM_BASE,
  HOSTILE_RAM_SIZE,
  oracleWalk,
  pendingReadable,
  runHostile,
} from "./hostile.js";
export type { LoopbackDeviceOptions, OversizeRule } from "./loopback.js";
export { LOOPBACK_RX, LOOPBACK_TX, LoopbackDevice } from "./loopback.js";
export type { MmioAccess, ProbeOptions, ProbeResult } from "./mmio-driver.js";
export { probe, queueBlockSize, queueLayout } from "./mmio-driver.js";
export { DroppedNotifyTransport, NoRecheckQueue, RawIndexQueue } from "./planted.js";
export type {
  DeviceQueueFactory,
  QueuePairConfig,
  QueuePairOp,
  QueuePairVerdict,
} from "./queue-pair.js";
export { runQueuePair } from "./queue-pair.js";
