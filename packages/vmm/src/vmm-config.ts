/**
 * What a VMM is built from (`VmmConfig`) and how a config resolves to the profile's defaults.
 * Split from vmm.ts, which re-exports the public part.
 */
import type { ConsoleDefectSwitches } from "@vmmux/virtio-console";
import type { DefectSwitches, Profile } from "@vmmux/virtio-core";
import { VmmError } from "./errors.js";
import type { BootRegisters } from "./vmm.js";

/** One end of an sDDF serial connection as the VMM maps it. */
export interface SerialEndConfig {
  readonly channel: number;
  readonly queueRegion: string;
  readonly dataRegion: string;
  /** Queue capacity in bytes; default the data region's size. */
  readonly capacity?: number;
}

export interface VmmConfig {
  /** `reference` = libvmm as it is; `hardened` (default) = its defects fixed. */
  readonly profile?: Profile;
  /** libvmm build: a failed assert traps (`debug`) or is ignored (`release`, default). */
  readonly build?: "debug" | "release";
  /** Guest RAM: the memory region (mapped `rw` into the VMM) and its guest-physical base. */
  readonly ram: { readonly region: string; readonly guestBase: number };
  /** The virtio-mmio window; defaults are libvmm's example (0x130000, 0x200, SPI 42 = INTID 74). */
  readonly virtio?: { readonly base?: number; readonly size?: number; readonly irq?: number };
  /** The client ends of the serial TX (to virt_tx) and RX (from virt_rx) connections. */
  readonly serial: { readonly tx: SerialEndConfig; readonly rx: SerialEndConfig };
  /** Kernel command line in `/chosen` (default libvmm's `console=hvc0 earlycon=hvc0`). */
  readonly bootargs?: string;
  /** Guest-physical address of the DTB; default 64 KiB below the top of RAM. */
  readonly dtbAddress?: number;
  /** Boot registers shared with the guest program (see `virtualMachine`). */
  readonly boot?: BootRegisters;
  readonly vcpuId?: number;
  /**
   * vIRQ semantics: `edge` is libvmm (no re-delivery on EOI, §4.10); `level` re-injects while
   * InterruptStatus ≠ 0. Default: `edge` under reference, `level` under hardened.
   */
  readonly virq?: "edge" | "level";
  /**
   * An MMIO exit outside every device window: libvmm finds no handler and does not reply
   * (`block`, reference); `zero` (hardened) records it, reads 0, ignores the write, resumes;
   * `abort` records it and injects a data abort into the guest, as hardware would for an access
   * nothing decodes (an unhandled abort ends the guest, which then faults to this VMM).
   */
  readonly unmappedAccess?: "block" | "zero" | "abort";
  /**
   * A device defect that crashes the real VMM (e.g. L1, L2, a debug-build assert) kills this
   * PD too. Default: true under reference (the transport never resumes otherwise anyway).
   */
  readonly crashOnDeviceTrap?: boolean;
  /**
   * A trapped WFI: `resume` answers it at once, as libvmm does (default; an idle guest keeps its
   * vCPU runnable, microkit reference §2.10); `block` is a per-VMM blocking WFI: with no virtual
   * IRQ in flight the exit is left unanswered and the vCPU is resumed after the WFI
   * (`vcpuResume`) when the VMM next injects an IRQ. Nothing else wakes it (no virtual timer is
   * modelled), like the kernel-wide `trapWfi: false`.
   */
  readonly wfi?: "resume" | "block";
  /**
   * Single console defects switched over the profile's (virtio-console `CONSOLE_DEFECTS`), e.g.
   * `{ txSignalIgnored: false }` under reference: virt_tx's TX-channel signal runs TX (L13 off),
   * so only the missing re-check (T8) can leave TX waiting for good.
   */
  readonly consoleDefects?: Partial<ConsoleDefectSwitches>;
  /** Single transport and virtqueue defects switched over the profile's (virtio-core `DEFECTS`). */
  readonly transportDefects?: Partial<DefectSwitches>;
  /**
   * Ring features the console offers beyond its defaults (VirtIO 1.2 §2.7.5.3 INDIRECT_DESC,
   * §2.7.7/§2.7.10 EVENT_IDX), as QEMU's does. Only the hardened device honours them; the
   * reference device offers what libvmm offers (VERSION_1). Default: neither.
   */
  readonly features?: {
    readonly eventIdx?: boolean;
    readonly indirectDesc?: boolean;
    /** Offer VIRTIO_CONSOLE_F_MULTIPORT with the one port (hardened; reference virtio §3.5). */
    readonly multiport?: boolean;
  };
  /**
   * Run the console's TX as steps this PD can be preempted between, where the real VMM can be
   * (reference virtio §6.1 item 11: after seeing the sDDF TX queue full, before requesting a
   * signal; after publishing, before notifying virt_tx), charging the copying done so far and
   * one `default` unit of the VMM's own work at each. Default false: TX runs in one step, charged afterwards (the same total time, one
   * kernel event fewer per site).
   */
  readonly devicePreemption?: boolean;
}

/** Defaults of {@link VmmConfig.virtio}: libvmm's `client_vm/linux.dts`. */
export const DEFAULT_VIRTIO_BASE = 0x13_0000;
export const DEFAULT_VIRTIO_SIZE = 0x200;
export const DEFAULT_VIRTIO_IRQ = 74;
export const DEFAULT_BOOTARGS = "console=hvc0 earlycon=hvc0";

export interface Resolved {
  readonly profile: Profile;
  readonly virtioBase: number;
  readonly virtioSize: number;
  readonly irq: number;
  readonly vcpuId: number;
  readonly unmapped: "block" | "zero" | "abort";
  readonly crashOnDeviceTrap: boolean;
  readonly wfi: "resume" | "block";
}

export function resolve(config: VmmConfig): Resolved {
  const profile = config.profile ?? "hardened";
  const virtioBase = config.virtio?.base ?? DEFAULT_VIRTIO_BASE;
  const virtioSize = config.virtio?.size ?? DEFAULT_VIRTIO_SIZE;
  const irq = config.virtio?.irq ?? DEFAULT_VIRTIO_IRQ;
  if (!Number.isSafeInteger(virtioBase) || virtioBase < 0 || virtioSize < 0x100)
    throw new VmmError(
      "VMM_BAD_CONFIG",
      `vmm config: virtio window 0x${virtioBase.toString(16)}+0x${virtioSize.toString(16)} is invalid`,
    );
  if (!Number.isInteger(irq) || irq < 32 || irq > 1019)
    throw new VmmError(
      "VMM_BAD_CONFIG",
      `vmm config: virtio irq ${irq} is not a GIC SPI (32..1019)`,
    );
  return {
    profile,
    virtioBase,
    virtioSize,
    irq,
    vcpuId: config.vcpuId ?? 0,
    unmapped: config.unmappedAccess ?? (profile === "reference" ? "block" : "zero"),
    crashOnDeviceTrap: config.crashOnDeviceTrap ?? profile === "reference",
    wfi: config.wfi ?? "resume",
  };
}
