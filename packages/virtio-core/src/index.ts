/**
 * @vmmux/virtio-core — guest memory, the split virtqueue (device and driver side) and the
 * virtio-mmio version 2 transport, in the `reference` (libvmm) and `hardened` profiles.
 */
export type { BufferSegment, DescriptorChain } from "./chain.js";
export { copyFromSegments, copyToSegments, forEachSegmentSpan } from "./chain.js";
export {
  DESCRIPTOR_SIZE,
  Feature,
  featureBit,
  hasFeature,
  INTERRUPT_CONFIG_CHANGE,
  INTERRUPT_USED_BUFFER,
  MAX_QUEUE_SIZE,
  MMIO_MAGIC,
  MMIO_VERSION,
  Reg,
  Status,
  USED_ELEMENT_SIZE,
  VIRTQ_AVAIL_F_NO_INTERRUPT,
  VIRTQ_DESC_F_INDIRECT,
  VIRTQ_DESC_F_NEXT,
  VIRTQ_DESC_F_WRITE,
  VIRTQ_USED_F_NO_NOTIFY,
} from "./constants.js";
export type { Descriptor } from "./descriptor.js";
export { writeDescriptor } from "./descriptor.js";
export type { ConfigWidth, VirtioDevice, VirtioDeviceHost } from "./device.js";
export type {
  AddChainOptions,
  DriverVirtqueueOptions,
  GuestBuffer,
  UsedBuffer,
} from "./driver-queue.js";
export { DriverVirtqueue } from "./driver-queue.js";
export type {
  ChainErrorCode,
  DriverQueueErrorCode,
  GuestMemoryErrorCode,
  QueueConfigErrorCode,
  TransportErrorCode,
  VirtioCoreError,
  VirtioErrorCode,
} from "./errors.js";
export {
  ChainError,
  DriverQueueError,
  ERROR_CLAUSES,
  GuestMemoryError,
  isVirtioCoreError,
  QueueConfigError,
  TransportError,
} from "./errors.js";
export type { GuestMemoryOptions, RamRegionSpec } from "./guest-memory.js";
export { GuestMemory } from "./guest-memory.js";
export type {
  InterruptLine,
  MmioReply,
  MmioWidth,
  VirtioMmioTransportOptions,
} from "./mmio.js";
export { VirtioMmioTransport } from "./mmio.js";
export type {
  DefectFinding,
  DefectImpact,
  DefectName,
  DefectSwitches,
  Profile,
} from "./profile.js";
export { DEFECTS, defectsFor, deviceFinding, finding } from "./profile.js";
export type {
  PopResult,
  QueueFault,
  QueueFeatures,
  QueueGeometry,
  SplitVirtqueueOptions,
} from "./virtqueue.js";
export { SplitVirtqueue, validateGeometry } from "./virtqueue.js";
export { needEvent, Wrapping16 } from "./wrapping.js";
