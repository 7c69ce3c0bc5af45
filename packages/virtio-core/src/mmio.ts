/**
 * virtio-mmio version 2 transport (VirtIO 1.2 §4.2): the register map of reference virtio
 * §2.1, the status state machine with reset (§2.1, §2.4), feature negotiation over two
 * 32-bit windows with VIRTIO_F_VERSION_1 required and the FEATURES_OK re-check (§2.2, §6),
 * queue configuration, QueueNotify, InterruptStatus/ACK, ConfigGeneration and config space.
 *
 * Every access gets an answer. Under `hardened` an illegal access is logged, reads 0 and
 * writes are ignored, as QEMU does (reference virtio §2.5). Under `reference` the transport
 * behaves as libvmm's mmio.c (§4.2–§4.4, §4.10): its FAIL paths reply `resume: false`
 * (the vCPU is never resumed) and each defect is reported as a finding.
 */
import {
  Feature,
  hasFeature,
  INTERRUPT_CONFIG_CHANGE,
  INTERRUPT_USED_BUFFER,
  MMIO_MAGIC,
  MMIO_VERSION,
  Reg,
  Status,
} from "./constants.js";
import type { ConfigWidth, VirtioDevice, VirtioDeviceHost } from "./device.js";
import { TransportError, type TransportErrorCode, type VirtioCoreError } from "./errors.js";
import type { GuestMemory } from "./guest-memory.js";
import {
  type DefectFinding,
  type DefectName,
  type DefectSwitches,
  defectsFor,
  finding,
  type Profile,
} from "./profile.js";
import { type QueueGeometry, SplitVirtqueue, validateGeometry } from "./virtqueue.js";

/** Width of an MMIO access in bytes. */
export type MmioWidth = 1 | 2 | 4 | 8;

/** The answer to one register access. */
export interface MmioReply {
  /** Value read (0 for writes and refused reads). */
  readonly value: number;
  /** False when the real VMM would never resume the vCPU (libvmm FAIL or crash). */
  readonly resume: boolean;
  /** The illegal access or sequence this access was, if any. */
  readonly error?: TransportError;
  /** The libvmm defect this access exercised, if any. */
  readonly finding?: DefectFinding;
}

/**
 * The virtual interrupt line of the device. `raise` returns whether the injection
 * succeeded (libvmm's vGIC refuses while the guest has the IRQ disabled, reference §4.10).
 */
export interface InterruptLine {
  raise(): boolean;
  /** Level semantics only (hardened): the line drops when InterruptStatus becomes 0. */
  lower?(): void;
}

export interface VirtioMmioTransportOptions {
  readonly device: VirtioDevice;
  readonly memory: GuestMemory;
  readonly profile?: Profile;
  /** Per-defect overrides of the profile's switches. */
  readonly defects?: Partial<DefectSwitches>;
  readonly interrupt?: InterruptLine;
  /** Size of the register window; accesses at or beyond it are bad offsets. Default 0x200. */
  readonly windowSize?: number;
  readonly onFinding?: (finding: DefectFinding) => void;
  readonly onError?: (error: VirtioCoreError) => void;
}

/** Per-queue register state (§4.2.2 queue registers). */
interface QueueRegs {
  num: number;
  desc: number;
  avail: number;
  used: number;
  ready: boolean;
  queue: SplitVirtqueue | undefined;
}

/** A register as libvmm decodes an offset: case labels are ranges `[reg, next)` (§4.2). */
const LIBVMM_RANGES: readonly (readonly [number, number])[] = [
  [Reg.MagicValue, 0x004],
  [Reg.Version, 0x008],
  [Reg.DeviceID, 0x00c],
  [Reg.VendorID, 0x010],
  [Reg.DeviceFeatures, 0x014],
  [Reg.DeviceFeaturesSel, 0x020],
  [Reg.DriverFeatures, 0x024],
  [Reg.DriverFeaturesSel, 0x030],
  [Reg.QueueSel, 0x034],
  [Reg.QueueNumMax, 0x038],
  [Reg.QueueNum, 0x044],
  [Reg.QueueReady, 0x050],
  [Reg.QueueNotify, 0x060],
  [Reg.InterruptStatus, 0x064],
  [Reg.InterruptACK, 0x070],
  [Reg.Status, 0x080],
  [Reg.QueueDescLow, 0x084],
  [Reg.QueueDescHigh, 0x090],
  [Reg.QueueDriverLow, 0x094],
  [Reg.QueueDriverHigh, 0x0a0],
  [Reg.QueueDeviceLow, 0x0a4],
  [Reg.QueueDeviceHigh, 0x0fc],
  [Reg.ConfigGeneration, 0x100],
];

