/**
 * The ACPI table that declares the virtio-mmio console window to an unmodified kernel
 * (reference real-guest.md §3): an SSDT with one device under `\_SB` whose `_HID` is
 * `LNRO0005` (virtio_mmio's ACPI match) and whose `_CRS` holds the 4 KiB register window and
 * its edge, active-high interrupt. The AML is emitted byte by byte (ACPI 6.4 §20 for the AML
 * encoding, §6.4 for the resource descriptors, §5.2 for the table header and checksum).
 */

/** Where the console's registers are and which interrupt line it raises. */
export interface VirtioMmioWindow {
  readonly base: number;
  readonly size: number;
  readonly irq: number;
}

const SCOPE_OP = 0x10;
const NAME_OP = 0x08;
const BUFFER_OP = 0x11;
const STRING_PREFIX = 0x0d;
const BYTE_PREFIX = 0x0a;
const EXT_OP_PREFIX = 0x5b;
const DEVICE_OP = 0x82;
const ZERO_OP = 0x00;
const ROOT_CHAR = 0x5c;

function ascii(text: string): number[] {
  return [...text].map((c) => c.charCodeAt(0));
}

function u32(value: number): number[] {
  return [value & 0xff, (value >>> 8) & 0xff, (value >>> 16) & 0xff, (value >>> 24) & 0xff];
}

/** AML PkgLength (ACPI §20.2.4): the length counts its own encoding bytes. */
function withPkgLength(body: number[]): number[] {
  for (let extra = 0; extra <= 3; extra++) {
    const total = body.length + 1 + extra;
    if (extra === 0 && total < 0x40) return [total, ...body];
    if (extra > 0 && total < 1 << (4 + 8 * extra)) {
      const lead = (extra << 6) | (total & 0x0f);
      const rest: number[] = [];
      for (let i = 0; i < extra; i++) rest.push((total >>> (4 + 8 * i)) & 0xff);
      return [lead, ...rest, ...body];
    }
  }
  throw new Error("AML package too long");
}

/** `_CRS`: Memory32Fixed (read-write) then an Extended Interrupt (consumer, edge, active high, exclusive). */
function resources(window: VirtioMmioWindow): number[] {
  const memory = [0x86, 0x09, 0x00, 0x01, ...u32(window.base), ...u32(window.size)];
  const interrupt = [0x89, 0x06, 0x00, 0x03, 0x01, ...u32(window.irq)];
  const end = [0x79, 0x00];
  return [...memory, ...interrupt, ...end];
}

/** The complete SSDT, checksum included. */
export function virtioMmioSsdt(window: VirtioMmioWindow): Uint8Array {
  const crs = resources(window);
  const buffer = [BUFFER_OP, ...withPkgLength([BYTE_PREFIX, crs.length, ...crs])];
  const device = [
    EXT_OP_PREFIX,
    DEVICE_OP,
    ...withPkgLength([
      ...ascii("VCON"),
      NAME_OP,
      ...ascii("_HID"),
      STRING_PREFIX,
      ...ascii("LNRO0005"),
      0x00,
      NAME_OP,
      ...ascii("_UID"),
      ZERO_OP,
      NAME_OP,
      ...ascii("_CRS"),
      ...buffer,
    ]),
  ];
  const scope = [SCOPE_OP, ...withPkgLength([ROOT_CHAR, ...ascii("_SB_"), ...device])];
  const length = 36 + scope.length;
  const table = [
    ...ascii("SSDT"),
    ...u32(length),
    2, // revision
    0, // checksum, set below
    ...ascii("VMMUX "),
    ...ascii("VIRTCONS"),
    ...u32(1),
    ...ascii("VMUX"),
    ...u32(1),
    ...scope,
  ];
  const sum = table.reduce((s, b) => (s + b) & 0xff, 0);
  table[9] = (0x100 - sum) & 0xff;
  return Uint8Array.from(table);
}
