/**
 * Numbers measured on a run, per guest and in total, from the wire numbers it accumulated as
 * it went (`stream/wire-stats.ts`): what the report prints and what the progress oracle and
 * the expectations judge.
 */
import { tagOrigin } from "@vmmux/sddf-queues";
import type { GuestRun, RunLoss, RunResult, WireRecord } from "./run.js";
import { wireStats, wireView } from "./stream/streamed.js";

export interface GuestMetrics {
  readonly name: string;
  /** Bytes the guest put in its TX queue (after the library's `\r` insertion). */
  readonly bytesWritten: number;
  /** Bytes attributed to it by provenance on the UART's TX wire. */
  readonly bytesOnWire: number;
  /** Every written byte reached the wire. */
  readonly complete: boolean;
  /** Virtual seconds at which its first / last byte finished leaving the wire (null: none). */
  readonly firstByteAt: number | null;
  readonly lastByteAt: number | null;
  /**
   * Virtual seconds from the moment the trace asks for its first output (or, for a guest
   * that only echoes, from its first write) to its first byte on the wire: includes the
   * time a starved guest waits for the CPU.
   */
  readonly timeToFirstByte: number | null;
  /** Longest time between two consecutive bytes of this guest on the wire, seconds (0 with fewer than two). */
  readonly longestGap: number;
  /**
   * Longest time one byte spent between entering the serial TX queue and the end of its
   * frame, seconds (null when the guest kind does not record enqueue times).
   */
  readonly maxLatency: number | null;
  /** Loss and stall points by name (sddf-serial §10), bytes. */
  readonly loss: Readonly<Record<string, number>>;
  /** Keyboard bytes the guest received. */
  readonly bytesReceived: number;
}

export interface RunMetrics {
  readonly guests: readonly GuestMetrics[];
  readonly wireBytes: number;
  /** Bytes the virtualisers add: begin string and colour codes. */
  readonly virtualiserBytes: number;
  /** Wire bytes whose provenance is no guest of the run and not the virtualiser. */
  readonly unattributedBytes: number;
  readonly keyboardBytes: number;
  readonly virtualTime: number;
  readonly events: number;
  readonly idle: boolean;
  /** Loss points outside the guests (virtualisers, driver, UART). */
  readonly loss: Readonly<Record<string, number>>;
}

const NS = 1e9;

/** The wire bytes of one provenance origin, in wire order (no record made for the others). */
export function wireOf(run: RunResult, origin: number): WireRecord[] {
  const wire = wireView(run);
  const out: WireRecord[] = [];
  for (let i = 0; i < wire.length; i++) {
    const tag = wire.tag(i);
    if (tagOrigin(tag) === origin)
      out.push({ byte: wire.byte(i), tag, start: wire.start(i), end: wire.end(i) });
  }
  return out;
}

export function guestMetrics(run: RunResult, guest: GuestRun): GuestMetrics {
  const s = wireStats(run).origin(guest.origin);
  const none = s.count === 0;
  const start = guest.traceStart ?? guest.enqueueTimes[0];
  return {
    name: guest.name,
    bytesWritten: guest.enqueued.length,
    bytesOnWire: s.count,
    complete: s.count === guest.enqueued.length,
    firstByteAt: none ? null : s.firstEnd / NS,
    lastByteAt: none ? null : s.lastEnd / NS,
    timeToFirstByte: none || start === undefined ? null : (s.firstEnd - start) / NS,
    longestGap: s.longestGap / NS,
    maxLatency: guest.enqueueTimes.length === 0 ? null : s.maxLatency / NS,
    loss: {
      T1_putcharDropped: guest.loss.T1,
      T2_unbufferedDropped: guest.loss.T2,
      T3_unflushedAtEnd: guest.unpublished,
      R8_consoleInputDropped: guest.inputDropped,
      notOnWireAtEnd: guest.enqueued.length - s.count,
    },
    bytesReceived: guest.received.length,
  };
}

export function runMetrics(run: RunResult): RunMetrics {
  const stats = wireStats(run);
  return {
    guests: run.guests.map((g) => guestMetrics(run, g)),
    wireBytes: stats.total,
    virtualiserBytes: stats.virtualiserBytes,
    unattributedBytes: stats.unattributedBytes,
    keyboardBytes: run.keyboard.length,
    virtualTime: run.virtualTime / NS,
    events: run.events,
    idle: run.idle,
    loss: systemLossPoints(run.loss),
  };
}

/** Loss and stall points outside the guests (sddf-serial §10), by the names reports use. */
export function systemLossPoints({ virtTx, virtRx, uart }: RunLoss): Record<string, number> {
  return {
    R1_rxFifoOverrun: uart.R1_rxFifoOverrun,
    R2_rxDisabledOrFlushed: uart.R2_rxDisabledOrFlushed,
    R3_rxQueueFullStalls: uart.R3_rxQueueFullStalls,
    R4_rxErrorBytesDelivered: uart.R4_rxErrorBytesDelivered,
    R5_clientRxFullDropped: virtRx.R5,
    R6_switchBytesConsumed: virtRx.R6,
    R6_invalidSequences: virtRx.R6Invalid,
    R7_halfTypedSwitchPasses: virtRx.R7,
    T4_oversizedUnitStalls: virtTx.T4,
    T5_unitsPending: virtTx.T5,
    T6_txFifoFullWaits: uart.T6_txFifoFullWaits,
    T7_transferOverflowDropped: virtTx.T7,
    lineAtomicSplits: virtTx.lineSplit,
  };
}
