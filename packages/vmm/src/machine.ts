/**
 * A VMM and its guest wired together: they share the boot registers (x0 = DTB address), and
 * the factory remembers the guest it started last so a test or the testbench can inspect it.
 */
import type { GuestProgram } from "@vmmux/microkit-pd";
import { LinuxGuest, type LinuxGuestOptions } from "./guest/linux-guest.js";
import { BootRegisters, type VmmConfig, VmmProgram } from "./vmm.js";

export interface VirtualMachine<G extends GuestProgram = LinuxGuest> {
  readonly vmm: VmmProgram;
  readonly boot: BootRegisters;
  /** For `SystemOptions.guests[<vm name>]`: a fresh guest each time the VMM starts the vCPU. */
  readonly guest: (vcpuId: number) => G;
  /** The guest started last. */
  current(): G | undefined;
}

export type GuestSpec = Omit<LinuxGuestOptions, "boot" | "ramRegion">;

/** A libvmm-style VMM with the Linux guest model (or another guest program via `makeGuest`). */
export function virtualMachine(
  vmm: Omit<VmmConfig, "boot">,
  guest: GuestSpec,
  makeVmm: (config: VmmConfig) => VmmProgram = (config) => new VmmProgram(config),
): VirtualMachine {
  return customMachine(
    vmm,
    (boot) => new LinuxGuest({ ...guest, boot, ramRegion: vmm.ram.region }),
    makeVmm,
  );
}

/** Same wiring with any guest program (e.g. a hostile one). */
export function customMachine<G extends GuestProgram>(
  vmm: Omit<VmmConfig, "boot">,
  makeGuest: (boot: BootRegisters) => G,
  makeVmm: (config: VmmConfig) => VmmProgram = (config) => new VmmProgram(config),
): VirtualMachine<G> {
  const boot = new BootRegisters();
  const program = makeVmm({ ...vmm, boot });
  let last: G | undefined;
  return {
    vmm: program,
    boot,
    guest: () => {
      last = makeGuest(boot);
      return last;
    },
    current: () => last,
  };
}
