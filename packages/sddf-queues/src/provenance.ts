/**
 * Provenance tags (DESIGN.md "Provenance"): one u32 per data byte, carried in a shadow
 * array beside a data region and copied by every operation that copies the byte. The queue
 * treats tags as opaque; this module fixes the project-wide encoding:
 * bits 31..24 = origin, bits 23..0 = sequence number of the byte within that origin.
 */

/** The tag of a byte whose origin is unknown (zero-filled shadow memory). */
export const UNTAGGED = 0;

/** First and last origin a guest or serial client may use. */
export const ORIGIN_CLIENT_FIRST = 0x01;
export const ORIGIN_CLIENT_LAST = 0xef;
/** Bytes produced by the virtualisers themselves: colour escapes, begin banner. */
export const ORIGIN_VIRTUALISER = 0xfd;
/** Bytes typed on the keyboard, i.e. received by the UART from the wire. */
export const ORIGIN_KEYBOARD = 0xfe;
/** Bytes the device model produces on its own (e.g. a break delivered as 0x00). */
export const ORIGIN_DEVICE = 0xfc;

/** Encodes `origin` (0..255) and the low 24 bits of `seq` as one u32 tag. */
export function provenanceTag(origin: number, seq: number): number {
  return ((origin << 24) | (seq & 0xffffff)) >>> 0;
}

/** The origin (bits 31..24) of a tag. */
export function tagOrigin(tag: number): number {
  return tag >>> 24;
}

/** The sequence number (bits 23..0) of a tag. */
export function tagSeq(tag: number): number {
  return tag & 0xffffff;
}