const READABLE = new Set<number>([
  Reg.MagicValue,
  Reg.Version,
  Reg.DeviceID,
  Reg.VendorID,
  Reg.DeviceFeatures,
  Reg.QueueNumMax,
  Reg.QueueReady,
  Reg.InterruptStatus,
  Reg.Status,
  Reg.SHMLenLow,
  Reg.SHMLenHigh,
  Reg.SHMBaseLow,
  Reg.SHMBaseHigh,
  Reg.QueueReset,
  Reg.ConfigGeneration,
]);

const WRITABLE = new Set<number>([
  Reg.DeviceFeaturesSel,
  Reg.DriverFeatures,
  Reg.DriverFeaturesSel,
  Reg.QueueSel,
  Reg.QueueNum,
  Reg.QueueReady,
  Reg.QueueNotify,
  Reg.InterruptACK,
  Reg.Status,
  Reg.QueueDescLow,
  Reg.QueueDescHigh,
  Reg.QueueDriverLow,
  Reg.QueueDriverHigh,
  Reg.QueueDeviceLow,
  Reg.QueueDeviceHigh,
  Reg.SHMSel,
  Reg.QueueReset,
]);

const LEGACY = new Set<number>([Reg.LegacyGuestPageSize, Reg.LegacyQueueAlign, Reg.LegacyQueuePFN]);

/** Status bits in the order a multi-bit write applies them. */
const STATUS_ORDER = [
  Status.ACKNOWLEDGE,
  Status.DRIVER,
  Status.FEATURES_OK,
  Status.DRIVER_OK,
  Status.FAILED,
] as const;

/** Bits libvmm's status switch knows as single new bits (§4.3). */
const LIBVMM_SINGLE_BITS = new Set<number>([1, 2, 4, 8, 0x80]);

/** How many recent errors and findings are kept for inspection. */
const LOG_LIMIT = 256;

const OK: MmioReply = { value: 0, resume: true };

function widthMask(width: MmioWidth): number {
  return width >= 4 ? 0xffff_ffff : (1 << (8 * width)) - 1;
}

/** libvmm's lane mask: the width mask shifted left by `shift` bits, truncated to 32 bits. */
function laneMask(width: MmioWidth, shift: number): number {
  return (widthMask(width) << shift) >>> 0;
}

function hex(n: number): string {
  return `0x${n.toString(16).padStart(3, "0")}`;
}

export class VirtioMmioTransport implements VirtioDeviceHost {
  readonly device: VirtioDevice;
  readonly memory: GuestMemory;
  readonly profile: Profile;
  readonly defects: DefectSwitches;
  readonly windowSize: number;
  private readonly irq: InterruptLine | undefined;
  private readonly onFinding: ((f: DefectFinding) => void) | undefined;
  private readonly onError: ((e: VirtioCoreError) => void) | undefined;

  private statusReg = 0;
  private interruptStatusReg = 0;
  private configGenerationReg = 0;
  private deviceFeaturesSel = 0;
  private driverFeaturesSel = 0;
  private readonly driverFeatureWords = new Map<number, number>();
  private negotiated = 0n;
  /** libvmm's `features_happy` (§4.3, §4.4). */
  private featuresHappy = false;
  private queueSelReg = 0;
  private lineRaised = false;
  private crashedBy: DefectFinding | undefined;
  private readonly queues: QueueRegs[];

  /** Recent illegal accesses and queue errors (bounded). */
  readonly errors: VirtioCoreError[] = [];
  /** Recent findings (bounded); `findingCounts` counts all. */
  readonly findings: DefectFinding[] = [];
  readonly findingCounts = new Map<string, number>();
  readonly errorCounts = new Map<string, number>();

  constructor(options: VirtioMmioTransportOptions) {
    this.device = options.device;
    this.memory = options.memory;
    this.profile = options.profile ?? "hardened";
    this.defects = defectsFor(this.profile, options.defects);
    this.windowSize = options.windowSize ?? 0x200;
    this.irq = options.interrupt;
    this.onFinding = options.onFinding;
    this.onError = options.onError;
    this.queues = this.device.queueMaxSizes.map(() => emptyQueue());
    this.device.attach(this);
  }

  // ---- state visible to the device and to tests ------------------------------------------

  get status(): number {
    return this.statusReg;
  }

  get interruptStatus(): number {
    return this.interruptStatusReg;
  }

  get configGeneration(): number {
    return this.configGenerationReg;
  }

  get negotiatedFeatures(): bigint {
    return this.negotiated;
  }

  get queueSel(): number {
    return this.queueSelReg;
  }

  /** The finding that crashed the modelled VMM, if any; the transport then never replies. */
  get crashed(): DefectFinding | undefined {
    return this.crashedBy;
  }

  /** Level of the interrupt line under level semantics: InterruptStatus ≠ 0 (§4.2.3.4). */
  get interruptAsserted(): boolean {
    return this.interruptStatusReg !== 0;
  }

