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
 *
 * This class composes the parts and owns the access path; each part owns its registers and
 * picks its defect switches' behaviours once, here at construction: `mmio-registers.ts`
 * (decoding, refusal), `mmio-status.ts`, `mmio-features.ts`, `mmio-queues.ts`,
 * `mmio-interrupt.ts`.
 */
import { chooseBehaviour } from "@vmmux/profiles";
import {
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
  hex,
  type InterruptLine,
  type MmioReply,
  type MmioWidth,
  OK,
  type TransportCore,
  widthMask,
} from "./mmio-core.js";
import { FeatureNegotiation } from "./mmio-features.js";
import { InterruptRegister } from "./mmio-interrupt.js";
import { QueueRegisterFile } from "./mmio-queues.js";
import {
  LIBVMM_DECODER,
  LIBVMM_REFUSAL,
  READABLE,
  type Refusal,
  type RegisterDecoder,
  SPEC_DECODER,
  SPEC_REFUSAL,
  WRITABLE,
} from "./mmio-registers.js";
import { StatusRegister } from "./mmio-status.js";
import {
  type DefectFinding,
  type DefectName,
  type DefectSwitches,
  defectsFor,
  finding,
  type Profile,
} from "./profile.js";
import type { SplitVirtqueue } from "./virtqueue.js";

export type { InterruptLine, MmioReply, MmioWidth } from "./mmio-core.js";

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

/** How many recent errors and findings are kept for inspection. */
const LOG_LIMIT = 256;

/** Switch `notifyWithoutDriverOk` (L15): whether the device may touch its queues. */
type Liveness = (status: number) => boolean;
/** §2.1.2: only after DRIVER_OK, and not once FAILED or DEVICE_NEEDS_RESET is set. */
const liveAfterDriverOk: Liveness = (s) =>
  (s & Status.DRIVER_OK) !== 0 && (s & (Status.FAILED | Status.DEVICE_NEEDS_RESET)) === 0;
/** libvmm checks no status before processing a queue (reference §4.5). */
const alwaysLive: Liveness = () => true;

export class VirtioMmioTransport implements VirtioDeviceHost {
  readonly device: VirtioDevice;
  readonly memory: GuestMemory;
  readonly profile: Profile;
  readonly defects: DefectSwitches;
  readonly windowSize: number;
  private readonly onFinding: ((f: DefectFinding) => void) | undefined;
  private readonly onError: ((e: VirtioCoreError) => void) | undefined;

