/**
 * @vmmux/sddf-serial — the sDDF serial TX and RX virtualisers as Microkit PD programs
 * (reference/sddf-serial.md §4–§6, §10).
 */
export {
  bannerLine,
  COLOUR_BEGIN_LEN,
  COLOUR_END,
  COLOUR_END_LEN,
  COLOUR_OVERHEAD,
  colourStart,
  PALETTE_NAMES,
} from "./colour.js";
export type {
  Profile,
  SerialConnection,
  SwitchScheme,
  VirtRxConfig,
  VirtRxConfigInput,
  VirtRxDefects,
  VirtTxClient,
  VirtTxConfig,
  VirtTxConfigInput,
  VirtTxDefects,
} from "./config.js";
export {
  BEGIN_STR_MAX_LEN,
  DEFAULT_BEGIN_STR,
  DEFAULT_SWITCH_CHAR,
  DEFAULT_TERMINATE_NUM_CHAR,
  MAX_CLIENTS,
  NAME_LENGTH,
  virtRxConfig,
  virtTxConfig,
} from "./config.js";
export type { SerialVirtErrorCode } from "./errors.js";
export { SerialVirtError } from "./errors.js";
export type { VirtRxLoss, VirtTxLoss } from "./loss.js";
export { PendingList } from "./pending.js";
export type { SwitchAction, SwitchMachineOptions, SwitchMode } from "./switch-machine.js";
export { MAX_CLIENT_DIGITS, SwitchMachine } from "./switch-machine.js";
export { VirtRx } from "./virt-rx.js";
export { VirtTx } from "./virt-tx.js";
