/**
 * Control-queue message codec for VIRTIO_CONSOLE_F_MULTIPORT (VirtIO 1.2 §5.3.6.2,
 * reference virtio §3.4): an 8-byte little-endian header `{ le32 id, le16 event,
 * le16 value }`, followed by `le16 cols, le16 rows` for RESIZE and by the UTF-8 name
 * for PORT_NAME.
 */
import { ControlEvent, type ControlEventCode } from "./constants.js";
import { ConsoleError } from "./errors.js";

/** Bytes of the control header (§5.3.6.2). */
export const CONTROL_HEADER_SIZE = 8;

/** A decoded control message. */
export interface ControlMessage {
  readonly id: number;
  readonly event: ControlEventCode;
  readonly value: number;
  /** RESIZE payload (spec order: cols then rows, reference virtio §3.2 caveat). */
  readonly size?: { readonly cols: number; readonly rows: number };
  /** PORT_NAME payload, without a trailing NUL. */
  readonly name?: string;
}

const EVENTS = new Set<number>(Object.values(ControlEvent));

/** Encodes `message` as the bytes that travel in a control buffer. */
export function encodeControl(message: ControlMessage): Uint8Array {
  let extra = new Uint8Array(0);
  if (message.event === ControlEvent.RESIZE) {
    extra = new Uint8Array(4);
    const view = new DataView(extra.buffer);
    view.setUint16(0, message.size?.cols ?? 0, true);
    view.setUint16(2, message.size?.rows ?? 0, true);
  } else if (message.event === ControlEvent.PORT_NAME) {
    extra = new TextEncoder().encode(message.name ?? "");
  }
  const bytes = new Uint8Array(CONTROL_HEADER_SIZE + extra.length);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, message.id >>> 0, true);
  view.setUint16(4, message.event, true);
  view.setUint16(6, message.value & 0xffff, true);
  bytes.set(extra, CONTROL_HEADER_SIZE);
  return bytes;
}

/**
 * Decodes a control buffer. A buffer shorter than the header, an unknown event or a
 * RESIZE without its payload is a typed error; callers reachable from a guest catch it
 * and count the message as malformed.
 */
export function decodeControl(bytes: Uint8Array): ControlMessage {
  if (bytes.length < CONTROL_HEADER_SIZE) {
    throw new ConsoleError(
      "control-short",
      `control message of ${bytes.length} bytes is shorter than the 8-byte header (§5.3.6.2)`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const id = view.getUint32(0, true);
  const event = view.getUint16(4, true);
  const value = view.getUint16(6, true);
  if (!EVENTS.has(event)) {
    throw new ConsoleError("control-event", `control message event ${event} is not defined`);
  }
  const code = event as ControlEventCode;
  if (code === ControlEvent.RESIZE) {
    if (bytes.length < CONTROL_HEADER_SIZE + 4) {
      throw new ConsoleError("control-short", "resize control message lacks cols/rows");
    }
    const size = { cols: view.getUint16(8, true), rows: view.getUint16(10, true) };
    return { id, event: code, value, size };
  }
  if (code === ControlEvent.PORT_NAME) {
    let end = bytes.length;
    const nul = bytes.indexOf(0, CONTROL_HEADER_SIZE);
    if (nul >= 0) end = nul;
    const name = new TextDecoder().decode(bytes.subarray(CONTROL_HEADER_SIZE, end));
    return { id, event: code, value, name };
  }
  return { id, event: code, value };
}
