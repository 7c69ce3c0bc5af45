/**
 * The device status register and its state machine (VirtIO 1.2 §2.1, §3.1.1, §4.2.2;
 * reference virtio §2.2–§2.4). Three defect switches of libvmm's
 * `handle_virtio_mmio_set_status_flag` (reference §4.3), each chosen once:
 * - `statusRewriteResets` (L11): a write that adds no bit resets the device;
 * - `statusMultiBitFails` (L10): several new bits, or an unknown single one, block the vCPU;
 * - `statusLaxOrder` (L15): bits absent from the write are dropped, out-of-order steps are
 *   silently not taken, DRIVER_OK needs no FEATURES_OK, FAILED is not stored.
 */
import { chooseBehaviour } from "@vmmux/profiles";
import { Status } from "./constants.js";
import type { VirtioDevice } from "./device.js";
import { TransportError } from "./errors.js";
import { blocked, type MmioReply, OK, type TransportCore } from "./mmio-core.js";
import type { FeatureNegotiation } from "./mmio-features.js";

/** Status bits in the order a multi-bit write applies them. */
const STATUS_ORDER = [
  Status.ACKNOWLEDGE,
  Status.DRIVER,
  Status.FEATURES_OK,
  Status.DRIVER_OK,
  Status.FAILED,
] as const;

const DRIVER_BITS = STATUS_ORDER.reduce<number>((m, b) => m | b, 0);

/** Bits libvmm's status switch knows as single new bits (reference §4.3). */
const LIBVMM_SINGLE_BITS = new Set<number>([1, 2, 4, 8, 0x80]);

/** Switch `statusRewriteResets`: a write that adds no new bit. */
type Rewrite = (r: StatusRegister, value: number, old: number) => MmioReply;

/** §2.1.1: rewriting the same value is harmless; clearing bits is the driver's error. */
const rewriteKeeps: Rewrite = (r, value, old) => {
  if (value === old) return OK;
  return r.core.illegal(
    "mmio-status-illegal",
    `status write 0x${value.toString(16)} clears bits of 0x${old.toString(16)}`,
  );
};

/** L11: libvmm's switch sees `new == 0` and resets. */
const rewriteResets: Rewrite = (r, value) => {
  const f = r.core.found(
    "statusRewriteResets",
    "deviation",
    `status write 0x${value.toString(16)} adds no bit and resets the device`,
  );
  r.resetDevice();
  return { value: 0, resume: true, finding: f };
};

/** Switch `statusMultiBitFails`: the reply that stops a write with these new bits, if any. */
type NewBitRule = (
  r: StatusRegister,
  value: number,
  newBits: number,
  old: number,
) => MmioReply | undefined;

/** The spec applies every new bit in order (§3.1.1). */
const anyNewBits: NewBitRule = () => undefined;

/** L10: anything but one of 1, 2, 4, 8, 0x80 falls to the switch's FAIL. */
const singleKnownBit: NewBitRule = (r, value, newBits, old) => {
  if (LIBVMM_SINGLE_BITS.has(newBits)) return undefined;
  const f = r.core.found(
    "statusMultiBitFails",
    "vcpu-blocked",
    `status write 0x${value.toString(16)} adds bits 0x${newBits.toString(16)} libvmm cannot handle`,
  );
  if (r.value !== old) r.device.statusChanged?.(r.value, old);
  return blocked(f);
};

/** Switch `statusLaxOrder`: cleared bits and the order of the initialisation steps. */
interface StatusOrder {
  /** Before the new-bit check: what happens to bits the write leaves out. */
  dropClearedBits(r: StatusRegister, value: number, old: number): void;
  /** After the new-bit check: the refusal of a write that clears bits, if any. */
  refuseClearedBits(r: StatusRegister, value: number, old: number): MmioReply | undefined;
  /** Apply one newly written bit; returns why it was refused, if it was. */
  applyBit(r: StatusRegister, bit: number): TransportError | undefined;
}

function orderError(what: string): TransportError {
  return new TransportError("mmio-status-order", `status ${what}`);
}

