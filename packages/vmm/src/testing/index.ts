/**
 * Test support for packages above @vmmux/vmm: a runnable rig with stub serial peers, a
 * hostile guest driven by a replayable script, and the planted bugs the property suites catch.
 */

export { FaultingVmm } from "./faulting-vmm.js";
export type { HostileOp, HostileScript } from "./hostile.js";
export { HostileGuest, hostileOpArb, hostileScriptArb } from "./hostile.js";
export { EraseBeyondLineTty, UnansweredUnmappedVmm, unansweredUnmappedVmm } from "./planted.js";
export type { RigMachine, RigOptions, RigVm } from "./rig.js";
export {
  drainedText,
  RIG_RAM_BASE,
  RIG_RX_IRQ,
  VMM_RX_CHANNEL,
  VMM_TX_CHANNEL,
  VmRig,
} from "./rig.js";
