/**
 * Memory regions as the PDs see them (DESIGN.md "Memory regions"): one backing buffer per SDF
 * `memory_region`, mapped into each PD with the `perms` of its `map`. Accesses that the mapping
 * does not allow raise a {@link ThreadFault}, which the kernel turns into a fault IPC
 * (reference §2.8) instead of touching memory.
 */
import type { AccessWidth, MappedRegion, MmioDevice, MmioPort, Permissions } from "../program.js";
import { ThreadFault } from "./errors.js";

/** What happens on an access the mapping does not allow; never returns. */
export type RegionViolation = (region: string, offset: number, write: boolean) => never;

function raiseThreadFault(region: string, offset: number, write: boolean): never {
  throw new ThreadFault({ kind: "memory", region, offset, write });
}

export class CheckedRegion implements MappedRegion {
  private readonly view: DataView;
  private readonly bytes: Uint8Array;

  constructor(
    readonly name: string,
    readonly vaddr: number,
    readonly size: number,
    readonly perms: Permissions,
    readonly buffer: ArrayBufferLike,
    readonly byteOffset: number,
    /** Default: a {@link ThreadFault} the kernel delivers as a fault IPC. */
    private readonly onViolation: RegionViolation = raiseThreadFault,
  ) {
    this.view = new DataView(buffer, byteOffset, size);
    this.bytes = new Uint8Array(buffer, byteOffset, size);
  }

  writable(): Uint8Array {
    if (!this.perms.write || !this.perms.read) this.violation(0, true);
    return this.bytes;
  }
  load8(offset: number): number {
    this.check(offset, 1, false);
    return this.view.getUint8(offset);
  }
  load32(offset: number): number {
    this.check(offset, 4, false);
    return this.view.getUint32(offset, true);
  }
  store8(offset: number, value: number): void {
    this.check(offset, 1, true);
    this.view.setUint8(offset, value);
  }
  store32(offset: number, value: number): void {
    this.check(offset, 4, true);
    this.view.setUint32(offset, value, true);
  }

  private check(offset: number, width: number, write: boolean): void {
    const allowed = write ? this.perms.write : this.perms.read;
    if (!allowed || !Number.isInteger(offset) || offset < 0 || offset + width > this.size) {
      this.violation(offset, write);
    }
  }

  private violation(offset: number, write: boolean): never {
    return this.onViolation(this.name, offset, write);
  }
}

/** A device register window mapped into a PD; accesses go to the device model. */
export class CheckedPort implements MmioPort {
  constructor(
    readonly name: string,
    private readonly size: number,
    private readonly perms: Permissions,
    private readonly device: MmioDevice,
  ) {}

  read(offset: number, width: AccessWidth): number {
    this.check(offset, width, false);
    return this.device.read(offset, width);
  }
  write(offset: number, width: AccessWidth, value: number, tag?: number): void {
    this.check(offset, width, true);
    this.device.write(offset, width, value, tag);
  }
  readTag(offset: number): number {
    return this.device.readTag?.(offset) ?? 0;
  }

  private check(offset: number, width: number, write: boolean): void {
    const allowed = write ? this.perms.write : this.perms.read;
    if (!allowed || !Number.isInteger(offset) || offset < 0 || offset + width > this.size) {
      throw new ThreadFault({ kind: "memory", region: this.name, offset, write });
    }
  }
}
