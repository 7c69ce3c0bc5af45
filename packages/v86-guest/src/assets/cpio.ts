/**
 * An uncompressed cpio archive in the "newc" format (the initramfs format Linux unpacks,
 * Documentation/driver-api/early-userspace/buffer-format.rst). Uncompressed matters: the kernel's
 * ACPI table upgrade only scans an uncompressed cpio for `kernel/firmware/acpi/*.aml`
 * (reference real-guest.md §3). Entries are written in the order given, with fixed owner and
 * time, so the same inputs give the same bytes.
 */

/** One archive member. Names must not start with `./` (the ACPI scan would miss them). */
export interface CpioEntry {
  readonly name: string;
  /** Full mode: file type bits and permissions, e.g. 0o100755 for an executable file. */
  readonly mode: number;
  /** File contents, or the link target for a symbolic link; empty for a directory. */
  readonly data?: Uint8Array;
}

export const S_IFDIR = 0o040000;
export const S_IFREG = 0o100000;
export const S_IFLNK = 0o120000;

const MAGIC = "070701";
const TRAILER = "TRAILER!!!";

function hex8(value: number): string {
  return (value >>> 0).toString(16).padStart(8, "0");
}

function pad4(length: number): number {
  return (4 - (length % 4)) % 4;
}

function header(ino: number, mode: number, size: number, name: string): string {
  const nlink = (mode & 0o170000) === S_IFDIR ? 2 : 1;
  const fields = [ino, mode, 0, 0, nlink, 0, size, 0, 0, 0, 0, name.length + 1, 0];
  return MAGIC + fields.map(hex8).join("");
}

/** The archive's bytes, ending with the `TRAILER!!!` member. */
export function cpioArchive(entries: readonly CpioEntry[]): Uint8Array {
  const chunks: Uint8Array[] = [];
  const encoder = new TextEncoder();
  let ino = 1;
  const push = (name: string, mode: number, data: Uint8Array) => {
    if (name.startsWith("./") || name.startsWith("/")) {
      throw new Error(`cpio member '${name}' must be a relative name without './'`);
    }
    const head = encoder.encode(
      `${header(name === TRAILER ? 0 : ino++, mode, data.length, name)}${name}\0`,
    );
    chunks.push(head, new Uint8Array(pad4(head.length)), data, new Uint8Array(pad4(data.length)));
  };
  for (const entry of entries) push(entry.name, entry.mode, entry.data ?? new Uint8Array(0));
  push(TRAILER, 0, new Uint8Array(0));
  const total = chunks.reduce((sum, c) => sum + c.length, 0);
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}
