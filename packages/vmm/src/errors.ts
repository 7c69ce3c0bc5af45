/**
 * The one error family of @vmmux/vmm. Configuration mistakes throw (they are the system
 * builder's, not a guest's); everything a guest can cause is recorded as a {@link VmmFinding}
 * and contained (DESIGN.md "Conventions").
 */

export type VmmErrorCode =
  /** A config record field is missing or out of range. */
  | "VMM_BAD_CONFIG"
  /** A device tree blob is malformed (bad magic, offsets or tokens). */
  | "DTB_MALFORMED"
  /** The device tree lacks a node or property the guest needs. */
  | "DTB_MISSING"
  /** The modelled VMM hit a defect that crashes the real one (reference profile only). */
  | "VMM_CRASHED";

export class VmmError extends Error {
  override readonly name = "VmmError";
  constructor(
    readonly code: VmmErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** What a guest did that the VMM contained (or, under `reference`, what libvmm would do). */
export type VmmFindingKind =
  /** MMIO outside every emulated device window (stage-2 fault with no handler). */
  | "unmapped-access"
  /** An access the virtio-mmio transport refused, by libvmm's FAIL path or as illegal. */
  | "mmio-refused"
  /** A transport or console defect finding (libvmm L1–L15 and friends). */
  | "device-defect"
  /** A hypercall the VMM does not implement. */
  | "unknown-hypercall"
  /** An EOI for a virtual IRQ that was not in flight. */
  | "spurious-eoi";

export interface VmmFinding {
  /** Virtual time of the finding, ns. */
  readonly t: number;
  readonly kind: VmmFindingKind;
  /** Whether the vCPU was resumed afterwards. */
  readonly resumed: boolean;
  /** Lower-case, names the address/register/defect. */
  readonly message: string;
}
