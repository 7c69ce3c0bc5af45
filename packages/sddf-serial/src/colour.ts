/**
 * virt_tx's colour framing (sddf-serial reference §5.2): client k's units are wrapped in
 * `palette[k mod 6]` (5 bytes, `ESC [ 3 x m`) and the reset code (4 bytes, `ESC [ 0 m`).
 */

/** `COLOUR_BEGIN_LEN`. */
export const COLOUR_BEGIN_LEN = 5;
/** `COLOUR_END_LEN`. */
export const COLOUR_END_LEN = 4;

const PALETTE: readonly Uint8Array[] = [0x31, 0x32, 0x33, 0x34, 0x35, 0x36].map(
  (digit) => new Uint8Array([0x1b, 0x5b, 0x33, digit, 0x6d]),
);

/** The names of the six palette entries, in order (red, green, yellow, blue, magenta, cyan). */
export const PALETTE_NAMES = ["red", "green", "yellow", "blue", "magenta", "cyan"] as const;

/** `ESC [ 0 m`. */
export const COLOUR_END: Uint8Array = new Uint8Array([0x1b, 0x5b, 0x30, 0x6d]);

/** The colour-start code of client `k` (a fresh copy). */
export function colourStart(k: number): Uint8Array {
  return (PALETTE[k % PALETTE.length] as Uint8Array).slice();
}

/** Bytes a colour pair adds to one unit (5 + 4). */
export const COLOUR_OVERHEAD = COLOUR_BEGIN_LEN + COLOUR_END_LEN;

/** Latin-1 bytes of a string (the C side's `char` array). */
export function latin1(text: string): Uint8Array {
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i) & 0xff;
  return bytes;
}

/**
 * The banner line virt_tx prints on the debug console at init for client k when colour is
 * on (§5.4): colour, `'name' is client k`, reset, newline.
 */
export function bannerLine(k: number, name: string): string {
  const start = String.fromCharCode(...colourStart(k));
  const end = String.fromCharCode(...COLOUR_END);
  return `${start}'${name}' is client ${k}${end}\n`;
}
