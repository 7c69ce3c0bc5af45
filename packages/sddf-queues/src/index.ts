/**
 * @vmmux/sddf-queues — the sDDF serial queue over (Shared)ArrayBuffer memory, its
 * signalling flag, the transfer functions and the project-wide provenance tag encoding
 * (reference/sddf-serial.md §2, §3).
 */
export type {
  QueueAssertion,
  QueueBreak,
  QueueIndexField,
  SddfQueueError,
  SddfQueueErrorCode,
} from "./errors.js";
export {
  CorruptIndexError,
  isSddfQueueError,
  QueueAssertionError,
  QueueConfigError,
  SerialQueueErrorBase,
} from "./errors.js";
export type {
  CorruptIndexPolicy,
  FromRegionsOptions,
  LocalHead,
  LocalTail,
  RegionLike,
  SerialQueueOptions,
} from "./layout.js";
export {
  MAX_CAPACITY,
  QUEUE_HEAD_OFFSET,
  QUEUE_PRODUCER_SIGNALLED_OFFSET,
  QUEUE_STRUCT_SIZE,
  QUEUE_TAIL_OFFSET,
} from "./layout.js";
export {
  ORIGIN_CLIENT_FIRST,
  ORIGIN_CLIENT_LAST,
  ORIGIN_DEVICE,
  ORIGIN_KEYBOARD,
  ORIGIN_VIRTUALISER,
  provenanceTag,
  tagOrigin,
  tagSeq,
  UNTAGGED,
} from "./provenance.js";
export { SerialQueue } from "./queue.js";
export { provenanceShadow } from "./shadow.js";
export type {
  ColourTransferResult,
  TransferBound,
  TransferOptions,
  TransferOverflow,
  TransferResult,
} from "./transfer.js";
export { ChunkTransfer, transferAll, transferAllColour } from "./transfer.js";
export { Wrapping32 } from "./wrapping.js";
