/**
 * virtio-core's defects (DESIGN.md "Two fidelity profiles"): each is a behaviour of libvmm's
 * virtio-mmio and virtqueue code (reference virtio §4.2–§4.11) that `hardened` fixes, a named
 * switch so a test can show it alone. `Profile` and the switch vocabulary come from
 * `@vmmux/profiles`; `Profile` is re-exported here for packages that import it from us.
 */
import {
  defectSwitchesFor,
  type Profile,
  type DefectSwitches as SwitchesOf,
} from "@vmmux/profiles";

export type { Profile } from "@vmmux/profiles";

/** What a defect does to the guest or the VMM when it bites. */
export type DefectImpact =
  /** The VMM PD would fault (data abort / trap): the model marks the transport crashed. */
  | "vmm-crash"
  /** The faulting vCPU is never resumed (libvmm's FAIL path, reference virtio §4.1). */
  | "vcpu-blocked"
  /** libvmm writes outside its own data structures (memory corruption or crash). */
  | "vmm-memory-corruption"
  /** The VMM keeps running but deviates from the spec. */
  | "deviation";

/** Every libvmm defect virtio-core models, with the reference fact it comes from. */
export const DEFECTS = {
  mmioRangeAliasing: { ref: "§4.2", summary: "register gaps alias onto the preceding register" },
  failOnIllegalAccess: {
    ref: "L8",
    summary: "illegal register or config access leaves the vCPU blocked",
  },
  queueReadyOutOfBounds: {
    ref: "L1",
    summary: "QueueReady write with QueueSel beyond the queues writes out of bounds",
  },
  uncheckedGuestAddresses: {
    ref: "L2",
    summary: "ring or buffer outside guest RAM is dereferenced",
  },
  queueNumUnchecked: { ref: "L3", summary: "any QueueNum is accepted and used" },
  exactFeatureWords: {
    ref: "L9",
    summary: "DriverFeatures must equal the offered word, otherwise the vCPU blocks",
  },
  featuresHappySticky: { ref: "§4.3", summary: "feature acceptance survives reset" },
  statusMultiBitFails: {
    ref: "L10",
    summary: "a status write with several or unknown new bits blocks the vCPU",
  },
  statusRewriteResets: { ref: "L11", summary: "rewriting the current status resets the device" },
  statusLaxOrder: {
    ref: "L15",
    summary: "DRIVER_OK without FEATURES_OK; FAILED not stored; cleared bits dropped",
  },
  injectFailureBlocks: {
    ref: "L12",
    summary: "a failed virtual IRQ injection fails the QueueNotify access",
  },
  notifyWithoutDriverOk: {
    ref: "L15",
    summary: "notifications are processed before DRIVER_OK and after NEEDS_RESET",
  },
  queueReadyCannotClear: { ref: "L15", summary: "QueueReady cannot be cleared" },
  addressRegistersOred: {
    ref: "L15",
    summary: "queue address halves are OR-ed in and change while the queue is ready",
  },
  queueNumMaxForAbsentQueues: { ref: "L15", summary: "QueueNumMax is non-zero for absent queues" },
  interruptStatusOverwrite: { ref: "§4.10", summary: "InterruptStatus is overwritten, not OR-ed" },
  edgeInterrupt: { ref: "§4.10", summary: "one injection per event, no level semantics" },
  availIndexUnchecked: {
    ref: "L15",
    summary: "an avail.idx jump beyond the queue size is processed",
  },
  headIndexUnchecked: { ref: "L5", summary: "a head index beyond the queue is handed out" },
  badChainConsumed: {
    ref: "L15",
    summary: "a broken chain (bad next, loop) is consumed with no payload",
  },
  indirectAsData: { ref: "L15", summary: "INDIRECT descriptors are treated as plain buffers" },
  orderUnchecked: { ref: "L15", summary: "readable-after-writable descriptors are accepted" },
  usedIdxFromGuest: { ref: "L15", summary: "used.idx is read back from guest memory" },
  noNotificationSuppression: {
    ref: "§4.6",
    summary: "avail.flags and used_event are ignored; used.flags is never written",
  },
} as const satisfies Record<string, { ref: string; summary: string }>;

export type DefectName = keyof typeof DEFECTS;

/** One switch per defect: true = behave like libvmm. */
export type DefectSwitches = SwitchesOf<DefectName>;

/** The switches of a profile, with optional per-defect overrides. */
export function defectsFor(
  profile: Profile,
  overrides: Partial<DefectSwitches> = {},
): DefectSwitches {
  const names = Object.keys(DEFECTS) as DefectName[];
  const switches: Record<DefectName, boolean> = { ...defectSwitchesFor(profile, names) };
  for (const name of names) switches[name] = overrides[name] ?? switches[name];
  return switches;
}

/**
 * A defect that was exercised: reported by the model instead of failing (DESIGN.md oracles).
 * `defect` is one of virtio-core's names or a device back end's own defect name.
 */
export interface DefectFinding {
  readonly defect: DefectName | (string & {});
  /** Reference fact id, e.g. "L1" or "§4.3". */
  readonly ref: string;
  readonly impact: DefectImpact;
  /** Lower-case description naming the place (register offset, descriptor index, ...). */
  readonly message: string;
}

/** A finding for a device back end's own defect (e.g. a console assert, reference §4.11). */
export function deviceFinding(
  defect: string,
  ref: string,
  impact: DefectImpact,
  message: string,
): DefectFinding {
  return { defect, ref, impact, message };
}

/** Build a finding for `defect`. */
export function finding(defect: DefectName, impact: DefectImpact, message: string): DefectFinding {
  return { defect, ref: DEFECTS[defect].ref, impact, message };
}
