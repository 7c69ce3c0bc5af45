/**
 * Linux `add_port` pieces the probe and the MULTIPORT handshake share (reference virtio §5.2,
 * §3.5): a port's state, `init_port_console`, and `fill_queue` / `add_inbuf` with a kick per
 * receive buffer.
 */
import type { GuestStep } from "@vmmux/microkit-pd";
import { DriverQueueError } from "@vmmux/virtio-core";
import { PAGE_SIZE, rxQueueOf, txQueueOf } from "../constants.js";
import type { DriverState, GuestPort } from "./driver-state.js";

export function createPort(s: DriverState, id: number): GuestPort {
  const rxIndex = rxQueueOf(id);
  const txIndex = txQueueOf(id);
  const port: GuestPort = {
    id,
    rxq: s.queues[rxIndex]!,
    txq: s.queues[txIndex]!,
    rxIndex,
    txIndex,
    rxBuffers: new Map(),
    txBuffers: new Map(),
    txFree: [],
    inbuf: undefined,
    listed: false,
    console: false,
    guestConnected: false,
    hostConnected: false,
    name: undefined,
  };
  for (let i = 0; i < port.txq.size; i++) port.txFree.push(s.alloc(PAGE_SIZE, PAGE_SIZE));
  s.ports.set(id, port);
  return port;
}

/** `init_port_console`: hvc attached, the port counts as opened by the guest. */
export function attachConsole(s: DriverState, port: GuestPort): void {
  port.console = true;
  port.guestConnected = true;
  s.consolePort ??= port;
}

/** `fill_queue`: PAGE_SIZE receive buffers until the ring is full, one kick each. */
export function* fillReceiveQueue(s: DriverState, port: GuestPort): GuestStep {
  while (port.rxq.numFree > 0) {
    const addr = s.alloc(PAGE_SIZE, PAGE_SIZE);
    yield* addInbuf(s, port, addr);
    // spin_unlock_irq: a pending interrupt is taken here.
    yield* s.irqWindow();
  }
}

/** `add_inbuf`: one device-writable buffer, then `virtqueue_kick`. */
export function* addInbuf(s: DriverState, port: GuestPort, addr: number): GuestStep<boolean> {
  const head = port.rxq.addChain([], [{ addr, len: PAGE_SIZE }]);
  if (head instanceof DriverQueueError) return false;
  port.rxBuffers.set(head, addr);
  yield* s.kick(port.rxq, port.rxIndex);
  return true;
}