/** §2.1.1, §3.1.1: bits are never cleared by the driver, and each step needs the one before. */
const SPEC_ORDER: StatusOrder = {
  dropClearedBits: () => {},
  refuseClearedBits(r, value, old) {
    if ((old & ~value) === 0) return undefined;
    return r.core.illegal(
      "mmio-status-illegal",
      `status write 0x${value.toString(16)} clears bits of 0x${old.toString(16)}`,
    );
  },
  applyBit(r, bit) {
    const s = r.value;
    switch (bit) {
      case Status.DRIVER:
        if ((s & Status.ACKNOWLEDGE) === 0) return orderError("DRIVER before ACKNOWLEDGE");
        break;
      case Status.FEATURES_OK:
        if ((s & Status.DRIVER) === 0) return orderError("FEATURES_OK before DRIVER");
        return r.featuresOk();
      case Status.DRIVER_OK:
        if ((s & Status.FEATURES_OK) === 0) return orderError("DRIVER_OK before FEATURES_OK");
        break;
    }
    r.value |= bit;
    return undefined;
  },
};

/** L15 (reference §4.3): `Status := Status AND v` first; rejected steps return success. */
const LIBVMM_ORDER: StatusOrder = {
  dropClearedBits(r, value, old) {
    if ((old & ~value) === 0) return;
    // This comes before libvmm's switch, so the drop happens even when the switch then FAILs.
    r.core.found(
      "statusLaxOrder",
      "deviation",
      `status write 0x${value.toString(16)} silently drops bits of 0x${old.toString(16)}`,
    );
    r.value = old & value;
  },
  refuseClearedBits: () => undefined,
  applyBit(r, bit) {
    const s = r.value;
    switch (bit) {
      case Status.ACKNOWLEDGE:
        if (s !== 0) return undefined; // silently not set
        break;
      case Status.DRIVER:
        if ((s & Status.ACKNOWLEDGE) === 0) return undefined;
        break;
      case Status.FEATURES_OK:
        if ((s & Status.DRIVER) === 0) return undefined;
        return r.featuresOk();
      case Status.DRIVER_OK:
        if ((s & Status.FEATURES_OK) === 0) {
          r.core.found("statusLaxOrder", "deviation", "DRIVER_OK accepted without FEATURES_OK");
        }
        break;
      case Status.FAILED:
        r.core.found("statusLaxOrder", "deviation", "FAILED is logged but not stored");
        return undefined;
    }
    r.value |= bit;
    return undefined;
  },
};

export class StatusRegister {
  value = 0;
  private readonly rewrite: Rewrite;
  private readonly newBitRule: NewBitRule;
  private readonly order: StatusOrder;

  constructor(
    readonly core: TransportCore,
    readonly device: VirtioDevice,
    private readonly features: FeatureNegotiation,
    /** Device reset of the whole transport (§2.4.1). */
    readonly resetDevice: () => void,
    defects: {
      readonly statusRewriteResets: boolean;
      readonly statusMultiBitFails: boolean;
      readonly statusLaxOrder: boolean;
    },
  ) {
    this.rewrite = chooseBehaviour(defects.statusRewriteResets, rewriteResets, rewriteKeeps);
    this.newBitRule = chooseBehaviour(defects.statusMultiBitFails, singleKnownBit, anyNewBits);
    this.order = chooseBehaviour(defects.statusLaxOrder, LIBVMM_ORDER, SPEC_ORDER);
  }

  /** A driver write of the status register (§2.1, §3.1.1; only 0 resets, §2.4.1). */
  write(value: number): MmioReply {
    const old = this.value;
    if (value === 0) {
      this.resetDevice();
      return OK;
    }
    const newBits = value & ~old;
    if (newBits === 0) return this.rewrite(this, value, old);
    this.order.dropClearedBits(this, value, old);
    const stop =
      this.newBitRule(this, value, newBits, old) ?? this.order.refuseClearedBits(this, value, old);
    if (stop !== undefined) return stop;
    let error: TransportError | undefined;
    for (const bit of STATUS_ORDER) {
      if ((newBits & bit) === 0) continue;
      const problem = this.order.applyBit(this, bit);
      error ??= problem;
    }
    const unknown = newBits & ~DRIVER_BITS;
    if (unknown !== 0) {
      error ??= new TransportError(
        "mmio-status-illegal",
        `status bits 0x${unknown.toString(16)} are not the driver's to set`,
      );
    }
    if (this.value !== old) this.device.statusChanged?.(this.value, old);
    if (error !== undefined) {
      this.core.logError(error);
      return { value: 0, resume: true, error };
    }
    return OK;
  }

  /** FEATURES_OK with its precondition met: the bit is set only if the features are accepted. */
  featuresOk(): TransportError | undefined {
    const accepted = this.features.accept();
    if (accepted === true) this.value |= Status.FEATURES_OK;
    return accepted === false || accepted === true ? undefined : accepted;
  }
}
