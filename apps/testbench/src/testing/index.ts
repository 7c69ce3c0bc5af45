/** Test support for @vmmux/testbench and packages that build on it. */

export { runtimeHasFastForward } from "./fast-forward.js";
export {
  VirtTxDroppingBytes,
  withDeviceResetMissed,
  withKeystrokeMisrouted,
  withPdDead,
  withWaitStranded,
  withWireByteCorrupted,
  withWireByteDropped,
  withWireBytesSwapped,
} from "./planted.js";
export type { SyntheticGuest } from "./synthetic.js";
export {
  BUNDLED_SYSTEM,
  BUNDLED_VM_SYSTEM,
  DEFAULT_KNOBS,
  syntheticCast,
  syntheticScenario,
} from "./synthetic.js";
