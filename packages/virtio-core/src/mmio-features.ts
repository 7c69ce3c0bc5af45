/**
 * Feature negotiation over the two 32-bit windows (VirtIO 1.2 §2.2, §6; reference virtio
 * §2.1–§2.3): DeviceFeatures/DeviceFeaturesSel, DriverFeatures/DriverFeaturesSel and the
 * FEATURES_OK acceptance. Two defect switches, each chosen once:
 * - `exactFeatureWords` (L9, reference §4.4): libvmm's `set_driver_features` accepts only the
 *   exact offered word for words 0 and 1 (else the vCPU blocks) and grants FEATURES_OK from
 *   its `features_happy` flag;
 * - `featuresHappySticky` (reference §4.3): that flag survives a device reset.
 */
import { chooseBehaviour } from "@vmmux/profiles";
import { Feature, hasFeature, Status } from "./constants.js";
import type { VirtioDevice } from "./device.js";
import { TransportError } from "./errors.js";
import { blocked, type MmioReply, OK, type TransportCore } from "./mmio-core.js";

/**
 * The outcome of FEATURES_OK: `true` accepted, a `TransportError` refused (§3.1.1 step 7:
 * FEATURES_OK stays clear for the driver's re-read), `false` refused without an error.
 */
export type FeatureAcceptance = boolean | TransportError;

/** Switch `exactFeatureWords`: how DriverFeatures is taken and FEATURES_OK decided. */
interface NegotiationRule {
  writeDriverFeatures(n: FeatureNegotiation, value: number, status: number): MmioReply;
  accept(n: FeatureNegotiation): FeatureAcceptance;
}

/** §2.2.2: words are written between DRIVER and FEATURES_OK; only offered bits, VERSION_1. */
const SPEC_RULE: NegotiationRule = {
  writeDriverFeatures(n, value, status) {
    if ((status & Status.FEATURES_OK) !== 0 || (status & Status.DRIVER) === 0) {
      // §3.1.1 step 5/6: features are written after DRIVER and before FEATURES_OK.
      return n.core.illegal(
        "mmio-status-order",
        `DriverFeatures written in status 0x${status.toString(16)}`,
      );
    }
    n.driverFeatureWords.set(n.driverFeaturesSel, value);
    return OK;
  },
  accept(n) {
    const features = n.driverFeatures();
    if (features === undefined || (features & ~n.device.features) !== 0n) {
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
    if (n.device.validateFeatures?.(features) === false) {
      return new TransportError("mmio-features-refused", "device refused the feature set");
    }
    n.negotiated = features;
    return true;
  },
};

/** L9: any word 0/1 other than the offered one blocks the vCPU; FEATURES_OK = features_happy. */
const LIBVMM_RULE: NegotiationRule = {
  writeDriverFeatures(n, value) {
    const sel = n.driverFeaturesSel;
    if (sel < 2 && value !== featureWord(n.device.features, sel)) {
      return blocked(
        n.core.found(
          "exactFeatureWords",
          "vcpu-blocked",
          `DriverFeatures word ${sel} = 0x${value.toString(16)} is not exactly the offered word`,
        ),
      );
    }
    n.driverFeatureWords.set(sel, value);
    n.featuresHappy = true;
    return OK;
  },
  accept(n) {
    n.negotiated = n.driverFeatures() ?? 0n;
    return n.featuresHappy;
  },
};

/** Switch `featuresHappySticky` (reference §4.3): libvmm's reset leaves `features_happy` set. */
const keepHappy = (_n: FeatureNegotiation): void => {};
/** §2.4.1: a reset forgets everything the driver negotiated. */
const clearHappy = (n: FeatureNegotiation): void => {
  n.featuresHappy = false;
};

/** Word `sel` of a 64-bit-or-wider feature set (§4.2.2 DeviceFeatures). */
export function featureWord(features: bigint, sel: number): number {
  if (sel > 3) return 0;
  return Number((features >> BigInt(32 * sel)) & 0xffff_ffffn);
}

export class FeatureNegotiation {
  deviceFeaturesSel = 0;
  driverFeaturesSel = 0;
  readonly driverFeatureWords = new Map<number, number>();
  negotiated = 0n;
  /** libvmm's `features_happy` (reference §4.3, §4.4). */
  featuresHappy = false;
  private readonly rule: NegotiationRule;
  private readonly resetHappy: (n: FeatureNegotiation) => void;

  constructor(
    readonly core: TransportCore,
    readonly device: VirtioDevice,
    defects: { readonly exactFeatureWords: boolean; readonly featuresHappySticky: boolean },
  ) {
    this.rule = chooseBehaviour(defects.exactFeatureWords, LIBVMM_RULE, SPEC_RULE);
    this.resetHappy = chooseBehaviour(defects.featuresHappySticky, keepHappy, clearHappy);
  }

  /** DeviceFeatures at the current DeviceFeaturesSel. */
  deviceFeatures(): number {
    return featureWord(this.device.features, this.deviceFeaturesSel);
  }

  writeDriverFeatures(value: number, status: number): MmioReply {
    return this.rule.writeDriverFeatures(this, value, status);
  }

  /** FEATURES_OK acceptance (§2.2.2). */
  accept(): FeatureAcceptance {
    return this.rule.accept(this);
  }

  /** The driver's accepted set from the feature windows; `undefined` if beyond 128 bits. */
  driverFeatures(): bigint | undefined {
    let features = 0n;
    for (const [sel, word] of this.driverFeatureWords) {
      if (word === 0) continue;
      if (sel > 3) return undefined;
      features |= BigInt(word) << BigInt(32 * sel);
    }
    return features;
  }

  /** Device reset (§2.4.1; libvmm `virtio_console_reset`, reference §4.3). */
  reset(): void {
    this.deviceFeaturesSel = 0;
    this.driverFeaturesSel = 0;
    this.driverFeatureWords.clear();
    this.negotiated = 0n;
    this.resetHappy(this);
  }
}