  /** Whether queue `index` has QueueReady set. */
  queueReady(index: number): boolean {
    return this.queues[index]?.ready ?? false;
  }

  isLive(): boolean {
    if (this.defects.notifyWithoutDriverOk) return true;
    const s = this.statusReg;
    return (s & Status.DRIVER_OK) !== 0 && (s & (Status.FAILED | Status.DEVICE_NEEDS_RESET)) === 0;
  }

  queue(index: number): SplitVirtqueue | undefined {
    if (this.crashedBy !== undefined || !this.isLive()) return undefined;
    const q = this.queues[index];
    return q?.ready ? q.queue : undefined;
  }

  signalUsedBuffer(): boolean {
    // §2.1.2: no used-buffer notification before DRIVER_OK (nor once the device needs a reset).
    if (!this.isLive()) return true;
    return this.signal(INTERRUPT_USED_BUFFER);
  }

  signalConfigChange(): boolean {
    this.configGenerationReg = (this.configGenerationReg + 1) >>> 0;
    return this.signal(INTERRUPT_CONFIG_CHANGE);
  }

  needsReset(reason: VirtioCoreError): void {
    this.logError(reason);
    if ((this.statusReg & Status.DEVICE_NEEDS_RESET) !== 0) return;
    this.statusReg |= Status.DEVICE_NEEDS_RESET;
    // §2.1.2: with DRIVER_OK set the device MUST send a configuration-change notification.
    if ((this.statusReg & Status.DRIVER_OK) !== 0) this.signal(INTERRUPT_CONFIG_CHANGE);
  }

  report(f: DefectFinding): void {
    this.findingCounts.set(f.defect, (this.findingCounts.get(f.defect) ?? 0) + 1);
    if (this.findings.length < LOG_LIMIT) this.findings.push(f);
    this.onFinding?.(f);
  }

  crash(f: DefectFinding): void {
    this.report(f);
    this.crashedBy ??= f;
  }

  // ---- register accesses -------------------------------------------------------------------

  /** Read a register; always answers (0 for anything illegal). */
  read(offset: number, width: MmioWidth): number {
    return this.readAccess(offset, width).value;
  }

  /** Write a register; never throws. */
  write(offset: number, width: MmioWidth, value: number): void {
    this.writeAccess(offset, width, value);
  }

  /** Read with the full reply (whether the vCPU resumes, the error or finding). */
  readAccess(offset: number, width: MmioWidth): MmioReply {
    if (this.crashedBy !== undefined) return { value: 0, resume: false, finding: this.crashedBy };
    const malformed = this.malformed(offset, width, "read");
    if (malformed !== undefined) return malformed;
    if (offset >= Reg.Config && offset < this.windowSize)
      return this.readConfigSpace(offset, width);
    const reg = this.decode(offset, width, "read");
    if (typeof reg !== "number") return reg;
    if (!READABLE.has(reg)) {
      return this.illegal("mmio-read-write-only", `read of write-only register ${hex(reg)}`);
    }
    const value = this.readRegister(reg);
    if (typeof value !== "number") return value;
    if (this.defects.mmioRangeAliasing) {
      // libvmm fault.c: the lane mask is shifted to `offset & 3` and the value shifted down.
      const shift = 8 * (offset & 3);
      return { value: ((value & laneMask(width, shift)) >>> shift) >>> 0, resume: true };
    }
    return { value: (value & widthMask(width)) >>> 0, resume: true };
  }

  /** Write with the full reply. */
  writeAccess(offset: number, width: MmioWidth, value: number): MmioReply {
    if (this.crashedBy !== undefined) return { value: 0, resume: false, finding: this.crashedBy };
    const malformed = this.malformed(offset, width, "write");
    if (malformed !== undefined) return malformed;
    if (offset >= Reg.Config && offset < this.windowSize) {
      return this.writeConfigSpace(offset, width, value);
    }
    const reg = this.decode(offset, width, "write");
    if (typeof reg !== "number") return reg;
    if (!WRITABLE.has(reg)) {
      return this.illegal("mmio-write-read-only", `write of read-only register ${hex(reg)}`);
    }
    if (this.defects.mmioRangeAliasing) {
      // libvmm fault.c: the data is masked with the shifted lane mask but NOT shifted down, so
      // a sub-word store at `offset & 3 ≠ 0` delivers the wrong value, usually 0 (reference
      // virtio §4.1 "Width/lane handling").
      return this.writeRegister(reg, (value & laneMask(width, 8 * (offset & 3))) >>> 0);
    }
    return this.writeRegister(reg, (value & widthMask(width)) >>> 0);
  }

