/**
 * The contract between the virtio-mmio transport and a device back end (VirtIO 1.2 §2, §4.2):
 * the transport owns registers, status, features and queue configuration; the back end owns
 * what the device does with its queues and its configuration space.
 */
import type { VirtioCoreError } from "./errors.js";
import type { GuestMemory } from "./guest-memory.js";
import type { DefectFinding, DefectSwitches, Profile } from "./profile.js";
import type { SplitVirtqueue } from "./virtqueue.js";

/** Width of a configuration-space access (§4.2.2.2). */
export type ConfigWidth = 1 | 2 | 4;

/** A device back end plugged into a `VirtioMmioTransport`. */
export interface VirtioDevice {
  /** DeviceID register (§5; console = 3). */
  readonly deviceId: number;
  /** VendorID register. */
  readonly vendorId: number;
  /** Offered feature bits; must include VIRTIO_F_VERSION_1 (bit 32, §6.1). */
  readonly features: bigint;
  /** QueueNumMax of each queue; the array length is the number of queues. */
  readonly queueMaxSizes: readonly number[];
  /** Called once by the transport's constructor. */
  attach(host: VirtioDeviceHost): void;
  /** Read `width` bytes at config offset `offset` (0 = MMIO 0x100); `undefined` = no such field. */
  readConfig(offset: number, width: ConfigWidth): number | undefined;
  /** Write config space; false = not accepted. */
  writeConfig(offset: number, width: ConfigWidth, value: number): boolean;
  /** Device-specific check of the negotiated set at FEATURES_OK (§2.2.2); default accept. */
  validateFeatures?(features: bigint): boolean;
  /**
   * Available-buffer notification for queue `index` (§4.2.3.3). Returns false when the
   * device's virtual IRQ injection failed (libvmm L12).
   */
  queueNotify(index: number): boolean;
  /** Device reset (§2.4): forget queue state; the transport has already reset registers. */
  reset(): void;
  /** The status register changed (not called for reset). */
  statusChanged?(status: number, previous: number): void;
}

/** What the transport offers its device back end. */
export interface VirtioDeviceHost {
  readonly profile: Profile;
  readonly defects: DefectSwitches;
  readonly memory: GuestMemory;
  /** Negotiated features (meaningful once FEATURES_OK is set). */
  readonly negotiatedFeatures: bigint;
  /** Device status register (§2.1). */
  readonly status: number;
  /** The last QueueSel value written (libvmm gates TX on it, reference virtio §4.5). */
  readonly queueSel: number;
  /**
   * True when the device may consume its queues: DRIVER_OK set and neither FAILED nor
   * DEVICE_NEEDS_RESET (§2.1.2, §3.1.1). Always true under `notifyWithoutDriverOk`.
   */
  isLive(): boolean;
  /** Queue `index` if it is ready and the device may use it; otherwise undefined (§4.2.2.1). */
  queue(index: number): SplitVirtqueue | undefined;
  /** Used-buffer notification: InterruptStatus bit 0 and the IRQ (§4.2.3.4). */
  signalUsedBuffer(): boolean;
  /** Configuration-change notification: InterruptStatus bit 1, ConfigGeneration bumped. */
  signalConfigChange(): boolean;
  /**
   * Enter DEVICE_NEEDS_RESET (§2.1.2) and, with DRIVER_OK set, send a configuration-change
   * notification. libvmm never does; under `reference` its switches keep queues error-free.
   */
  needsReset(reason: VirtioCoreError): void;
  /** Report a defect exercised under the `reference` profile. */
  report(finding: DefectFinding): void;
  /** The real VMM would have crashed here: the transport stops answering (vCPU never resumed). */
  crash(finding: DefectFinding): void;
}
