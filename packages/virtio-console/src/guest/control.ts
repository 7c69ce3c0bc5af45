/**
 * Linux's MULTIPORT control side (reference virtio §3.4–§3.5): `control_work_handler`,
 * `handle_control_message` and `__send_control_msg` with its busy-wait.
 */
import { type GuestStep, work } from "@vmmux/microkit-pd";
import { DriverQueueError } from "@vmmux/virtio-core";
import {
  CONTROL_RX_QUEUE,
  CONTROL_TX_QUEUE,
  ControlEvent,
  type ControlEventCode,
  PAGE_SIZE,
} from "../constants.js";
import {
  CONTROL_HEADER_SIZE,
  type ControlMessage,
  decodeControl,
  encodeControl,
} from "../control.js";
import type { DriverState } from "./driver-state.js";
import { attachConsole, createPort, fillReceiveQueue } from "./ports.js";

/** `control_work_handler`: handle each control message, re-post its buffer. */
export function* controlWork(s: DriverState): GuestStep {
  const q = s.queues[CONTROL_RX_QUEUE]!;
  for (let guard = 0; guard < 4 * q.size; guard++) {
    const used = s.getBuf(q);
    if (used === undefined || used instanceof DriverQueueError) return;
    const addr = s.controlBuffers.get(used.head);
    if (addr === undefined) continue;
    s.controlBuffers.delete(used.head);
    const bytes = s.memory.read(addr, Math.min(used.len, PAGE_SIZE));
    s.counters.controlReceived++;
    yield* handleControl(s, bytes);
    const head = q.addChain([], [{ addr, len: PAGE_SIZE }]);
    if (!(head instanceof DriverQueueError)) {
      s.controlBuffers.set(head, addr);
      yield* s.kick(q, CONTROL_RX_QUEUE);
    }
  }
}

/** `handle_control_message`. */
function* handleControl(s: DriverState, bytes: Uint8Array): GuestStep {
  let message: ControlMessage;
  try {
    message = decodeControl(bytes);
  } catch {
    return;
  }
  const port = s.ports.get(message.id);
  if (message.event === ControlEvent.DEVICE_ADD) {
    if (port !== undefined) {
      yield* sendControl(s, message.id, ControlEvent.PORT_READY, 1);
      return;
    }
    // An id at or above max_nr_ports is dropped with a warning.
    if (message.id >= s.maxNrPorts) return;
    const added = createPort(s, message.id);
    yield* fillReceiveQueue(s, added);
    added.listed = true;
    yield* sendControl(s, message.id, ControlEvent.PORT_READY, 1);
    return;
  }
  // Messages for unknown ports are dropped.
  if (port === undefined) return;
  switch (message.event) {
    case ControlEvent.CONSOLE_PORT:
      if (message.value === 0 || port.console) return;
      attachConsole(s, port);
      yield* sendControl(s, port.id, ControlEvent.PORT_OPEN, 1);
      return;
    case ControlEvent.RESIZE:
      if (port.console && message.size !== undefined) s.size = { ...message.size };
      return;
    case ControlEvent.PORT_OPEN:
      port.hostConnected = message.value === 1;
      return;
    case ControlEvent.PORT_NAME:
      port.name = message.name;
      return;
    case ControlEvent.DEVICE_REMOVE:
      port.listed = false;
      s.ports.delete(port.id);
      if (s.consolePort === port) s.consolePort = undefined;
      return;
    default:
      return;
  }
}

/**
 * The scheduled control work, run in process context (a kworker): `control_work_handler`
 * again while an interrupt scheduled it meanwhile. Interrupts are taken inside it, which is
 * why real Linux takes one between the PORT_READY and PORT_OPEN kicks.
 */
export function* runControlWork(s: DriverState): GuestStep {
  if (s.controlWorkRunning) return;
  s.controlWorkRunning = true;
  while (s.controlWorkPending) {
    s.controlWorkPending = false;
    yield* controlWork(s);
  }
  s.controlWorkRunning = false;
}

/**
 * `__send_control_msg`: one 8-byte message on the control transmitq, kick, then spin for it
 * under `c_ovq_lock`, a plain spin lock: local interrupts stay on, so a pending interrupt is
 * taken right after the kick. The control transmitq has no callback, so taking its buffer
 * leaves `used_event` alone.
 */
export function* sendControl(
  s: DriverState,
  id: number,
  event: ControlEventCode,
  value: number,
): GuestStep {
  const q = s.queues[CONTROL_TX_QUEUE];
  if (q === undefined) return;
  s.memory.write(s.controlOut, encodeControl({ id, event, value }));
  const head = q.addChain([{ addr: s.controlOut, len: CONTROL_HEADER_SIZE }], []);
  if (head instanceof DriverQueueError) return;
  s.counters.controlSent++;
  yield* s.kick(q, CONTROL_TX_QUEUE);
  yield* s.irqWindow();
  for (;;) {
    const used = q.getUsed();
    if (used !== undefined) return;
    s.counters.spinIterations++;
    yield work("cpu_relax", 1);
  }
}