  /**
   * An access no vCPU can make (offset not a non-negative integer, width not 1/2/4/8): a caller
   * bug or a corrupt decode, answered like any illegal access rather than guessed at.
   */
  private malformed(offset: number, width: number, kind: string): MmioReply | undefined {
    if (!Number.isSafeInteger(offset) || offset < 0) {
      return this.illegal("mmio-bad-offset", `${kind} at malformed offset ${String(offset)}`);
    }
    if (width !== 1 && width !== 2 && width !== 4 && width !== 8) {
      return this.illegal("mmio-wrong-width", `${kind} of malformed width ${String(width)}`);
    }
    return undefined;
  }

  /** The register an access hits, or the reply for a bad offset or width. */
  private decode(offset: number, width: MmioWidth, kind: string): number | MmioReply {
    if (this.defects.mmioRangeAliasing) {
      // libvmm: ranges alias gaps onto the preceding register; width is not checked.
      for (const [start, end] of LIBVMM_RANGES) {
        if (offset < start || offset >= end) continue;
        if (offset !== start || width !== 4) {
          this.found(
            "mmioRangeAliasing",
            "deviation",
            `${width}-byte ${kind} at ${hex(offset)} lands on register ${hex(start)}`,
          );
        }
        return start;
      }
      return this.illegal("mmio-bad-offset", `${kind} at bad register offset ${hex(offset)}`);
    }
    if (offset < 0 || offset >= this.windowSize || offset % 4 !== 0) {
      return this.illegal("mmio-bad-offset", `${kind} at bad register offset ${hex(offset)}`);
    }
    if (width !== 4) {
      return this.illegal("mmio-wrong-width", `${width}-byte ${kind} of register ${hex(offset)}`);
    }
    if (LEGACY.has(offset)) {
      return this.illegal("mmio-bad-offset", `${kind} of legacy-only register ${hex(offset)}`);
    }
    if (!READABLE.has(offset) && !WRITABLE.has(offset)) {
      return this.illegal("mmio-bad-offset", `${kind} at bad register offset ${hex(offset)}`);
    }
    return offset;
  }

  private readRegister(reg: number): number | MmioReply {
    const d = this.defects;
    switch (reg) {
      case Reg.MagicValue:
        return MMIO_MAGIC;
      case Reg.Version:
        return MMIO_VERSION;
      case Reg.DeviceID:
        return this.device.deviceId;
      case Reg.VendorID:
        return this.device.vendorId;
      case Reg.DeviceFeatures:
        return this.featureWord(this.device.features, this.deviceFeaturesSel);
      case Reg.QueueNumMax: {
        const max = this.device.queueMaxSizes[this.queueSelReg];
        if (max !== undefined) return max;
        if (d.queueNumMaxForAbsentQueues) {
          const value = Math.max(0, ...this.device.queueMaxSizes);
          this.found(
            "queueNumMaxForAbsentQueues",
            "deviation",
            `QueueNumMax reads ${value} for absent queue ${this.queueSelReg}`,
          );
          return value;
        }
        return 0;
      }
      case Reg.QueueReady: {
        const q = this.queues[this.queueSelReg];
        if (q !== undefined) return q.ready ? 1 : 0;
        return this.absentQueue("read of QueueReady");
      }
      case Reg.InterruptStatus:
        return this.interruptStatusReg;
      case Reg.Status:
        return this.statusReg;
      case Reg.SHMLenLow:
      case Reg.SHMLenHigh:
      case Reg.SHMBaseLow:
      case Reg.SHMBaseHigh:
        // No shared-memory regions: length and base read all ones (§4.2.2).
        return 0xffff_ffff;
      case Reg.QueueReset:
        return 0;
      case Reg.ConfigGeneration:
        // libvmm never signals a config change, so its constant 0 is this counter's start.
        return this.configGenerationReg;
      default:
        return 0; // `decode` admits only the registers above
    }
  }

  private writeRegister(reg: number, value: number): MmioReply {
    switch (reg) {
      case Reg.DeviceFeaturesSel:
        this.deviceFeaturesSel = value;
        return OK;
      case Reg.DriverFeaturesSel:
        this.driverFeaturesSel = value;
        return OK;
      case Reg.DriverFeatures:
        return this.writeDriverFeatures(value);
      case Reg.QueueSel:
        this.queueSelReg = value;
        return OK;
      case Reg.QueueNum:
        return this.writeQueueField("num", value, false);
      case Reg.QueueDescLow:
        return this.writeQueueField("desc", value, false);
      case Reg.QueueDescHigh:
        return this.writeQueueField("desc", value, true);
      case Reg.QueueDriverLow:
        return this.writeQueueField("avail", value, false);
      case Reg.QueueDriverHigh:
        return this.writeQueueField("avail", value, true);
      case Reg.QueueDeviceLow:
        return this.writeQueueField("used", value, false);
      case Reg.QueueDeviceHigh:
        return this.writeQueueField("used", value, true);
      case Reg.QueueReady:
        return this.writeQueueReady(value);
      case Reg.QueueNotify:
        return this.writeQueueNotify(value);
      case Reg.InterruptACK:
        this.interruptStatusReg = (this.interruptStatusReg & ~value) >>> 0;
        this.updateLine();
        return OK;
      case Reg.Status:
        return this.writeStatus(value);
      case Reg.QueueReset:
        return this.writeQueueReset(value);
      default:
        // SHMSel: no shared-memory regions exist, so the selection has no effect.
        return OK;
    }
  }

