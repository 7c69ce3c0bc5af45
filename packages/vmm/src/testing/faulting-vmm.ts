/**
 * Test hook: a VMM whose libvmm assert trips (microkit reference §2.8: the assert faults the VMM
 * PD, and the fault goes to its parent) at the first guest exit it handles at or after `at` ns,
 * once per instance. Stands in for a guest access that trips an assert in a debug build.
 */
import type { FaultMessage, FaultReply, PdContext, PdStep } from "@vmmux/microkit-pd";
import { VmmError } from "../errors.js";
import { type VmmConfig, VmmProgram } from "../vmm.js";

export class FaultingVmm extends VmmProgram {
  /** Virtual time the assert tripped, once it has. */
  trippedAt: number | undefined;

  constructor(
    config: VmmConfig,
    readonly at: number,
  ) {
    super(config);
  }

  override *fault(child: number, msg: FaultMessage, pd: PdContext): PdStep<FaultReply> {
    if (this.trippedAt === undefined && pd.now() >= this.at) {
      this.trippedAt = pd.now();
      throw new VmmError("VMM_CRASHED", "vmm: assert failed (test hook)");
    }
    return yield* super.fault(child, msg, pd);
  }
}
