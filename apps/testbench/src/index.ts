/**
 * @vmmux/testbench — scenarios, traces, oracles and the `vmmux` command line.
 * Built so far: the asciicast v2 trace format.
 */
export type {
  Asciicast,
  AsciicastEvent,
  AsciicastEventCode,
  AsciicastHeader,
} from "./asciicast.js";
export {
  AsciicastError,
  formatAsciicast,
  outputText,
  parseAsciicast,
  writeFileAtomic,
} from "./asciicast.js";