  // ---- features (§2.2, §6, reference §4.4) -------------------------------------------------

  private featureWord(features: bigint, sel: number): number {
    if (sel > 3) return 0;
    return Number((features >> BigInt(32 * sel)) & 0xffff_ffffn);
  }

  private writeDriverFeatures(value: number): MmioReply {
    const sel = this.driverFeaturesSel;
    if (this.defects.exactFeatureWords) {
      // libvmm accepts only the exact offered word for words 0 and 1, anything above.
      if (sel < 2 && value !== this.featureWord(this.device.features, sel)) {
        const f = this.found(
          "exactFeatureWords",
          "vcpu-blocked",
          `DriverFeatures word ${sel} = 0x${value.toString(16)} is not exactly the offered word`,
        );
        return { value: 0, resume: false, finding: f };
      }
      this.driverFeatureWords.set(sel, value);
      this.featuresHappy = true;
      return OK;
    }
    if ((this.statusReg & Status.FEATURES_OK) !== 0 || (this.statusReg & Status.DRIVER) === 0) {
      // §3.1.1 step 5/6: features are written after DRIVER and before FEATURES_OK.
      return this.illegal(
        "mmio-status-order",
        `DriverFeatures written in status 0x${this.statusReg.toString(16)}`,
      );
    }
    this.driverFeatureWords.set(sel, value);
    return OK;
  }

  /** The driver's accepted set from the feature windows; `undefined` if beyond 128 bits. */
  private driverFeatures(): bigint | undefined {
    let features = 0n;
    for (const [sel, word] of this.driverFeatureWords) {
      if (word === 0) continue;
      if (sel > 3) return undefined;
      features |= BigInt(word) << BigInt(32 * sel);
    }
    return features;
  }

  /** FEATURES_OK acceptance (§2.2.2): only offered bits, VERSION_1 included, device agrees. */
  private acceptFeatures(): TransportError | undefined {
    if (this.defects.exactFeatureWords) {
      this.negotiated = this.driverFeatures() ?? 0n;
      return this.featuresHappy
        ? undefined
        : new TransportError("mmio-features-refused", "features_happy is false");
    }
    const features = this.driverFeatures();
    if (features === undefined || (features & ~this.device.features) !== 0n) {
      return new TransportError(
        "mmio-features-refused",
        "driver accepted feature bits the device does not offer",
      );
    }
    if (!hasFeature(features, Feature.VERSION_1)) {
      return new TransportError(
        "mmio-features-refused",
        "driver did not accept VIRTIO_F_VERSION_1 (bit 32)",
      );
    }
    if (this.device.validateFeatures?.(features) === false) {
      return new TransportError("mmio-features-refused", "device refused the feature set");
    }
    this.negotiated = features;
    return undefined;
  }

  // ---- status (§2.1, §3.1.1, reference §4.3) -----------------------------------------------

  private writeStatus(value: number): MmioReply {
    const d = this.defects;
    const old = this.statusReg;
    if (value === 0) {
      this.reset();
      return OK;
    }
    const newBits = value & ~old;
    if (newBits === 0) {
      if (d.statusRewriteResets) {
        const f = this.found(
          "statusRewriteResets",
          "deviation",
          `status write 0x${value.toString(16)} adds no bit and resets the device`,
        );
        this.reset();
        return { value: 0, resume: true, finding: f };
      }
      if (value === old) return OK;
      return this.illegal(
        "mmio-status-illegal",
        `status write 0x${value.toString(16)} clears bits of 0x${old.toString(16)}`,
      );
    }
    if (d.statusLaxOrder && (old & ~value) !== 0) {
      // libvmm `Status := Status AND v` comes before its switch, so the drop happens even
      // when the switch then FAILs (reference virtio §4.3).
      this.found(
        "statusLaxOrder",
        "deviation",
        `status write 0x${value.toString(16)} silently drops bits of 0x${old.toString(16)}`,
      );
      this.statusReg = old & value;
    }
    if (d.statusMultiBitFails && !LIBVMM_SINGLE_BITS.has(newBits)) {
      const f = this.found(
        "statusMultiBitFails",
        "vcpu-blocked",
        `status write 0x${value.toString(16)} adds bits 0x${newBits.toString(16)} libvmm cannot handle`,
      );
      if (this.statusReg !== old) this.device.statusChanged?.(this.statusReg, old);
      return { value: 0, resume: false, finding: f };
    }
    if ((old & ~value) !== 0 && !d.statusLaxOrder) {
      return this.illegal(
        "mmio-status-illegal",
        `status write 0x${value.toString(16)} clears bits of 0x${old.toString(16)}`,
      );
    }
    let error: TransportError | undefined;
    for (const bit of STATUS_ORDER) {
      if ((newBits & bit) === 0) continue;
      const problem = this.applyStatusBit(bit);
      error ??= problem;
    }
    const unknown = newBits & ~STATUS_ORDER.reduce<number>((m, b) => m | b, 0);
    if (unknown !== 0) {
      error ??= new TransportError(
        "mmio-status-illegal",
        `status bits 0x${unknown.toString(16)} are not the driver's to set`,
      );
    }
    if (this.statusReg !== old) this.device.statusChanged?.(this.statusReg, old);
    if (error !== undefined) {
      this.logError(error);
      return { value: 0, resume: true, error };
    }
    return OK;
  }

