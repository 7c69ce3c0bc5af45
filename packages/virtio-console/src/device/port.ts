/**
 * A console port's state in the device (VirtIO 1.2 §5.3.2: one receiveq/transmitq pair per
 * port) and the counters that account for every byte that crosses it.
 */

import type { SerialQueue } from "@vmmux/sddf-queues";
import type { BufferSegment } from "@vmmux/virtio-core";

/** One console port and the sDDF client queue pair it is bridged to. */
export interface ConsolePortSpec {
  /** The port's sDDF TX queue (this device is the producer, virt_tx the consumer). */
  readonly tx: SerialQueue;
  /** The port's sDDF RX queue (virt_rx the producer, this device the consumer). */
  readonly rx: SerialQueue;
  /** Announced with PORT_NAME under MULTIPORT. */
  readonly name?: string;
  /** Announced with CONSOLE_PORT under MULTIPORT; port 0 defaults to a console. */
  readonly console?: boolean;
}

/** Counters per port; every byte that is not delivered is counted somewhere here. */
export interface PortCounters {
  /** Bytes moved from guest TX chains into the sDDF TX queue. */
  txBytes: number;
  /** TX chains completed (returned used). */
  txChains: number;
  /** Times TX stopped because the sDDF TX queue was full. */
  txBlocked: number;
  /** Times a double-check re-check found space after the signal request. */
  txRecheckHits: number;
  /** Bytes delivered into guest RX buffers. */
  rxBytes: number;
  /** RX buffers returned used. */
  rxChains: number;
  /** Bytes discarded because the RX queue was not ready (reference, L14). */
  rxDiscardedNotReady: number;
  /** Bytes kept while the RX queue was not ready (hardened). */
  rxHeldBeforeReady: number;
  /** Bytes dropped because the pre-ready buffer was full (hardened). */
  rxOverflowBeforeReady: number;
  /** Emergency-write bytes (F_EMERG_WRITE) and those dropped on a full TX queue. */
  emergBytes: number;
  emergDropped: number;
}

/** A TX chain being transferred in parts (hardened). */
export interface PartialTx {
  readonly head: number;
  readonly segments: readonly BufferSegment[];
  readonly total: number;
  offset: number;
}

export interface PortState {
  readonly spec: ConsolePortSpec;
  readonly counters: PortCounters;
  /** Hardened: the chain being transferred in parts. */
  txChain: PartialTx | undefined;
  /** TX waits for virt_tx's signal (hardened) or for a kick (reference). */
  txWaiting: boolean;
  /** Hardened: input kept before the guest was ready (bytes and their provenance tags). */
  held: number[];
  heldTags: number[];
  /** Reused between calls for bytes taken from the sDDF RX queue (see {@link rxScratch}). */
  scratchBytes: Uint8Array;
  scratchTags: Uint32Array;
  /** MULTIPORT: PORT_ADD sent / PORT_READY received / guest has it open. */
  added: boolean;
  guestReady: boolean;
  guestOpen: boolean;
}

export function newPortState(spec: ConsolePortSpec): PortState {
  return {
    spec,
    counters: {
      txBytes: 0,
      txChains: 0,
      txBlocked: 0,
      txRecheckHits: 0,
      rxBytes: 0,
      rxChains: 0,
      rxDiscardedNotReady: 0,
      rxHeldBeforeReady: 0,
      rxOverflowBeforeReady: 0,
      emergBytes: 0,
      emergDropped: 0,
    },
    txChain: undefined,
    txWaiting: false,
    held: [],
    heldTags: [],
    scratchBytes: new Uint8Array(0),
    scratchTags: new Uint32Array(0),
    added: false,
    guestReady: false,
    guestOpen: false,
  };
}

/** Sum of the lengths of `segments`. */
export function lengthOf(segments: readonly BufferSegment[]): number {
  let n = 0;
  for (const s of segments) n += s.len;
  return n;
}

/** The port's scratch arrays with room for at least `count` bytes (grown, never shrunk). */
export function rxScratch(state: PortState, count: number): PortState {
  if (state.scratchBytes.length < count) {
    const size = Math.max(count, 2 * state.scratchBytes.length, 256);
    state.scratchBytes = new Uint8Array(size);
    state.scratchTags = new Uint32Array(size);
  }
  return state;
}
