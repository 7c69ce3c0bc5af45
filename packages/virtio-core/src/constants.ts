/**
 * Numeric facts of VirtIO 1.2 used across the package: descriptor and ring flags (§2.7.5,
 * §2.7.6, §2.7.8), device status bits (§2.1), reserved feature bits (§6) and the
 * virtio-mmio v2 register offsets (§4.2.2, reference virtio §2.1).
 */

/** Descriptor flags (§2.7.5). */
export const VIRTQ_DESC_F_NEXT = 1;
export const VIRTQ_DESC_F_WRITE = 2;
export const VIRTQ_DESC_F_INDIRECT = 4;

/** Ring flags (§2.7.6, §2.7.8). */
export const VIRTQ_AVAIL_F_NO_INTERRUPT = 1;
export const VIRTQ_USED_F_NO_NOTIFY = 1;

/** Sizes of ring elements in bytes (§2.7.5, §2.7.8). */
export const DESCRIPTOR_SIZE = 16;
export const USED_ELEMENT_SIZE = 8;

/** Largest split-queue size (§2.7, §2.7.13). */
export const MAX_QUEUE_SIZE = 32768;

/** Device status bits (§2.1). */
export const Status = {
  ACKNOWLEDGE: 1,
  DRIVER: 2,
  DRIVER_OK: 4,
  FEATURES_OK: 8,
  DEVICE_NEEDS_RESET: 0x40,
  FAILED: 0x80,
} as const;

/** Reserved feature bits (§6) as bit numbers. */
export const Feature = {
  NOTIFY_ON_EMPTY: 24,
  ANY_LAYOUT: 27,
  INDIRECT_DESC: 28,
  EVENT_IDX: 29,
  VERSION_1: 32,
  ACCESS_PLATFORM: 33,
  RING_PACKED: 34,
  IN_ORDER: 35,
  ORDER_PLATFORM: 36,
  SR_IOV: 37,
  NOTIFICATION_DATA: 38,
  NOTIF_CONFIG_DATA: 39,
  RING_RESET: 40,
} as const;

/** The feature mask of a single bit number. */
export function featureBit(bit: number): bigint {
  return 1n << BigInt(bit);
}

/** True when `features` has bit `bit` set. */
export function hasFeature(features: bigint, bit: number): boolean {
  return (features & featureBit(bit)) !== 0n;
}

/** virtio-mmio magic "virt" (§4.2.2). */
export const MMIO_MAGIC = 0x74726976;
/** virtio-mmio version of the modern transport (§4.2.2). */
export const MMIO_VERSION = 2;

/** virtio-mmio v2 register offsets (§4.2.2, reference virtio §2.1). */
export const Reg = {
  MagicValue: 0x000,
  Version: 0x004,
  DeviceID: 0x008,
  VendorID: 0x00c,
  DeviceFeatures: 0x010,
  DeviceFeaturesSel: 0x014,
  DriverFeatures: 0x020,
  DriverFeaturesSel: 0x024,
  /** Legacy GuestPageSize, not part of v2. */
  LegacyGuestPageSize: 0x028,
  QueueSel: 0x030,
  QueueNumMax: 0x034,
  QueueNum: 0x038,
  /** Legacy QueueAlign, not part of v2. */
  LegacyQueueAlign: 0x03c,
  /** Legacy QueuePFN, not part of v2. */
  LegacyQueuePFN: 0x040,
  QueueReady: 0x044,
  QueueNotify: 0x050,
  InterruptStatus: 0x060,
  InterruptACK: 0x064,
  Status: 0x070,
  QueueDescLow: 0x080,
  QueueDescHigh: 0x084,
  QueueDriverLow: 0x090,
  QueueDriverHigh: 0x094,
  QueueDeviceLow: 0x0a0,
  QueueDeviceHigh: 0x0a4,
  SHMSel: 0x0ac,
  SHMLenLow: 0x0b0,
  SHMLenHigh: 0x0b4,
  SHMBaseLow: 0x0b8,
  SHMBaseHigh: 0x0bc,
  QueueReset: 0x0c0,
  ConfigGeneration: 0x0fc,
  Config: 0x100,
} as const;

/** InterruptStatus bits (§4.2.2). */
export const INTERRUPT_USED_BUFFER = 1;
export const INTERRUPT_CONFIG_CHANGE = 2;
