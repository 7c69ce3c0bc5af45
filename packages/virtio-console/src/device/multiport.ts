/**
 * F_MULTIPORT on the device side: the control queues and the handshake of reference virtio
 * §3.5 (DEVICE_READY → DEVICE_ADD per port; PORT_READY → CONSOLE_PORT, PORT_NAME, PORT_OPEN),
 * VirtIO 1.2 §5.3.6.2. Every message from the guest is decoded with bounds; nothing it sends
 * can make the device queue more than a handful of messages per port.
 */
import { BAD_PORT_ID, CONTROL_RX_QUEUE, CONTROL_TX_QUEUE, ControlEvent } from "../constants.js";
import { type ControlMessage, decodeControl, encodeControl } from "../control.js";
import type { ConsoleCore } from "./core.js";
import { handleRx, portTakesInput } from "./rx.js";
import { MAX_CHAINS_PER_CALL } from "./tx.js";

/** Largest control message the device reads from a control buffer (a PORT_NAME is small). */
const CONTROL_READ_LIMIT = 4096;

/** The guest kicked the control transmitq: take each message, then answer what is pending. */
export function handleControlTx(core: ConsoleCore): boolean {
  const host = core.requireHost();
  const q = host.queue(CONTROL_TX_QUEUE);
  if (q === undefined) return true;
  let used = false;
  for (let n = 0; n < MAX_CHAINS_PER_CALL; n++) {
    const popped = q.popAvailable();
    if (popped.kind === "crash") return core.transportCrashed(popped.finding);
    if (popped.kind !== "chain") break;
    const chain = popped.chain;
    const length = Math.min(chain.readableLength, CONTROL_READ_LIMIT);
    const bytes = new Uint8Array(length);
    let done = 0;
    for (const s of chain.readable) {
      if (done >= length) break;
      const take = Math.min(s.len, length - done);
      // Only a transport with libvmm's unchecked addresses hands out such a buffer (L2).
      if (!s.inRam) return core.crashUnmapped("control transmitq", s);
      host.memory.readInto(s.addr, bytes.subarray(done, done + take));
      done += take;
    }
    q.addUsed(chain.head, 0);
    used = true;
    controlFromGuest(core, bytes);
  }
  if (used && q.needsInterrupt()) host.signalUsedBuffer();
  return flushControl(core);
}

/** Act on one control message from the driver (reference §3.5 steps 2, 4 and 6). */
function controlFromGuest(core: ConsoleCore, bytes: Uint8Array): void {
  let message: ControlMessage;
  try {
    message = decodeControl(bytes);
  } catch {
    core.controlMalformed++;
    return;
  }
  if (core.controlLog.length < 1024) core.controlLog.push(message);
  switch (message.event) {
    case ControlEvent.DEVICE_READY:
      if (message.value !== 1) return;
      core.ports.forEach((state, id) => {
        if (state.added) return;
        state.added = true;
        queueControl(core, { id, event: ControlEvent.DEVICE_ADD, value: 0 });
      });
      return;
    case ControlEvent.PORT_READY: {
      const state = core.ports[message.id];
      if (state === undefined || !state.added) {
        core.controlMalformed++;
        return;
      }
      if (message.value !== 1 || state.guestReady) return;
      state.guestReady = true;
      const id = message.id;
      if (core.isConsolePort(id)) {
        queueControl(core, { id, event: ControlEvent.CONSOLE_PORT, value: 1 });
      }
      if (state.spec.name !== undefined) {
        queueControl(core, { id, event: ControlEvent.PORT_NAME, value: 1, name: state.spec.name });
      }
      queueControl(core, { id, event: ControlEvent.PORT_OPEN, value: 1 });
      return;
    }
    case ControlEvent.PORT_OPEN: {
      const state = core.ports[message.id];
      if (state === undefined || message.id === BAD_PORT_ID) {
        core.controlMalformed++;
        return;
      }
      state.guestOpen = message.value === 1;
      return;
    }
    default:
      // DEVICE_ADD, REMOVE, CONSOLE_PORT, RESIZE, PORT_NAME are device → driver only.
      core.controlMalformed++;
  }
}

/** Queue a control message for the guest; bounded, a guest cannot make the device queue more. */
export function queueControl(core: ConsoleCore, message: ControlMessage): void {
  if (core.controlOut.length < 64 * core.ports.length) core.controlOut.push(encodeControl(message));
}

/** Deliver pending control messages into control receiveq buffers; then serve held input. */
export function flushControl(core: ConsoleCore): boolean {
  const host = core.requireHost();
  const q = host.queue(CONTROL_RX_QUEUE);
  let ok = true;
  if (q !== undefined) {
    let used = false;
    while (core.controlOut.length > 0) {
      const popped = q.popAvailable();
      if (popped.kind === "crash") return core.transportCrashed(popped.finding);
      if (popped.kind !== "chain") break;
      const chain = popped.chain;
      const message = core.controlOut.shift()!;
      let done = 0;
      for (const s of chain.writable) {
        if (done >= message.length) break;
        const n = Math.min(s.len, message.length - done);
        if (!s.inRam) return core.crashUnmapped("control receiveq", s);
        host.memory.write(s.addr, message.subarray(done, done + n));
        done += n;
      }
      q.addUsed(chain.head, done);
      used = true;
    }
    if (used && q.needsInterrupt()) ok = host.signalUsedBuffer();
  }
  // A port that was just opened may have input waiting.
  for (let id = 0; id < core.ports.length; id++) {
    const state = core.ports[id]!;
    const waiting = portTakesInput(core, id) && (state.held.length > 0 || !state.spec.rx.empty());
    // A handle opened with `onCorruptIndex: "break"` stops here, where `"throw"` would.
    if (state.spec.rx.broken !== undefined) return true;
    if (waiting) ok = handleRx(core, id) && ok;
  }
  return ok;
}
