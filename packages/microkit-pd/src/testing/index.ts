/**
 * Test support for packages that write PD programs or device models.
 */
export type { ManualPdCall, ManualPdOptions, ManualRegionSpec } from "./manual-pd.js";
export { ManualPd, ManualPdFault } from "./manual-pd.js";
