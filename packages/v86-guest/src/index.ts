/**
 * `@vmmux/v86-guest`: a real, unmodified Linux kernel (Debian's i386 build) on the v86 emulator
 * as the vCPU of a Microkit virtual machine. This entry point publishes the guest's boot assets:
 * the pinned Debian packages, the initramfs and the ACPI table that declares the virtio-mmio
 * console (reference real-guest.md).
 */
export { type VirtioMmioWindow, virtioMmioSsdt } from "./assets/acpi.js";
export { type CpioEntry, cpioArchive, S_IFDIR, S_IFLNK, S_IFREG } from "./assets/cpio.js";
export {
  CONSOLE_WINDOW,
  fetchGuestAssets,
  GUEST_ASSETS_COMMAND,
  GuestAssetError,
  type GuestAssetPaths,
  guestAssetDir,
  guestAssetPaths,
  guestAssetsPresent,
} from "./assets/fetch.js";
export {
  buildInitramfs,
  GUEST_PROMPT,
  type InitramfsInputs,
  initScript,
} from "./assets/initramfs.js";
export {
  BUSYBOX_PACKAGE,
  CONSOLE_MODULES,
  GUEST_PACKAGES,
  KERNEL_PACKAGE,
  KERNEL_RELEASE,
  type PinnedPackage,
  SEABIOS_PACKAGE,
} from "./assets/packages.js";
export {
  MachineError,
  type MachineOptions,
  type MachineStop,
  V86Machine,
} from "./emulator/machine.js";
export { importSharedMemory, shareMemoryImport, WasmPatchError } from "./emulator/wasm-patch.js";
export {
  type ConsoleAccess,
  V86Guest,
  type V86GuestCounters,
  type V86GuestOptions,
} from "./guest.js";
