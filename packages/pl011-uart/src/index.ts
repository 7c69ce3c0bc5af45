/**
 * @vmmux/pl011-uart — the ARM PL011 UART as a register- and timing-faithful device model,
 * and the sDDF PL011 driver as a Microkit PD program.
 */

export type { Profile } from "@vmmux/profiles";
export type {
  ConnectionConfig,
  DriverDefects,
  DriverQuirks,
  Pl011DriverConfig,
  ResolvedDriverConfig,
} from "./config.js";
export {
  HARDENED_DEFECTS,
  HARDENED_QUIRKS,
  REFERENCE_DEFECTS,
  REFERENCE_QUIRKS,
  resolveDriverConfig,
} from "./config.js";
export type {
  ModemInputs,
  PeerSettings,
  PeerView,
  Pl011Counters,
  Pl011Options,
  Pl011Variant,
  WireByte,
  WireSendOptions,
} from "./device.js";
export { Pl011Device } from "./device.js";
export type { Pl011DriverCounters } from "./driver.js";
export { Pl011Driver } from "./driver.js";
export type { Pl011Diagnostic, Pl011ErrorCode } from "./errors.js";
export { Pl011Error } from "./errors.js";
export type { BaudDivisor, DurationFraction, FrameFormat } from "./line.js";
export {
  bitPeriods,
  divisorValid,
  formatName,
  frameBits,
  frameFormat,
  generatedBaud,
  sddfDivisor,
  trmDivisor,
} from "./line.js";
export type { UartLossPoints } from "./loss.js";
export { uartLossPoints } from "./loss.js";
export type { TransmitSink, WireKind } from "./output.js";
export { WIRE_BREAK, WIRE_CHARACTER } from "./output.js";
export type { Pl011Revision } from "./registers.js";
export {
  Cr,
  Dr,
  Fr,
  fifoLevel,
  Ifls,
  Int,
  LcrH,
  PL011_WINDOW_SIZE,
  RESET,
  REVISIONS,
  Reg,
  Rsr,
} from "./registers.js";
