/**
 * Which register an access hits and which value it carries (virtio-mmio v2 register map,
 * reference virtio §2.1), and how an illegal access is answered. Two defect switches live
 * here, each a pair of strategies the transport picks once:
 * - `mmioRangeAliasing` (reference §4.2, §4.1 "Width/lane handling"): `LIBVMM_DECODER` vs
 *   `SPEC_DECODER`;
 * - `failOnIllegalAccess` (L8): `LIBVMM_REFUSAL` vs `SPEC_REFUSAL` (§2.5: log, read 0,
 *   ignore the write, resume the vCPU).
 */
import { Reg } from "./constants.js";
import type { TransportError } from "./errors.js";
import {
  blocked,
  hex,
  type MmioReply,
  type MmioWidth,
  type TransportCore,
  widthMask,
} from "./mmio-core.js";

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

/** Registers the driver may read (§4.2.2). */
export const READABLE = new Set<number>([
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

/** Registers the driver may write (§4.2.2). */
export const WRITABLE = new Set<number>([
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

/** Switch `mmioRangeAliasing`: how an offset and width select a register and its value. */
export interface RegisterDecoder {
  /** The register an access hits, or the reply for a bad offset or width. */
  decode(
    core: TransportCore,
    offset: number,
    width: MmioWidth,
    kind: string,
    windowSize: number,
  ): number | MmioReply;
  /** The value a read of `value` returns at `offset` with `width`. */
  readValue(value: number, offset: number, width: MmioWidth): number;
  /** The value a write of `value` at `offset` with `width` delivers to the register. */
  writeValue(value: number, offset: number, width: MmioWidth): number;
}

/** libvmm's lane mask: the width mask shifted left by `shift` bits, truncated to 32 bits. */
function laneMask(width: MmioWidth, shift: number): number {
  return (widthMask(width) << shift) >>> 0;
}

/** §4.2.2.2: only the listed offsets, 32-bit wide; legacy registers do not exist in v2. */
export const SPEC_DECODER: RegisterDecoder = {
  decode(core, offset, width, kind, windowSize) {
    if (offset < 0 || offset >= windowSize || offset % 4 !== 0) {
      return core.illegal("mmio-bad-offset", `${kind} at bad register offset ${hex(offset)}`);
    }
    if (width !== 4) {
      return core.illegal("mmio-wrong-width", `${width}-byte ${kind} of register ${hex(offset)}`);
    }
    if (LEGACY.has(offset)) {
      return core.illegal("mmio-bad-offset", `${kind} of legacy-only register ${hex(offset)}`);
    }
    if (!READABLE.has(offset) && !WRITABLE.has(offset)) {
      return core.illegal("mmio-bad-offset", `${kind} at bad register offset ${hex(offset)}`);
    }
    return offset;
  },
  readValue: (value, _offset, width) => (value & widthMask(width)) >>> 0,
  writeValue: (value, _offset, width) => (value & widthMask(width)) >>> 0,
};

/**
 * libvmm mmio.c and fault.c (reference §4.2, §4.1): gaps alias onto the preceding register,
 * widths are not checked; reads are shifted down to the lane, writes are masked with the
 * shifted lane mask but NOT shifted, so a byte store at Status + 1 writes 0.
 */
export const LIBVMM_DECODER: RegisterDecoder = {
  decode(core, offset, width, kind) {
    for (const [start, end] of LIBVMM_RANGES) {
      if (offset < start || offset >= end) continue;
      if (offset !== start || width !== 4) {
        core.found(
          "mmioRangeAliasing",
          "deviation",
          `${width}-byte ${kind} at ${hex(offset)} lands on register ${hex(start)}`,
        );
      }
      return start;
    }
    return core.illegal("mmio-bad-offset", `${kind} at bad register offset ${hex(offset)}`);
  },
  readValue(value, offset, width) {
    const shift = 8 * (offset & 3);
    return ((value & laneMask(width, shift)) >>> shift) >>> 0;
  },
  writeValue: (value, offset, width) => (value & laneMask(width, 8 * (offset & 3))) >>> 0,
};

/** Switch `failOnIllegalAccess`: the reply to an access the transport refuses. */
export interface Refusal {
  /** The reply to an illegal access, after it was logged. */
  illegal(core: TransportCore, error: TransportError, message: string): MmioReply;
  /**
   * The reply to a config-space access the device does not serve: `logged` is the message of
   * the illegal access that is logged under §2.5, `blockedMessage` libvmm's FAIL finding.
   */
  config(
    core: TransportCore,
    code: "mmio-config-access",
    logged: string,
    blockedMessage: string,
  ): MmioReply;
}

/** §2.5 (QEMU): log, read 0, ignore the write, resume the vCPU. */
export const SPEC_REFUSAL: Refusal = {
  illegal: (_core, error) => ({ value: 0, resume: true, error }),
  config: (core, code, logged) => core.illegal(code, logged),
};

/** L8: every FAIL path of libvmm's mmio.c leaves the faulting vCPU blocked for good. */
export const LIBVMM_REFUSAL: Refusal = {
  illegal(core, error, message) {
    const f = core.found("failOnIllegalAccess", "vcpu-blocked", message);
    return { value: 0, resume: false, error, finding: f };
  },
  config: (core, _code, _logged, blockedMessage) =>
    blocked(core.found("failOnIllegalAccess", "vcpu-blocked", blockedMessage)),
};