  /** Apply one newly written status bit; returns why it was refused, if it was. */
  private applyStatusBit(bit: number): TransportError | undefined {
    const d = this.defects;
    const s = this.statusReg;
    switch (bit) {
      case Status.ACKNOWLEDGE:
        if (d.statusLaxOrder && s !== 0) return undefined; // libvmm: silently not set
        this.statusReg |= bit;
        return undefined;
      case Status.DRIVER:
        if ((s & Status.ACKNOWLEDGE) === 0) {
          return d.statusLaxOrder ? undefined : orderError("DRIVER before ACKNOWLEDGE");
        }
        this.statusReg |= bit;
        return undefined;
      case Status.FEATURES_OK: {
        if ((s & Status.DRIVER) === 0) {
          return d.statusLaxOrder ? undefined : orderError("FEATURES_OK before DRIVER");
        }
        // §3.1.1 step 7: a refused set leaves FEATURES_OK clear for the driver's re-read.
        const refused = this.acceptFeatures();
        if (refused === undefined) this.statusReg |= bit;
        else if (this.defects.exactFeatureWords) return undefined;
        return refused;
      }
      case Status.DRIVER_OK:
        if ((s & Status.FEATURES_OK) === 0) {
          if (!d.statusLaxOrder) return orderError("DRIVER_OK before FEATURES_OK");
          this.found("statusLaxOrder", "deviation", "DRIVER_OK accepted without FEATURES_OK");
        }
        this.statusReg |= bit;
        return undefined;
      case Status.FAILED:
        if (d.statusLaxOrder) {
          this.found("statusLaxOrder", "deviation", "FAILED is logged but not stored");
          return undefined;
        }
        this.statusReg |= bit;
        return undefined;
      default:
        return undefined;
    }
  }

  /** Device reset (§2.4.1, §4.2.2.1; libvmm `virtio_console_reset`, reference §4.3). */
  private reset(): void {
    this.statusReg = 0;
    this.interruptStatusReg = 0;
    this.deviceFeaturesSel = 0;
    this.driverFeaturesSel = 0;
    this.driverFeatureWords.clear();
    this.negotiated = 0n;
    if (!this.defects.featuresHappySticky) this.featuresHappy = false;
    this.queueSelReg = 0;
    for (let i = 0; i < this.queues.length; i++) this.queues[i] = emptyQueue();
    this.updateLine();
    this.device.reset();
  }

  // ---- queues (§4.2.2, §4.2.3.2, reference §4.2) -------------------------------------------

  private absentQueue(what: string): MmioReply {
    return this.illegal(
      "mmio-queue-absent",
      `${what} with QueueSel ${this.queueSelReg} (no such queue)`,
    );
  }

  private writeQueueField(
    field: "num" | "desc" | "avail" | "used",
    value: number,
    high: boolean,
  ): MmioReply {
    const d = this.defects;
    const q = this.queues[this.queueSelReg];
    if (q === undefined) return this.absentQueue(`write of queue ${field}`);
    if (q.ready && !(field === "num" ? d.queueNumUnchecked : d.addressRegistersOred)) {
      return this.illegal(
        "mmio-queue-live",
        `write of queue ${field} while queue ${this.queueSelReg} is ready`,
      );
    }
    if (field === "num") {
      q.num = value;
      if (d.queueNumUnchecked) {
        const max = this.device.queueMaxSizes[this.queueSelReg] ?? 0;
        if (value === 0 || value > max || (value & (value - 1)) !== 0) {
          this.found(
            "queueNumUnchecked",
            "deviation",
            `QueueNum ${value} accepted for queue ${this.queueSelReg} (max ${max})`,
          );
        }
      }
    } else if (d.addressRegistersOred) {
      const before = q[field];
      const part = high ? value * 0x1_0000_0000 : value;
      // libvmm ORs the halves in, so a second write mixes old and new bits.
      q[field] = orAddress(before, part);
      if (before !== 0 && q[field] !== before) {
        this.found(
          "addressRegistersOred",
          "deviation",
          `queue ${this.queueSelReg} ${field} address OR-ed to 0x${q[field].toString(16)}`,
        );
      }
    } else {
      const low = q[field] % 0x1_0000_0000;
      const hi = Math.floor(q[field] / 0x1_0000_0000);
      q[field] = high ? value * 0x1_0000_0000 + low : hi * 0x1_0000_0000 + value;
    }
    if (q.ready && q.queue !== undefined) q.queue.setGeometry(geometryOf(q));
    return OK;
  }

