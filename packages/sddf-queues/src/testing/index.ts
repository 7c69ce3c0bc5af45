/**
 * @vmmux/sddf-queues/testing — helpers for tests in this package and the packages above:
 * fast-check arbitraries, the plain-array queue model and its `fc.commands`, the signalling
 * protocol explorer, and planted-bug variants that the suites must keep catching.
 */
export { arbCapacity, arbStartIndex, arbTag, arbTaggedBytes } from "./arbitraries.js";
export type { PairModel, PairReal, PairSetup, QueueFactory } from "./commands.js";
export { arbPairSetup, buildPair, pairCommands, queueModelProperty } from "./commands.js";
export type { ModelByte } from "./model.js";
export { QueueModel } from "./model.js";
export {
  TruncatingBatchQueue,
  TrustingQueue,
  UnwrappedLengthQueue,
  withoutDoubleCheck,
} from "./planted.js";
export type { Actor, ExploreResult, ProtocolCase, RunOutcome, TraceStep } from "./protocol.js";
export {
  exploreAll,
  formatTrace,
  ProtocolWorld,
  randomScheduler,
  runSchedule,
} from "./protocol.js";
