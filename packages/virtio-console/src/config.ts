/**
 * The console's device configuration space (VirtIO 1.2 §5.3.4, reference virtio §3.2):
 *
 * | offset | size | field          | valid with   |
 * |--------|------|----------------|--------------|
 * | 0      | 2    | `cols`         | F_SIZE       |
 * | 2      | 2    | `rows`         | F_SIZE       |
 * | 4      | 4    | `max_nr_ports` | F_MULTIPORT  |
 * | 8      | 4    | `emerg_wr`     | F_EMERG_WRITE|
 *
 * The spec (1.0–1.2) order `cols`, `rows` is used; see the reference's field-order caveat.
 */

/** Size of the console config structure in bytes. */
export const CONSOLE_CONFIG_SIZE = 12;

export const ConfigOffset = {
  cols: 0,
  rows: 2,
  maxNrPorts: 4,
  emergWr: 8,
} as const;

/** The console config fields the device holds. */
export interface ConsoleConfigFields {
  cols: number;
  rows: number;
  maxNrPorts: number;
}

/** Encodes the fields as the little-endian structure the driver reads (emerg_wr reads 0). */
export function encodeConfig(fields: ConsoleConfigFields): Uint8Array {
  const bytes = new Uint8Array(CONSOLE_CONFIG_SIZE);
  const view = new DataView(bytes.buffer);
  view.setUint16(ConfigOffset.cols, fields.cols & 0xffff, true);
  view.setUint16(ConfigOffset.rows, fields.rows & 0xffff, true);
  view.setUint32(ConfigOffset.maxNrPorts, fields.maxNrPorts >>> 0, true);
  return bytes;
}

/**
 * Reads `width` bytes at `offset` of the config structure, little-endian. Bytes beyond the
 * structure read as zero, so a hostile driver always gets an answer (reference §6.2).
 */
export function readConfigBytes(
  fields: ConsoleConfigFields,
  offset: number,
  width: number,
): number {
  const bytes = encodeConfig(fields);
  let value = 0;
  for (let i = width - 1; i >= 0; i--) {
    const at = offset + i;
    value = value * 256 + (at >= 0 && at < bytes.length ? (bytes[at] ?? 0) : 0);
  }
  return value >>> 0;
}

/** True when a write of `width` bytes at `offset` lands on `emerg_wr` (§5.3.5.1). */
export function isEmergencyWrite(offset: number, width: number): boolean {
  return offset >= ConfigOffset.emergWr && offset + width <= ConfigOffset.emergWr + 4;
}