  private readonly core: TransportCore;
  private readonly decoder: RegisterDecoder;
  private readonly refusal: Refusal;
  private readonly liveness: Liveness;
  private readonly features: FeatureNegotiation;
  private readonly statusRegister: StatusRegister;
  private readonly queueRegs: QueueRegisterFile;
  private readonly interrupts: InterruptRegister;
  private configGenerationReg = 0;
  private crashedBy: DefectFinding | undefined;

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
    const d = defectsFor(this.profile, options.defects);
    this.defects = d;
    this.windowSize = options.windowSize ?? 0x200;
    this.onFinding = options.onFinding;
    this.onError = options.onError;
    this.core = {
      illegal: (code, message) => this.illegal(code, message),
      found: (defect, impact, message) => this.found(defect, impact, message),
      logError: (error) => this.logError(error),
    };
    this.decoder = chooseBehaviour(d.mmioRangeAliasing, LIBVMM_DECODER, SPEC_DECODER);
    this.refusal = chooseBehaviour(d.failOnIllegalAccess, LIBVMM_REFUSAL, SPEC_REFUSAL);
    this.liveness = chooseBehaviour(d.notifyWithoutDriverOk, alwaysLive, liveAfterDriverOk);
    this.features = new FeatureNegotiation(this.core, this.device, d);
    this.statusRegister = new StatusRegister(
      this.core,
      this.device,
      this.features,
      () => this.reset(),
      d,
    );
    this.queueRegs = new QueueRegisterFile(this.core, this, d);
    this.interrupts = new InterruptRegister(this.core, options.interrupt, d);
    this.device.attach(this);
  }

  // ---- state visible to the device and to tests ------------------------------------------

  get status(): number {
    return this.statusRegister.value;
  }

  get interruptStatus(): number {
    return this.interrupts.value;
  }

  get configGeneration(): number {
    return this.configGenerationReg;
  }

  get negotiatedFeatures(): bigint {
    return this.features.negotiated;
  }

  get queueSel(): number {
    return this.queueRegs.sel;
  }

  /** The finding that crashed the modelled VMM, if any; the transport then never replies. */
  get crashed(): DefectFinding | undefined {
    return this.crashedBy;
  }

  /** Level of the interrupt line under level semantics: InterruptStatus ≠ 0 (§4.2.3.4). */
  get interruptAsserted(): boolean {
    return this.interrupts.value !== 0;
  }

  /** Whether queue `index` has QueueReady set. */
  queueReady(index: number): boolean {
    return this.queueRegs.queues[index]?.ready ?? false;
  }

  isLive(): boolean {
    return this.liveness(this.statusRegister.value);
  }

  queue(index: number): SplitVirtqueue | undefined {
    if (this.crashedBy !== undefined || !this.isLive()) return undefined;
    const q = this.queueRegs.queues[index];
    return q?.ready ? q.queue : undefined;
  }

  signalUsedBuffer(): boolean {
    // §2.1.2: no used-buffer notification before DRIVER_OK (nor once the device needs a reset).
    if (!this.isLive()) return true;
    return this.interrupts.signal(INTERRUPT_USED_BUFFER);
  }

  signalConfigChange(): boolean {
    this.configGenerationReg = (this.configGenerationReg + 1) >>> 0;
    return this.interrupts.signal(INTERRUPT_CONFIG_CHANGE);
  }

  needsReset(reason: VirtioCoreError): void {
    this.logError(reason);
    const status = this.statusRegister;
    if ((status.value & Status.DEVICE_NEEDS_RESET) !== 0) return;
    status.value |= Status.DEVICE_NEEDS_RESET;
    // §2.1.2: with DRIVER_OK set the device MUST send a configuration-change notification.
    if ((status.value & Status.DRIVER_OK) !== 0) this.interrupts.signal(INTERRUPT_CONFIG_CHANGE);
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
    const reg = this.decoder.decode(this.core, offset, width, "read", this.windowSize);
    if (typeof reg !== "number") return reg;
    if (!READABLE.has(reg)) {
      return this.illegal("mmio-read-write-only", `read of write-only register ${hex(reg)}`);
    }
    const value = this.readRegister(reg);
    if (typeof value !== "number") return value;
    return { value: this.decoder.readValue(value, offset, width), resume: true };
  }

  /** Write with the full reply. */
  writeAccess(offset: number, width: MmioWidth, value: number): MmioReply {
    if (this.crashedBy !== undefined) return { value: 0, resume: false, finding: this.crashedBy };
    const malformed = this.malformed(offset, width, "write");
    if (malformed !== undefined) return malformed;
    if (offset >= Reg.Config && offset < this.windowSize) {
      return this.writeConfigSpace(offset, width, value);
    }
    const reg = this.decoder.decode(this.core, offset, width, "write", this.windowSize);
    if (typeof reg !== "number") return reg;
    if (!WRITABLE.has(reg)) {
      return this.illegal("mmio-write-read-only", `write of read-only register ${hex(reg)}`);
    }
    return this.writeRegister(reg, this.decoder.writeValue(value, offset, width));
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

  private readRegister(reg: number): number | MmioReply {
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
        return this.features.deviceFeatures();
      case Reg.QueueNumMax:
        return this.queueRegs.readNumMax();
      case Reg.QueueReady:
        return this.queueRegs.readReady();
      case Reg.InterruptStatus:
        return this.interrupts.value;
      case Reg.Status:
        return this.statusRegister.value;
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
        return 0; // decoding admits only the registers above
    }
  }

  private writeRegister(reg: number, value: number): MmioReply {
    const queues = this.queueRegs;
    switch (reg) {
      case Reg.DeviceFeaturesSel:
        this.features.deviceFeaturesSel = value;
        return OK;
      case Reg.DriverFeaturesSel:
        this.features.driverFeaturesSel = value;
        return OK;
      case Reg.DriverFeatures:
        return this.features.writeDriverFeatures(value, this.statusRegister.value);
      case Reg.QueueSel:
        queues.sel = value;
        return OK;
      case Reg.QueueNum:
        return queues.writeNum(value);
      case Reg.QueueDescLow:
        return queues.writeAddress("desc", value, false);
      case Reg.QueueDescHigh:
        return queues.writeAddress("desc", value, true);
      case Reg.QueueDriverLow:
        return queues.writeAddress("avail", value, false);
      case Reg.QueueDriverHigh:
        return queues.writeAddress("avail", value, true);
      case Reg.QueueDeviceLow:
        return queues.writeAddress("used", value, false);
      case Reg.QueueDeviceHigh:
        return queues.writeAddress("used", value, true);
      case Reg.QueueReady:
        return queues.writeReady(value);
      case Reg.QueueNotify:
        return queues.writeNotify(value);
      case Reg.InterruptACK:
        this.interrupts.acknowledge(value);
        return OK;
      case Reg.Status:
        return this.statusRegister.write(value);
      case Reg.QueueReset:
        return queues.writeReset(value);
      default:
        // SHMSel: no shared-memory regions exist, so the selection has no effect.
        return OK;
    }
  }

  /** Device reset (§2.4.1, §4.2.2.1; libvmm `virtio_console_reset`, reference §4.3). */
  private reset(): void {
    this.statusRegister.value = 0;
    this.features.reset();
    this.queueRegs.reset();
    this.interrupts.reset();
    this.device.reset();
  }

  // ---- config space (§2.5, §4.2.2.2) -------------------------------------------------------

  private readConfigSpace(offset: number, width: MmioWidth): MmioReply {
    const at = offset - Reg.Config;
    if (width === 8 || at % width !== 0) {
      return this.illegal("mmio-config-access", `${width}-byte config read at ${hex(offset)}`);
    }
    const value = this.device.readConfig(at, width as ConfigWidth);
    if (value === undefined) {
      return this.refusal.config(
        this.core,
        "mmio-config-access",
        `config read at ${hex(offset)} of no field`,
        `config read at ${hex(offset)}`,
      );
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
    return this.refusal.config(
      this.core,
      "mmio-config-access",
      `config write at ${hex(offset)} not accepted`,
      `config write at ${hex(offset)}`,
    );
  }

  // ---- reporting ---------------------------------------------------------------------------

  /** An illegal access: logged, and the reply libvmm (FAIL) or the spec (answer) gives. */
  private illegal(code: TransportErrorCode, message: string): MmioReply {
    const error = new TransportError(code, message);
    this.logError(error);
    return this.refusal.illegal(this.core, error, message);
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
