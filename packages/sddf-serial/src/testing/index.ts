/**
 * Test support for packages above @vmmux/sddf-serial: rigs that run one virtualiser with
 * its peers played by the test, and the planted-bug variants the property suites catch.
 */
export { VirtRxUnpublishedSwitch, VirtTxLineBlind, VirtTxWithoutRecheck } from "./planted.js";
export type { RxRigOptions, TxRigOptions } from "./rig.js";
export { RIG_DRIVER_CHANNEL, RxRig, runInterleaved, TxRig } from "./rig.js";
export type { TxSimCommand, TxSimOptions, TxSimResult } from "./tx-sim.js";
export { simulateTx } from "./tx-sim.js";
