/**
 * What the parts of the virtio-mmio transport share: the reply to an access, the interrupt
 * line, the per-queue register record, and the reporting surface each part calls back into
 * (`TransportCore`). The parts (register decoding, status, features, queues, interrupts)
 * import this module and nothing of each other except through it.
 */
import type { TransportError, TransportErrorCode, VirtioCoreError } from "./errors.js";
import type { DefectFinding, DefectImpact, DefectName } from "./profile.js";
import type { SplitVirtqueue } from "./virtqueue.js";

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

/** The accepted write or read: nothing to report, the vCPU resumes. */
export const OK: MmioReply = { value: 0, resume: true };

/** Per-queue register state (§4.2.2 queue registers). */
export interface QueueRegs {
  num: number;
  desc: number;
  avail: number;
  used: number;
  ready: boolean;
  queue: SplitVirtqueue | undefined;
}

export function emptyQueue(): QueueRegs {
  return { num: 0, desc: 0, avail: 0, used: 0, ready: false, queue: undefined };
}

/** What every part of the transport may call on the transport that composes it. */
export interface TransportCore {
  /** An illegal access: logged, answered as the profile's refusal rule says (L8 / §2.5). */
  illegal(code: TransportErrorCode, message: string): MmioReply;
  /** Report a virtio-core defect as exercised; returns the finding for the reply. */
  found(defect: DefectName, impact: DefectImpact, message: string): DefectFinding;
  logError(error: VirtioCoreError): void;
}

/** The reply that leaves the vCPU blocked because of `finding` (libvmm FAIL, reference §4.1). */
export function blocked(finding: DefectFinding): MmioReply {
  return { value: 0, resume: false, finding };
}

export function widthMask(width: MmioWidth): number {
  return width >= 4 ? 0xffff_ffff : (1 << (8 * width)) - 1;
}

export function hex(n: number): string {
  return `0x${n.toString(16).padStart(3, "0")}`;
}
