/**
 * @vmmux/vmm — a libvmm-style VMM protection domain (MMIO fault dispatch to a virtio-mmio
 * console, virtual IRQs, guest RAM, device tree) and a guest OS model on its vCPU.
 */
export type {
  ConsoleDiscovery,
  DtNode,
  DtValue,
  GuestTreeSpec,
} from "./device-tree.js";
export {
  decodeDtb,
  discoverConsole,
  dtbSize,
  dtNode,
  dtValue,
  encodeDtb,
  guestDeviceTree,
  propCells,
  propString,
} from "./device-tree.js";
export type { VmmErrorCode, VmmFinding, VmmFindingKind } from "./errors.js";
export { VmmError } from "./errors.js";
export type {
  GuestPhase,
  GuestWorkload,
  LinuxGuestOptions,
  OutputEvent,
  Transcript,
} from "./guest/linux-guest.js";
export { LinuxGuest, linuxGuest } from "./guest/linux-guest.js";
export type { ShellOptions } from "./guest/shell.js";
export { Shell } from "./guest/shell.js";
export type { TtyOptions } from "./guest/tty.js";
export { BACKSPACE, ERASE, KILL, onlcrBytes, Tty } from "./guest/tty.js";
export { VcpuMmio } from "./guest/vcpu-mmio.js";
export { sharedGuestMemory } from "./guest-ram.js";
export type { GuestSpec, VirtualMachine } from "./machine.js";
export { customMachine, virtualMachine } from "./machine.js";
export type { RestartingParentOptions, RestartRecord } from "./restarting-parent.js";
export { RestartingParent } from "./restarting-parent.js";
export type { VirqCounters, VirqTarget } from "./virq.js";
export { VirqController } from "./virq.js";
export type { SerialEndConfig, VmmConfig, VmmCounters } from "./vmm.js";
export {
  BootRegisters,
  DEFAULT_BOOTARGS,
  DEFAULT_VIRTIO_BASE,
  DEFAULT_VIRTIO_IRQ,
  DEFAULT_VIRTIO_SIZE,
  VmmProgram,
  vmmProgram,
} from "./vmm.js";
