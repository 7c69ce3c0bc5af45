/**
 * The 16-byte split-queue descriptor (VirtIO 1.2 §2.7.5): `addr` u64, `len` u32, `flags` u16,
 * `next` u16, little-endian. Written by drivers (and by tests playing one); the device reads
 * descriptors in `SplitVirtqueue`, once per chain.
 */
import type { GuestMemory } from "./guest-memory.js";

export interface Descriptor {
  /** Guest-physical address; values above 2^53 are stored exactly only if representable. */
  readonly addr: number;
  readonly len: number;
  readonly flags: number;
  readonly next: number;
}

/** Store descriptor `d` at guest address `at`. */
export function writeDescriptor(memory: GuestMemory, at: number, d: Descriptor): void {
  memory.write32(at, d.addr % 0x1_0000_0000);
  memory.write32(at + 4, Math.floor(d.addr / 0x1_0000_0000));
  memory.write32(at + 8, d.len);
  memory.write16(at + 12, d.flags);
  memory.write16(at + 14, d.next);
}
