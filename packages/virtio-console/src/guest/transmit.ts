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
export function putChars(
  s: DriverState,
  bytes: Uint8Array,
  tags?: Uint32Array | number,
): GuestStep<number> {
  return send(s, [bytes], tags, false, false);
}

/** One `cpu_relax()` turn of the busy-wait. */
const CPU_RELAX = work("cpu_relax", 1);

/** `hvc_console_print`: a kernel-log message, 16-byte CRLF-converted chunks. */
export function consolePrint(
  s: DriverState,
  message: Uint8Array,
  tags?: Uint32Array,
): GuestStep<number> {
  return send(s, consolePrintChunks(message), tags, true, true);
}

/** `hvc_write` → `hvc_push`: a tty write, up to PAGE_SIZE per `put_chars`. */
export function ttyWrite(s: DriverState, bytes: Uint8Array, tags?: Uint32Array): GuestStep<number> {
  return send(s, ttyWriteChunks(bytes, PAGE_SIZE), tags, false, true);
}

/**
 * `put_chars` for each chunk. `hvc`: the hvc layer's loop over the chunks it cut (a failed
 * chunk is dropped and counted; returns the total sent), else `put_chars` of one chunk (returns
 * its result). Both are this one generator so that each busy-wait turn resumes one frame here,
 * not three.
 */
function* send(
  s: DriverState,
  chunks: readonly Uint8Array[],
  tags: Uint32Array | number | undefined,
  converted: boolean,
  hvc: boolean,
): GuestStep<number> {
  let total = 0;
  let at = 0;
  for (const chunk of chunks) {
    let chunkTags = tags;
    if (hvc && typeof tags === "object") {
      chunkTags = hvcTags(chunk, tags, at, converted);
      at += converted ? chunk.length - crCount(chunk) : chunk.length;
    }
    let result = -32;
    const port = s.consolePort;
    if (port?.listed) {
      const txq = port.txq;
      s.counters.putChars++;
      yield work("copy", chunk.length);
      reclaimTx(s, port);
      const addr = port.txFree.pop();
      let sent = 0;
      // No buffer (undefined) or a failed add: nothing was queued. No error object is built for
      // the no-buffer case, which the hot path never needs.
      let head: number | DriverQueueError | undefined;
      if (addr !== undefined) {
        s.memory.write(addr, chunk, chunkTags);
        head = txq.addChain([{ addr, len: chunk.length }], []);
        if (typeof head === "number") port.txBuffers.set(head, addr);
        else port.txFree.push(addr);
      }
      yield* s.kick(txq, port.txIndex);
      if (typeof head === "number") {
        sent = chunk.length;
        // Local IRQs are off and outvq_lock is held: nothing but the device can end this.
        // Declared to the kernel (spinUntil), which replays turns nothing else can interleave with.
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
      result = sent;
    }
    if (!hvc) return result;
    if (result <= 0) {
      s.counters.chunksDropped++;
      s.counters.bytesDropped += chunk.length;
    } else {
      total += result;
    }
  }
  return total;
}

/**
 * The tags of an hvc chunk that starts at source byte `at`: CRLF conversion inserts bytes,
 * so tags follow the source bytes (a CR takes its LF's tag); past the end, the last tag. A
 * chunk of unconverted bytes inside `tags` is a view of them, not a copy.
 */
function hvcTags(
  chunk: Uint8Array,
  tags: Uint32Array,
  at: number,
  converted: boolean,
): Uint32Array {
  if (!converted && at + chunk.length <= tags.length) return tags.subarray(at, at + chunk.length);
  const out = new Uint32Array(chunk.length);
  for (let i = 0; i < chunk.length; i++) {
    out[i] = tags[Math.min(at, tags.length - 1)] ?? 0;
    if (!(converted && chunk[i] === 0x0d)) at++;
  }
  return out;
}

/** CRs in a converted chunk: bytes the conversion inserted, which take no source tag. */
function crCount(chunk: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < chunk.length; i++) if (chunk[i] === 0x0d) n++;
  return n;
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
