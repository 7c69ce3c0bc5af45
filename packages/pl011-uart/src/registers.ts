/**
 * PL011 register map, bit fields and reset values (pl011 reference §2–§3, TRM r1p5
 * "Programmers model"). Offsets are byte offsets inside the 4 KiB APB window.
 */

/** Register offsets (pl011 reference §2). */
export const Reg = {
  DR: 0x000,
  RSR_ECR: 0x004,
  FR: 0x018,
  ILPR: 0x020,
  IBRD: 0x024,
  FBRD: 0x028,
  LCR_H: 0x02c,
  CR: 0x030,
  IFLS: 0x034,
  IMSC: 0x038,
  RIS: 0x03c,
  MIS: 0x040,
  ICR: 0x044,
  DMACR: 0x048,
  PERIPH_ID0: 0xfe0,
  PERIPH_ID1: 0xfe4,
  PERIPH_ID2: 0xfe8,
  PERIPH_ID3: 0xfec,
  PCELL_ID0: 0xff0,
  PCELL_ID1: 0xff4,
  PCELL_ID2: 0xff8,
  PCELL_ID3: 0xffc,
} as const;

/** Size of the register window. */
export const PL011_WINDOW_SIZE = 0x1000;

/** UARTDR read bits above the data byte (§3.1), also the RX FIFO entry layout. */
export const Dr = {
  DATA: 0xff,
  FE: 1 << 8,
  PE: 1 << 9,
  BE: 1 << 10,
  OE: 1 << 11,
} as const;

/** UARTRSR bits (§3.2). */
export const Rsr = { FE: 1 << 0, PE: 1 << 1, BE: 1 << 2, OE: 1 << 3 } as const;

/** UARTFR bits (§3.3). */
export const Fr = {
  CTS: 1 << 0,
  DSR: 1 << 1,
  DCD: 1 << 2,
  BUSY: 1 << 3,
  RXFE: 1 << 4,
  TXFF: 1 << 5,
  RXFF: 1 << 6,
  TXFE: 1 << 7,
  RI: 1 << 8,
} as const;

/** UARTLCR_H bits (§3.5). */
export const LcrH = {
  BRK: 1 << 0,
  PEN: 1 << 1,
  EPS: 1 << 2,
  STP2: 1 << 3,
  FEN: 1 << 4,
  WLEN_SHIFT: 5,
  WLEN_MASK: 3 << 5,
  SPS: 1 << 7,
} as const;

/** UARTCR bits (§3.6). */
export const Cr = {
  UARTEN: 1 << 0,
  SIREN: 1 << 1,
  SIRLP: 1 << 2,
  LBE: 1 << 7,
  TXE: 1 << 8,
  RXE: 1 << 9,
  DTR: 1 << 10,
  RTS: 1 << 11,
  OUT1: 1 << 12,
  OUT2: 1 << 13,
  RTSEN: 1 << 14,
  CTSEN: 1 << 15,
} as const;

/** UARTIFLS fields (§3.7). */
export const Ifls = { TX_MASK: 0x7, RX_SHIFT: 3, RX_MASK: 0x7 << 3 } as const;

/** Interrupt bits shared by IMSC/RIS/MIS/ICR (§3.8). */
export const Int = {
  RIM: 1 << 0,
  CTSM: 1 << 1,
  DCDM: 1 << 2,
  DSRM: 1 << 3,
  RX: 1 << 4,
  TX: 1 << 5,
  RT: 1 << 6,
  FE: 1 << 7,
  PE: 1 << 8,
  BE: 1 << 9,
  OE: 1 << 10,
  ALL: 0x7ff,
} as const;

/** Reset values of the read/write registers (§2). */
export const RESET = {
  RSR: 0x0,
  ILPR: 0x00,
  IBRD: 0x0000,
  FBRD: 0x00,
  LCR_H: 0x00,
  CR: 0x0300,
  IFLS: 0x12,
  IMSC: 0x000,
  DMACR: 0x00,
} as const;

/** Implemented-bit masks: wider writes keep only these bits (§2 "Width"). */
export const WIDTH_MASK = {
  DR_WRITE: 0xff,
  ILPR: 0xff,
  IBRD: 0xffff,
  FBRD: 0x3f,
  LCR_H: 0xff,
  CR: 0xffff,
  IFLS: 0x3f,
  IMSC: 0x7ff,
  DMACR: 0x7,
} as const;

/**
 * Silicon revisions with their PeriphID2 value and FIFO depth (pl011 reference §1):
 * depth 16 up to r1p4, 32 from r1p5 (Linux: `rev < 3 ? 16 : 32`).
 */
export const REVISIONS = {
  r1p0: { periphId2: 0x04, fifoDepth: 16 },
  r1p1: { periphId2: 0x14, fifoDepth: 16 },
  r1p3: { periphId2: 0x24, fifoDepth: 16 },
  r1p4: { periphId2: 0x24, fifoDepth: 16 },
  r1p5: { periphId2: 0x34, fifoDepth: 32 },
} as const;

export type Pl011Revision = keyof typeof REVISIONS;

/** PeriphID0,1,3 and PCellID0–3 (§2): part 0x011, designer 0x41, PrimeCell 0xB105F00D. */
export const ID_BYTES = {
  periphId0: 0x11,
  periphId1: 0x10,
  periphId3: 0x00,
  pcellId: [0x0d, 0xf0, 0x05, 0xb1],
} as const;

/**
 * FIFO trigger level in entries for an IFLS code (§3.7). Reserved codes 5–7 are
 * treated as 1/2 (the TRM leaves them undefined; reference §11 item 6).
 */
export function fifoLevel(code: number, depth: number): number {
  const eighths = [1, 2, 4, 6, 7][code] ?? 4;
  return (depth * eighths) / 8;
}
