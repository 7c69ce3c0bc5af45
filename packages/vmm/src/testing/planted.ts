/**
 * Planted bugs, kept so the property suites keep proving they can fail.
 */
import type { FaultReply, GuestExit, PdContext } from "@vmmux/microkit-pd";
import { Tty } from "../guest/tty.js";
import { type VmmConfig, VmmProgram } from "../vmm.js";

/**
 * A hardened VMM that forgets to answer MMIO exits outside its device windows (it behaves as
 * libvmm's "no handler, no reply" path whatever the profile): a guest touching an unmapped
 * address hangs for ever. The hostile-guest property must catch it.
 */
export class UnansweredUnmappedVmm extends VmmProgram {
  protected override unmapped(
    _exit: Extract<GuestExit, { kind: "mmio-read" | "mmio-write" }>,
    _pd: PdContext,
  ): FaultReply {
    return { resume: false };
  }
}

export function unansweredUnmappedVmm(config: VmmConfig): VmmProgram {
  return new UnansweredUnmappedVmm(config);
}

/** A tty that echoes a rubout for erase on an empty line, eating the prompt on screen. */
export class EraseBeyondLineTty extends Tty {
  protected override mayErase(): boolean {
    return true;
  }
}
