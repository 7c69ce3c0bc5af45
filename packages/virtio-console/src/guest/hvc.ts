/**
 * How Linux's hvc layer cuts console output into `put_chars` calls (reference virtio §5.3,
 * torvalds/linux `drivers/tty/hvc/hvc_console.c`).
 */
import { PAGE_SIZE } from "../constants.js";

/** `N_OUTBUF`: the printk path's stack buffer size. */
export const N_OUTBUF = 16;
/** `N_INBUF`: bytes `hvc_poll` asks `get_chars` for at a time. */
export const N_INBUF = 16;
/** `HVC_ATOMIC_READ_MAX`: bytes read per poll in interrupt context. */
export const HVC_ATOMIC_READ_MAX = 128;

const CR = 0x0d;
const LF = 0x0a;

/**
 * The chunks `hvc_console_print` hands to `put_chars` for a kernel-log message: every
 * `\n` becomes `\r\n`, and a chunk is sent whenever the 16-byte buffer is full and once
 * more for the tail. The `\r` inserted before a `\n` may end one chunk while its `\n`
 * starts the next, as in the C loop.
 */
export function consolePrintChunks(message: Uint8Array): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  let buffer: number[] = [];
  let carriageDone = false;
  let n = 0;
  while (n < message.length || buffer.length > 0) {
    if (n < message.length && buffer.length < N_OUTBUF) {
      const byte = message[n] ?? 0;
      if (byte === LF && !carriageDone) {
        buffer.push(CR);
        carriageDone = true;
      } else {
        buffer.push(byte);
        carriageDone = false;
        n++;
      }
    } else {
      chunks.push(Uint8Array.from(buffer));
      buffer = [];
    }
  }
  return chunks;
}

/**
 * The chunks `hvc_write` → `hvc_push` hands to `put_chars` for a tty write: at most
 * `outbufSize` (PAGE_SIZE for virtio_console) bytes each, no conversion here (the tty
 * layer's ONLCR does that before).
 */
export function ttyWriteChunks(bytes: Uint8Array, outbufSize = PAGE_SIZE): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  for (let at = 0; at < bytes.length; at += outbufSize) {
    chunks.push(bytes.slice(at, at + outbufSize));
  }
  return chunks;
}

/** The tty layer's ONLCR output conversion: `\n` → `\r\n`. */
export function onlcr(bytes: Uint8Array): Uint8Array {
  const out: number[] = [];
  for (const byte of bytes) {
    if (byte === LF) out.push(CR);
    out.push(byte);
  }
  return Uint8Array.from(out);
}
