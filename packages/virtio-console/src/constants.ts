/**
 * Numeric facts of the VirtIO console (VirtIO 1.2 §5.3, reference virtio §3) and of the
 * libvmm console it models (reference virtio §4.1, §4.4).
 */

/** Device type of a console (§5.3.1). */
export const CONSOLE_DEVICE_ID = 3;

/** libvmm's VendorID, "seL4" little-endian (reference virtio §4.1). */
export const LIBVMM_VENDOR_ID = 0x344c6573;

/** libvmm's `VIRTIO_DEFAULT_QUEUE_SIZE`, the QueueNumMax it reports (reference virtio §4.1). */
export const DEFAULT_QUEUE_SIZE = 128;

/** Page size of the modelled arm64 guest; Linux sizes RX and tty buffers by it (reference §5). */
export const PAGE_SIZE = 4096;

/** Console feature bits (§5.3.3). */
export const ConsoleFeature = {
  SIZE: 0,
  MULTIPORT: 1,
  EMERG_WRITE: 2,
} as const;

/** Queue indices of port 0 and the control queues (§5.3.2). */
export const RX_QUEUE = 0;
export const TX_QUEUE = 1;
export const CONTROL_RX_QUEUE = 2;
export const CONTROL_TX_QUEUE = 3;

/** The receiveq of `port`: 0 for port 0, `2p + 2` for p ≥ 1 (§5.3.2). */
export function rxQueueOf(port: number): number {
  return port === 0 ? RX_QUEUE : 2 * port + 2;
}

/** The transmitq of `port`: 1 for port 0, `2p + 3` for p ≥ 1 (§5.3.2). */
export function txQueueOf(port: number): number {
  return port === 0 ? TX_QUEUE : 2 * port + 3;
}

/** What a queue index carries, given the number of ports and whether MULTIPORT is on. */
export type QueueRole =
  | { readonly kind: "rx"; readonly port: number }
  | { readonly kind: "tx"; readonly port: number }
  | { readonly kind: "control-rx" }
  | { readonly kind: "control-tx" }
  | { readonly kind: "none" };

/** Maps a queue index to its role (§5.3.2); indices beyond the device's queues are `none`. */
export function queueRole(index: number, ports: number, multiport: boolean): QueueRole {
  if (!Number.isSafeInteger(index) || index < 0) return { kind: "none" };
  if (index === RX_QUEUE) return { kind: "rx", port: 0 };
  if (index === TX_QUEUE) return { kind: "tx", port: 0 };
  if (!multiport) return { kind: "none" };
  if (index === CONTROL_RX_QUEUE) return { kind: "control-rx" };
  if (index === CONTROL_TX_QUEUE) return { kind: "control-tx" };
  const port = Math.floor((index - 2) / 2);
  if (port < 1 || port >= ports) return { kind: "none" };
  return index % 2 === 0 ? { kind: "rx", port } : { kind: "tx", port };
}

/** Number of queues a console with `ports` ports exposes (§5.3.2). */
export function queueCount(ports: number, multiport: boolean): number {
  return multiport ? 2 * (ports + 1) : 2;
}

/** Control message events (§5.3.6.2); Linux names in comments where they differ. */
export const ControlEvent = {
  DEVICE_READY: 0,
  /** Linux: PORT_ADD. */
  DEVICE_ADD: 1,
  /** Linux: PORT_REMOVE. */
  DEVICE_REMOVE: 2,
  PORT_READY: 3,
  CONSOLE_PORT: 4,
  RESIZE: 5,
  PORT_OPEN: 6,
  PORT_NAME: 7,
} as const;

export type ControlEventCode = (typeof ControlEvent)[keyof typeof ControlEvent];

/** `VIRTIO_CONSOLE_BAD_ID`, the id Linux puts in DEVICE_READY (§5.3.6.2). */
export const BAD_PORT_ID = 0xffffffff;

/** Linux rejects `max_nr_ports` above this (`VIRTCONS_MAX_PORTS`, reference §3.5). */
export const LINUX_MAX_PORTS = 0x8000;
