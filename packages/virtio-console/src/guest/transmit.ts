/**
 * Linux's console output path (reference virtio §5.3): `put_chars` → `__send_to_port` with
 * its busy-wait for the buffer to come back, and hvc's cutting of printk and tty output into
 * `put_chars` calls.
 */
import { type GuestStep, spinUntil, work } from "@vmmux/microkit-pd";
import { DriverQueueError } from "@vmmux/virtio-core";
import { PAGE_SIZE } from "../constants.js";
import type { DriverState, GuestPort } from "./driver-state.js";
import { consolePrintChunks, ttyWriteChunks } from "./hvc.js";

/**
 * `put_chars` → `__send_to_port(nonblock = false)` on the console port: copy into a fresh
 * buffer, add it, always kick, then spin until the device returns a buffer or the queue
 * breaks. Returns the count sent, 0 when the add failed, -EPIPE without a console.
 */
export function* putChars(
  s: DriverState,
  bytes: Uint8Array,
  tags?: Uint32Array | number,
): GuestStep<number> {
  const port = s.consolePort;
  if (port === undefined || !port.listed) return -32;
  const txq = port.txq;
  s.counters.putChars++;
  yield work("copy", bytes.length);
  reclaimTx(s, port);
  const addr = port.txFree.pop();
  let sent = 0;
  // No buffer (undefined) or a failed add: nothing was queued. No error object is built for
  // the no-buffer case, which the hot path never needs.
  let head: number | DriverQueueError | undefined;
  if (addr !== undefined) {
    s.memory.write(addr, bytes, tags);
    head = txq.addChain([{ addr, len: bytes.length }], []);
    if (typeof head === "number") port.txBuffers.set(head, addr);
    else port.txFree.push(addr);
  }
  yield* s.kick(txq, port.txIndex);
  if (typeof head === "number") {
    sent = bytes.length;
    // Local IRQs are off and outvq_lock is held: nothing but the device can end this. Declared
    // to the kernel (spinUntil), which replays turns nothing else can interleave with.
    const used = yield* spinUntil({
      pass: CPU_RELAX,
      poll: () => s.getBuf(txq),
      passed: (n) => {
        s.counters.spinIterations += n;
      },
    });
    if (!(used instanceof DriverQueueError)) releaseTx(port, used.head);
  }
  s.counters.bytesSent += sent;
  // spin_unlock_irqrestore
  yield* s.irqWindow();
  return sent;
}

/** One `cpu_relax()` turn of the busy-wait. */
const CPU_RELAX = work("cpu_relax", 1);

/** `hvc_console_print`: a kernel-log message, 16-byte CRLF-converted chunks. */
export function* consolePrint(
  s: DriverState,
  message: Uint8Array,
  tags?: Uint32Array,
): GuestStep<number> {
  return yield* sendChunks(s, consolePrintChunks(message), tags, true);
}

/** `hvc_write` → `hvc_push`: a tty write, up to PAGE_SIZE per `put_chars`. */
export function* ttyWrite(
  s: DriverState,
  bytes: Uint8Array,
  tags?: Uint32Array,
): GuestStep<number> {
  return yield* sendChunks(s, ttyWriteChunks(bytes, PAGE_SIZE), tags, false);
}

function* sendChunks(
  s: DriverState,
  chunks: Uint8Array[],
  tags: Uint32Array | undefined,
  converted: boolean,
): GuestStep<number> {
  let sent = 0;
  let at = 0;
  for (const chunk of chunks) {
    // CRLF conversion inserts bytes, so tags follow the source bytes (CR takes its LF's tag).
    const chunkTags = tags === undefined ? undefined : new Uint32Array(chunk.length);
    if (chunkTags !== undefined && tags !== undefined) {
      for (let i = 0; i < chunk.length; i++) {
        chunkTags[i] = tags[Math.min(at, tags.length - 1)] ?? 0;
        if (!(converted && chunk[i] === 0x0d)) at++;
      }
    }
    const r = yield* putChars(s, chunk, chunkTags);
    if (r <= 0) {
      s.counters.chunksDropped++;
      s.counters.bytesDropped += chunk.length;
    } else {
      sent += r;
    }
  }
  return sent;
}

/** `reclaim_consumed_buffers`: every transmit buffer the device returned meanwhile. */
function reclaimTx(s: DriverState, port: GuestPort): void {
  for (;;) {
    const used = s.getBuf(port.txq);
    if (used === undefined || used instanceof DriverQueueError) return;
    releaseTx(port, used.head);
  }
}

function releaseTx(port: GuestPort, head: number): void {
  const addr = port.txBuffers.get(head);
  if (addr === undefined) return;
  port.txBuffers.delete(head);
  port.txFree.push(addr);
}
