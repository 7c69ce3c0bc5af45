/**
 * The serial loss and stall points that live in the UART and its driver, by the names
 * of sddf-serial §10, gathered from the device's and the driver's counters.
 */
import type { Pl011Device } from "./device.js";
import type { Pl011Driver } from "./driver.js";

export interface UartLossPoints {
  /** R1: characters dropped by the RX FIFO (overrun). */
  readonly R1_rxFifoOverrun: number;
  /** R2: characters dropped because the receiver was off, unclocked, or flushed. */
  readonly R2_rxDisabledOrFlushed: number;
  /** R3: times the driver's RX queue was full with bytes waiting in the FIFO. */
  readonly R3_rxQueueFullStalls: number;
  /** R4: bytes delivered although DR flagged framing, parity, break or overrun. */
  readonly R4_rxErrorBytesDelivered: number;
  /** T6: times the driver waited for a TX interrupt because the FIFO was full. */
  readonly T6_txFifoFullWaits: number;
}

export function uartLossPoints(device: Pl011Device, driver: Pl011Driver): UartLossPoints {
  const d = device.counters;
  const c = driver.counters;
  return {
    R1_rxFifoOverrun: d.rxOverrun,
    R2_rxDisabledOrFlushed: d.rxWhileDisabled + d.rxFlushed,
    R3_rxQueueFullStalls: c.rxQueueFullStalls,
    R4_rxErrorBytesDelivered: c.rxErrorBytes,
    T6_txFifoFullWaits: c.txFifoFullWaits,
  };
}
