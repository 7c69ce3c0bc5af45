/**
 * The one error family of @vmmux/virtio-core. Every error has a stable `code` and names
 * the VirtIO 1.2 clause (or reference fact) it enforces. Device-side code returns these as
 * values; the transport never lets one escape to a guest (reference virtio §2.5, §6.3).
 */

/** Stable codes and the clause each enforces. */
export const ERROR_CLAUSES = {
  "memory-out-of-range": "VirtIO 1.2 §2.7.5 / reference virtio §1.9 (buffer outside guest RAM)",
  "memory-bad-region": "reference virtio §1.10 (guest memory regions must not overlap)",
  "queue-size-invalid": "VirtIO 1.2 §2.7 (split queue size is a power of two, at most 32768)",
  "queue-size-above-max": "VirtIO 1.2 §4.2.2.2 (QueueNum MUST be at most QueueNumMax)",
  "queue-misaligned": "VirtIO 1.2 §2.7.1 (descriptor 16, driver 2, device 4 byte alignment)",
  "queue-area-outside-ram": "VirtIO 1.2 §2.7 / reference virtio §1.10 is_valid (areas lie in RAM)",
  "avail-index-jump": "VirtIO 1.2 §2.7.13 (never more than queue size available entries)",
  "head-index-out-of-range": "VirtIO 1.2 §2.7.6 (a head indexes the N-entry descriptor table)",
  "next-index-out-of-range": "VirtIO 1.2 §2.7.5 (next indexes the descriptor table)",
  "chain-too-long": "VirtIO 1.2 §2.7.5.2, §2.7.5.3.1 (no loops; no chain longer than the queue)",
  "readable-after-writable": "VirtIO 1.2 §2.7.4.2 (writable descriptors follow readable ones)",
  "indirect-not-negotiated": "VirtIO 1.2 §2.7.5.3.1 (INDIRECT only with VIRTIO_F_INDIRECT_DESC)",
  "indirect-nested": "VirtIO 1.2 §2.7.5.3.1 (no INDIRECT inside an indirect table)",
  "indirect-with-next": "VirtIO 1.2 §2.7.5.3.1 (INDIRECT and NEXT never together)",
  "indirect-table-size": "VirtIO 1.2 §2.7.5.3 (table length a non-zero multiple of 16)",
  "descriptor-outside-ram": "VirtIO 1.2 §2.7.5, §6 (buffer addresses are guest-physical RAM)",
  "chain-length-overflow": "VirtIO 1.2 §2.7.5.2 (total chain length below 2^32)",
  "used-head-out-of-range": "VirtIO 1.2 §2.7.8 (used id is a head index below the queue size)",
  "chain-direction": "VirtIO 1.2 §2.7.5.1, §5.3.6.1 (buffer direction fits the queue)",
  "driver-queue-full": "VirtIO 1.2 §2.7.13 (no free descriptors for the chain)",
  "driver-indirect-unavailable": "VirtIO 1.2 §2.7.5.3.1 (INDIRECT only when negotiated)",
  "driver-chain-empty": "VirtIO 1.2 §2.7.4 (a chain has at least one descriptor)",
  "driver-used-id-out-of-range": "VirtIO 1.2 §2.7.8 (Linux virtqueue_get_buf: id out of range)",
  "driver-used-id-not-head": "VirtIO 1.2 §2.7.8 (Linux virtqueue_get_buf: id is not a head)",
  "mmio-wrong-width": "VirtIO 1.2 §4.2.2.2 (control registers only with 32-bit accesses)",
  "mmio-read-write-only": "VirtIO 1.2 §4.2.2.2 (driver MUST NOT read write-only registers)",
  "mmio-write-read-only": "VirtIO 1.2 §4.2.2.2 (driver MUST NOT write read-only registers)",
  "mmio-bad-offset": "VirtIO 1.2 §4.2.2.2 (driver accesses only the listed offsets)",
  "mmio-queue-absent": "VirtIO 1.2 §4.2.2 (QueueNumMax 0: queue not available)",
  "mmio-queue-live": "VirtIO 1.2 §4.2.2.2 (QueueNum/addresses untouched while QueueReady)",
  "mmio-config-access": "VirtIO 1.2 §4.2.2.2 (config space accessed per field width)",
  "mmio-status-illegal": "VirtIO 1.2 §2.1.1 (driver MUST NOT clear status bits)",
  "mmio-status-order": "VirtIO 1.2 §3.1.1 (initialisation sequence order)",
  "mmio-features-refused": "VirtIO 1.2 §2.2.2, §6.1 (unoffered bits or no VERSION_1: refuse)",
  "mmio-notify-not-live": "VirtIO 1.2 §3.1.1, §2.1.2 (no notifications before DRIVER_OK)",
  "mmio-notify-bad-queue": "VirtIO 1.2 §4.2.3.3 (QueueNotify names an existing queue)",
} as const;