  private writeQueueReady(value: number): MmioReply {
    const d = this.defects;
    const sel = this.queueSelReg;
    const q = this.queues[sel];
    if (q === undefined) {
      if (d.queueReadyOutOfBounds) {
        if (value !== 1) return OK;
        const f = this.found(
          "queueReadyOutOfBounds",
          "vmm-memory-corruption",
          `QueueReady write with QueueSel ${sel} writes past the queue array`,
        );
        return { value: 0, resume: true, finding: f };
      }
      return this.absentQueue("write of QueueReady");
    }
    if (d.queueReadyCannotClear) {
      // libvmm: only the value 1 has an effect, and the queue cannot be stopped.
      if (value !== 1) {
        if (q.ready && value === 0) {
          this.found("queueReadyCannotClear", "deviation", `QueueReady 0 ignored for queue ${sel}`);
        }
        return OK;
      }
    } else if (value === 0) {
      q.ready = false;
      q.queue = undefined;
      return OK;
    }
    if (q.ready) return OK;
    const geometry = geometryOf(q);
    const options = {
      memory: this.memory,
      geometry,
      maxSize: this.device.queueMaxSizes[sel] ?? 0,
      features: {
        eventIdx: hasFeature(this.negotiated, Feature.EVENT_IDX),
        indirect: hasFeature(this.negotiated, Feature.INDIRECT_DESC),
      },
      defects: d,
      onFinding: (f: DefectFinding) => this.report(f),
      onBroken: (e: VirtioCoreError) => this.needsReset(e),
      onCrash: (f: DefectFinding) => this.crash(f),
    };
    if (!d.queueNumUnchecked && !d.uncheckedGuestAddresses) {
      if ((this.statusReg & Status.FEATURES_OK) === 0) {
        return this.illegal("mmio-status-order", `QueueReady for queue ${sel} before FEATURES_OK`);
      }
      const problem = validateGeometry(this.memory, geometry, options.maxSize);
      if (problem !== undefined) {
        // §6.3: an invalid queue is never used; the device needs a reset.
        this.needsReset(problem);
        return { value: 0, resume: true };
      }
    } else {
      const problem = validateGeometry(this.memory, geometry, options.maxSize);
      if (problem !== undefined) {
        this.found(
          problem.code === "queue-size-invalid" || problem.code === "queue-size-above-max"
            ? "queueNumUnchecked"
            : "uncheckedGuestAddresses",
          "deviation",
          `queue ${sel} enabled unchecked: ${problem.message}`,
        );
      }
    }
    q.ready = true;
    q.queue = new SplitVirtqueue(options);
    return OK;
  }

  private writeQueueReset(value: number): MmioReply {
    if (!hasFeature(this.negotiated, Feature.RING_RESET)) {
      return this.illegal("mmio-bad-offset", "QueueReset without VIRTIO_F_RING_RESET");
    }
    const q = this.queues[this.queueSelReg];
    if (q === undefined) return this.absentQueue("write of QueueReset");
    if (value === 1) this.queues[this.queueSelReg] = emptyQueue();
    return OK;
  }

  private writeQueueNotify(value: number): MmioReply {
    const d = this.defects;
    const index = value & 0xffff;
    if (!d.notifyWithoutDriverOk) {
      if (!this.isLive()) {
        return this.illegal(
          "mmio-notify-not-live",
          `QueueNotify ${index} in status 0x${this.statusReg.toString(16)}`,
        );
      }
      // Without VIRTIO_F_NOTIFICATION_DATA the value is the bare queue index (§4.2.3.3).
      const data = hasFeature(this.negotiated, Feature.NOTIFICATION_DATA);
      if (!this.queues[index]?.ready || (!data && value > 0xffff)) {
        return this.illegal(
          "mmio-notify-bad-queue",
          `QueueNotify of unready or absent queue ${value}`,
        );
      }
    } else if ((this.statusReg & Status.DRIVER_OK) === 0) {
      this.found(
        "notifyWithoutDriverOk",
        "deviation",
        `QueueNotify ${value} processed before DRIVER_OK`,
      );
    }
    const injected = this.device.queueNotify(d.notifyWithoutDriverOk ? value : index);
    if (this.crashedBy !== undefined) return { value: 0, resume: false, finding: this.crashedBy };
    if (!injected && d.injectFailureBlocks) {
      const f = this.found(
        "injectFailureBlocks",
        "vcpu-blocked",
        `virtual irq injection failed during QueueNotify ${value}`,
      );
      return { value: 0, resume: false, finding: f };
    }
    return OK;
  }

