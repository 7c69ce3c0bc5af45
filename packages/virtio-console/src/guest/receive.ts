/**
 * Linux's interrupt and input path (reference virtio §5.2): `vm_interrupt` reading and
 * acking InterruptStatus, `config_work_handler`, `in_intr` (flush while the port is not
 * listed, discard while closed) and `hvc_poll` → `get_chars` 16 bytes at a time, at most
 * 128 per interrupt, the rest left to `khvcd`.
 */
import { type GuestStep, work } from "@vmmux/microkit-pd";
import {
  DriverQueueError,
  hasFeature,
  INTERRUPT_CONFIG_CHANGE,
  INTERRUPT_USED_BUFFER,
  Reg,
} from "@vmmux/virtio-core";
import { ConfigOffset } from "../config.js";
import { ConsoleFeature, PAGE_SIZE, queueRole } from "../constants.js";
import type { DriverState, GuestPort } from "./driver-state.js";
import { HVC_ATOMIC_READ_MAX, N_INBUF } from "./hvc.js";
import { addInbuf } from "./ports.js";

/**
 * `vm_interrupt`: read and ack InterruptStatus, then `virtio_config_changed` and
 * `vring_interrupt` on every queue. `vm_setup_vq` puts each new queue at the head of the
 * device's list (`list_add`), so the queues are visited from the last set up to the first.
 * The control receiveq's callback (`control_intr`) only schedules the control work; it runs
 * later, in process context (`runControlWork`).
 */
export function* vmInterrupt(s: DriverState): GuestStep<boolean> {
  s.counters.interrupts++;
  s.inInterrupt = true;
  const status = yield* s.read(Reg.InterruptStatus);
  yield* s.write(Reg.InterruptACK, status);
  let handled = false;
  if ((status & INTERRUPT_CONFIG_CHANGE) !== 0) {
    yield* configChanged(s);
    handled = true;
  }
  if ((status & INTERRUPT_USED_BUFFER) !== 0) {
    // Transmit queues usually have nothing here: put_chars already reaped (IRQ_NONE).
    for (let index = s.queues.length - 1; index >= 0; index--) {
      if (!s.queues[index]!.hasUsed()) continue;
      const role = queueRole(index, s.maxNrPorts, s.multiport);
      if (role.kind === "control-rx") {
        s.controlWorkPending = true;
        handled = true;
      } else if (role.kind === "rx") {
        yield* inIntr(s, index, role.port);
        handled = true;
      }
    }
  }
  if (!handled) s.counters.interruptsNoWork++;
  s.inInterrupt = false;
  return handled;
}

/** `config_work_handler`: without MULTIPORT read cols and rows, resize with F_SIZE. */
function* configChanged(s: DriverState): GuestStep {
  s.counters.configChanges++;
  if (s.multiport) return;
  const cols = yield* s.read(Reg.Config + ConfigOffset.cols, 2);
  const rows = yield* s.read(Reg.Config + ConfigOffset.rows, 2);
  if (hasFeature(s.features, ConsoleFeature.SIZE)) s.size = { cols, rows };
}

/** `in_intr`: flush while the port is not listed; discard if closed; else `hvc_poll`. */
function* inIntr(s: DriverState, index: number, portId: number): GuestStep {
  const port = s.ports.get(portId);
  if (port === undefined || !port.listed) {
    // find_port_by_vq() == NULL → flush_bufs: the buffers and their bytes are gone.
    const q = port?.rxq ?? s.queues[index]!;
    for (;;) {
      const used = s.getBuf(q);
      if (used === undefined || used instanceof DriverQueueError) return;
      port?.rxBuffers.delete(used.head);
      s.counters.bytesFlushedBeforePort += Math.min(used.len, PAGE_SIZE);
    }
  }
  if (!port.guestConnected) {
    // discard_port_data: nobody has the port open; the buffers go back.
    for (;;) {
      const got = yield* getChars(s, port, PAGE_SIZE, false);
      if (got === 0) return;
      s.counters.bytesDiscardedClosedPort += got;
    }
  }
  if (port.console) yield* hvcPoll(s, port, true);
}

/**
 * `hvc_poll`: `get_chars` 16 bytes at a time into the tty; in interrupt context at most
 * 128 bytes, the rest is left to `khvcd`.
 */
export function* hvcPoll(s: DriverState, port: GuestPort, atomic: boolean): GuestStep<number> {
  let total = 0;
  s.pollPending = false;
  for (;;) {
    const got = yield* getChars(s, port, N_INBUF, true);
    if (got === 0) break;
    total += got;
    if (atomic && total >= HVC_ATOMIC_READ_MAX) {
      s.pollPending = true;
      break;
    }
  }
  return total;
}

/**
 * `get_chars` → `fill_readbuf`: copy from the current used buffer; a fully read buffer is
 * re-posted with a kick.
 */
function* getChars(
  s: DriverState,
  port: GuestPort,
  count: number,
  deliver: boolean,
): GuestStep<number> {
  if (port.inbuf === undefined) {
    const used = s.getBuf(port.rxq);
    if (used === undefined || used instanceof DriverQueueError) return 0;
    const addr = port.rxBuffers.get(used.head);
    if (addr === undefined) return 0;
    port.rxBuffers.delete(used.head);
    port.inbuf = { addr, len: Math.min(used.len, PAGE_SIZE), offset: 0 };
  }
  const buf = port.inbuf;
  const n = Math.min(count, buf.len - buf.offset);
  if (n > 0) {
    const bytes = new Uint8Array(n);
    const tags = new Uint32Array(n);
    s.memory.readInto(buf.addr + buf.offset, bytes, tags);
    buf.offset += n;
    if (deliver) {
      s.counters.bytesReceived += n;
      s.options.onInput?.(bytes, tags, port.id);
    }
    yield work("copy", n);
  }
  if (buf.offset === buf.len) {
    port.inbuf = undefined;
    yield* addInbuf(s, port, buf.addr);
  }
  return n;
}