export type VirtioErrorCode = keyof typeof ERROR_CLAUSES;

/** Codes by family, so each class narrows its `code`. */
export type GuestMemoryErrorCode = "memory-out-of-range" | "memory-bad-region";
export type QueueConfigErrorCode =
  | "queue-size-invalid"
  | "queue-size-above-max"
  | "queue-misaligned"
  | "queue-area-outside-ram";
export type ChainErrorCode =
  | "avail-index-jump"
  | "head-index-out-of-range"
  | "next-index-out-of-range"
  | "chain-too-long"
  | "readable-after-writable"
  | "indirect-not-negotiated"
  | "indirect-nested"
  | "indirect-with-next"
  | "indirect-table-size"
  | "descriptor-outside-ram"
  | "chain-length-overflow"
  | "used-head-out-of-range"
  | "chain-direction";
export type DriverQueueErrorCode =
  | "driver-queue-full"
  | "driver-chain-empty"
  | "driver-indirect-unavailable"
  | "driver-used-id-out-of-range"
  | "driver-used-id-not-head";
export type TransportErrorCode = Extract<VirtioErrorCode, `mmio-${string}`>;

abstract class VirtioErrorBase<C extends VirtioErrorCode> extends Error {
  readonly code: C;
  /** The spec clause or reference fact this error enforces. */
  readonly clause: string;
  constructor(code: C, message: string) {
    super(message);
    this.code = code;
    this.clause = ERROR_CLAUSES[code];
  }
}

/** An access outside guest RAM, or an invalid RAM layout. */
export class GuestMemoryError extends VirtioErrorBase<GuestMemoryErrorCode> {
  override readonly name = "GuestMemoryError";
}

/** A virtqueue whose size or areas are invalid. */
export class QueueConfigError extends VirtioErrorBase<QueueConfigErrorCode> {
  override readonly name = "QueueConfigError";
}

/** A descriptor chain or ring index that breaks the split-virtqueue rules. */
export class ChainError extends VirtioErrorBase<ChainErrorCode> {
  override readonly name = "ChainError";
}

/** A driver-side queue misuse, or a device answer the driver must reject. */
export class DriverQueueError extends VirtioErrorBase<DriverQueueErrorCode> {
  override readonly name = "DriverQueueError";
}

/** An illegal register access or sequence seen by the virtio-mmio transport. */
export class TransportError extends VirtioErrorBase<TransportErrorCode> {
  override readonly name = "TransportError";
}

/** The error union of the package; discriminate on `code`. */
export type VirtioCoreError =
  | GuestMemoryError
  | QueueConfigError
  | ChainError
  | DriverQueueError
  | TransportError;

/** True for any error of this package. */
export function isVirtioCoreError(value: unknown): value is VirtioCoreError {
  return (
    value instanceof GuestMemoryError ||
    value instanceof QueueConfigError ||
    value instanceof ChainError ||
    value instanceof DriverQueueError ||
    value instanceof TransportError
  );
}