  // ---- config space (§2.5, §4.2.2.2) -------------------------------------------------------

  private readConfigSpace(offset: number, width: MmioWidth): MmioReply {
    const at = offset - Reg.Config;
    if (width === 8 || at % width !== 0) {
      return this.illegal("mmio-config-access", `${width}-byte config read at ${hex(offset)}`);
    }
    const value = this.device.readConfig(at, width as ConfigWidth);
    if (value === undefined) {
      if (this.defects.failOnIllegalAccess) {
        const f = this.found(
          "failOnIllegalAccess",
          "vcpu-blocked",
          `config read at ${hex(offset)}`,
        );
        return { value: 0, resume: false, finding: f };
      }
      return this.illegal("mmio-config-access", `config read at ${hex(offset)} of no field`);
    }
    return { value: (value & widthMask(width)) >>> 0, resume: true };
  }

  private writeConfigSpace(offset: number, width: MmioWidth, value: number): MmioReply {
    const at = offset - Reg.Config;
    if (width === 8 || at % width !== 0) {
      return this.illegal("mmio-config-access", `${width}-byte config write at ${hex(offset)}`);
    }
    if (this.device.writeConfig(at, width as ConfigWidth, (value & widthMask(width)) >>> 0)) {
      return OK;
    }
    if (this.defects.failOnIllegalAccess) {
      const f = this.found("failOnIllegalAccess", "vcpu-blocked", `config write at ${hex(offset)}`);
      return { value: 0, resume: false, finding: f };
    }
    return this.illegal("mmio-config-access", `config write at ${hex(offset)} not accepted`);
  }

  // ---- interrupts (§4.2.3.4, reference §4.10) ----------------------------------------------

  private signal(bit: number): boolean {
    const before = this.interruptStatusReg;
    if (this.defects.interruptStatusOverwrite) {
      if (before !== 0 && before !== bit) {
        this.found(
          "interruptStatusOverwrite",
          "deviation",
          `InterruptStatus 0x${before.toString(16)} overwritten with 0x${bit.toString(16)}`,
        );
      }
      this.interruptStatusReg = bit;
    } else {
      this.interruptStatusReg = before | bit;
    }
    if (this.irq === undefined) return true;
    if (this.defects.edgeInterrupt) return this.irq.raise();
    if (this.lineRaised) return true;
    const ok = this.irq.raise();
    this.lineRaised = ok;
    return ok;
  }

  private updateLine(): void {
    if (this.defects.edgeInterrupt || this.interruptStatusReg !== 0 || !this.lineRaised) return;
    this.lineRaised = false;
    this.irq?.lower?.();
  }

  // ---- reporting ---------------------------------------------------------------------------

  /** An illegal access: logged, and the reply libvmm (FAIL) or the spec (answer) gives. */
  private illegal(code: TransportErrorCode, message: string): MmioReply {
    const error = new TransportError(code, message);
    this.logError(error);
    if (this.defects.failOnIllegalAccess) {
      const f = this.found("failOnIllegalAccess", "vcpu-blocked", message);
      return { value: 0, resume: false, error, finding: f };
    }
    return { value: 0, resume: true, error };
  }

  private found(
    defect: DefectName,
    impact: DefectFinding["impact"],
    message: string,
  ): DefectFinding {
    const f = finding(defect, impact, message);
    this.report(f);
    return f;
  }

  private logError(error: VirtioCoreError): void {
    this.errorCounts.set(error.code, (this.errorCounts.get(error.code) ?? 0) + 1);
    if (this.errors.length < LOG_LIMIT) this.errors.push(error);
    this.onError?.(error);
  }
}

function emptyQueue(): QueueRegs {
  return { num: 0, desc: 0, avail: 0, used: 0, ready: false, queue: undefined };
}

function geometryOf(q: QueueRegs): QueueGeometry {
  return { size: q.num, descAddr: q.desc, availAddr: q.avail, usedAddr: q.used };
}

function orderError(what: string): TransportError {
  return new TransportError("mmio-status-order", `status ${what}`);
}

/** Bitwise OR of two non-negative integers below 2^64 held as numbers. */
function orAddress(a: number, b: number): number {
  const hi = (Math.floor(a / 0x1_0000_0000) | Math.floor(b / 0x1_0000_0000)) >>> 0;
  const lo = ((a % 0x1_0000_0000) | (b % 0x1_0000_0000)) >>> 0;
  return hi * 0x1_0000_0000 + lo;
}
