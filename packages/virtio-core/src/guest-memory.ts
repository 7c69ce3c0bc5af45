/**
 * A bounds-checked view of one guest's RAM (reference virtio §1.9 "buffer outside guest
 * RAM"): a set of disjoint regions, each paged lazily in 4 KiB pages so a large sparse RAM
 * costs only what is touched. Every access must lie inside one region; anything else is a
 * `GuestMemoryError`, never a host exception or a read of another guest's memory.
 *
 * Optional provenance (DESIGN.md "Provenance"): one opaque u32 tag per byte in a shadow,
 * moved by the copy operations (`write`, `readInto`, `copy`) with the data. Typed stores
 * mark their bytes untagged (0).
 */
import { GuestMemoryError } from "./errors.js";

const PAGE_SHIFT = 12;
const PAGE_SIZE = 1 << PAGE_SHIFT;
const PAGE_MASK = PAGE_SIZE - 1;
/** Regions end below 2^53 so every address is an exact JavaScript number. */
const ADDRESS_LIMIT = Number.MAX_SAFE_INTEGER;

/** One RAM region as the VMM maps it (a guest-physical range). */
export interface RamRegionSpec {
  /** Guest-physical base address; a multiple of 4096. */
  readonly base: number;
  /** Size in bytes; a multiple of 4096. */
  readonly size: number;
  /** Backing store to share (e.g. a Microkit memory region); allocated lazily when absent. */
  readonly buffer?: Uint8Array;
}

export interface GuestMemoryOptions {
  readonly regions: readonly RamRegionSpec[];
  /** Keep a provenance shadow (one u32 tag per byte). */
  readonly provenance?: boolean;
}

interface Region {
  readonly base: number;
  readonly end: number;
  readonly pages: (Uint8Array | undefined)[];
  readonly tagPages: (Uint32Array | undefined)[] | undefined;
}

export class GuestMemory {
  readonly regions: readonly { readonly base: number; readonly size: number }[];
  /** True when the provenance shadow is kept. */
  readonly provenance: boolean;
  private readonly store: Region[];
  private last: Region | undefined;

  constructor(options: GuestMemoryOptions) {
    this.provenance = options.provenance ?? false;
    const sorted = [...options.regions].sort((a, b) => a.base - b.base);
    this.store = [];
    let previousEnd = -1;
    for (const spec of sorted) {
      const { base, size } = spec;
      if (
        !Number.isSafeInteger(base) ||
        !Number.isSafeInteger(size) ||
        base < 0 ||
        size <= 0 ||
        base % PAGE_SIZE !== 0 ||
        size % PAGE_SIZE !== 0 ||
        base + size > ADDRESS_LIMIT
      ) {
        throw new GuestMemoryError(
          "memory-bad-region",
          `ram region at 0x${base.toString(16)} size 0x${size.toString(16)} is not page-aligned or out of range`,
        );
      }
      if (base < previousEnd) {
        throw new GuestMemoryError(
          "memory-bad-region",
          `ram region at 0x${base.toString(16)} overlaps the previous region`,
        );
      }
      if (spec.buffer !== undefined && spec.buffer.length !== size) {
        throw new GuestMemoryError(
          "memory-bad-region",
          `ram region at 0x${base.toString(16)}: buffer length ${spec.buffer.length} is not its size`,
        );
      }
      previousEnd = base + size;
      const pageCount = size >>> PAGE_SHIFT;
      const pages: (Uint8Array | undefined)[] = new Array(pageCount);
      if (spec.buffer !== undefined) {
        for (let p = 0; p < pageCount; p++) {
          pages[p] = spec.buffer.subarray(p * PAGE_SIZE, (p + 1) * PAGE_SIZE);
        }
      }
      this.store.push({
        base,
        end: base + size,
        pages,
        tagPages: this.provenance ? new Array(pageCount) : undefined,
      });
    }
    this.regions = this.store.map((r) => ({ base: r.base, size: r.end - r.base }));
  }

  /** True when `[addr, addr + len)` lies inside one RAM region (len 0: addr inside or at its end). */
  contains(addr: number, len: number): boolean {
    return this.regionOf(addr, len) !== undefined;
  }

  read8(addr: number): number {
    const r = this.check(addr, 1);
    return this.page(r, addr, false)?.[addr & PAGE_MASK] ?? 0;
  }

  read16(addr: number): number {
    return this.readWord(addr, 2);
  }

  read32(addr: number): number {
    return this.readWord(addr, 4);
  }

  /** A little-endian u64 as a bigint. */
  read64(addr: number): bigint {
    this.check(addr, 8);
    return (BigInt(this.read32(addr + 4)) << 32n) | BigInt(this.read32(addr));
  }

  /** A little-endian u64 as a number, or `undefined` when it exceeds 2^53 (never a RAM address). */
  read64AsNumber(addr: number): number | undefined {
    this.check(addr, 8);
    const high = this.read32(addr + 4);
    if (high > 0x1fffff) return undefined;
    return high * 0x1_0000_0000 + this.read32(addr);
  }

  write8(addr: number, value: number): void {
    const r = this.check(addr, 1);
    this.page(r, addr, true)![addr & PAGE_MASK] = value;
    if (r.tagPages !== undefined) this.untag(r, addr, 1);
  }

  write16(addr: number, value: number): void {
    this.writeWord(addr, 2, value);
  }

  write32(addr: number, value: number): void {
    this.writeWord(addr, 4, value);
  }

  write64(addr: number, value: bigint): void {
    this.check(addr, 8);
    const v = BigInt.asUintN(64, value);
    this.write32(addr, Number(v & 0xffff_ffffn));
    this.write32(addr + 4, Number(v >> 32n));
  }

  /** A copy of `len` bytes at `addr`. */
  read(addr: number, len: number): Uint8Array {
    this.check(addr, len);
    const out = new Uint8Array(len);
    this.readInto(addr, out);
    return out;
  }

  /** Copy guest bytes into `dst` (and their tags into `dstTags` when given). */
  readInto(addr: number, dst: Uint8Array, dstTags?: Uint32Array): void {
    const r = this.check(addr, dst.length);
    this.forEachSpan(r, addr, dst.length, (a, o, n, done) => {
      const p = this.page(r, a, false);
      if (p === undefined) dst.fill(0, done, done + n);
      else dst.set(p.subarray(o, o + n), done);
      if (dstTags !== undefined) {
        const t = this.tagPage(r, a, false);
        if (t === undefined) dstTags.fill(0, done, done + n);
        else dstTags.set(t.subarray(o, o + n), done);
      }
    });
  }

  /**
   * Copy `src` into guest memory. `tags` gives one tag per byte, or one tag for all bytes;
   * absent means untagged (0).
   */
  write(addr: number, src: Uint8Array, tags?: Uint32Array | number): void {
    const r = this.check(addr, src.length);
    this.forEachSpan(r, addr, src.length, (a, o, n, done) => {
      this.page(r, a, true)!.set(src.subarray(done, done + n), o);
      if (r.tagPages !== undefined) {
        if (tags === undefined || tags === 0) {
          this.tagPage(r, a, false)?.fill(0, o, o + n);
        } else if (typeof tags === "number") {
          this.tagPage(r, a, true)!.fill(tags, o, o + n);
        } else {
          this.tagPage(r, a, true)!.set(tags.subarray(done, done + n), o);
        }
      }
    });
  }

  /** Fill `len` bytes with `value` (untagged). */
  fill(addr: number, len: number, value = 0): void {
    const r = this.check(addr, len);
    this.forEachSpan(r, addr, len, (a, o, n) => {
      this.page(r, a, value !== 0)?.fill(value, o, o + n);
      this.tagPage(r, a, false)?.fill(0, o, o + n);
    });
  }

  /** Guest-to-guest copy (memmove semantics), tags included. */
  copy(dstAddr: number, srcAddr: number, len: number): void {
    this.check(srcAddr, len);
    this.check(dstAddr, len);
    const bytes = new Uint8Array(len);
    const tags = this.provenance ? new Uint32Array(len) : undefined;
    this.readInto(srcAddr, bytes, tags);
    this.write(dstAddr, bytes, tags);
  }

  /** The provenance tag of one byte (0 = untagged, or provenance off). */
  tagAt(addr: number): number {
    const r = this.check(addr, 1);
    return this.tagPage(r, addr, false)?.[(addr - r.base) & PAGE_MASK] ?? 0;
  }

  /** The tags of `len` bytes. */
  tags(addr: number, len: number): Uint32Array {
    this.check(addr, len);
    const out = new Uint32Array(len);
    this.readInto(addr, new Uint8Array(len), out);
    return out;
  }

  /** Set the tags of existing bytes without changing the data. */
  setTags(addr: number, tags: Uint32Array): void {
    const r = this.check(addr, tags.length);
    if (r.tagPages === undefined) return;
    this.forEachSpan(r, addr, tags.length, (a, o, n, done) => {
      this.tagPage(r, a, true)!.set(tags.subarray(done, done + n), o);
    });
  }

  /**
   * Visit `[addr, addr + len)` of region `r` page by page: `visit(address, offset in page,
   * bytes in this page, bytes visited before)`. The one page walk of every bulk access.
   */
  private forEachSpan(
    r: Region,
    addr: number,
    len: number,
    visit: (a: number, o: number, n: number, done: number) => void,
  ): void {
    let done = 0;
    while (done < len) {
      const a = addr + done;
      const o = (a - r.base) & PAGE_MASK;
      const n = Math.min(PAGE_SIZE - o, len - done);
      visit(a, o, n, done);
      done += n;
    }
  }

  /**
   * A little-endian value of `size` (2 or 4) bytes; the in-page case reads one page. (A driver's
   * busy-wait polls `used.idx` through here at every turn: no loop, no page call.)
   */
  private readWord(addr: number, size: 2 | 4): number {
    const r = this.check(addr, size);
    const offset = addr - r.base;
    const o = offset & PAGE_MASK;
    if (o > PAGE_SIZE - size) return this.slowRead(r, addr, size);
    const p = r.pages[Math.floor(offset / PAGE_SIZE)];
    if (p === undefined) return 0;
    const low = p[o]! | (p[o + 1]! << 8);
    return size === 2 ? low : (low | (p[o + 2]! << 16) | (p[o + 3]! << 24)) >>> 0;
  }

  /** Store the low `size` (2 or 4) bytes of `value` little-endian; the bytes become untagged. */
  private writeWord(addr: number, size: 2 | 4, value: number): void {
    const r = this.check(addr, size);
    const o = (addr - r.base) & PAGE_MASK;
    if (o > PAGE_SIZE - size) {
      this.slowWrite(r, addr, size, value);
    } else {
      const p = this.page(r, addr, true)!;
      for (let i = 0; i < size; i++) p[o + i] = value >>> (8 * i);
    }
    if (r.tagPages !== undefined) this.untag(r, addr, size);
  }

  private regionOf(addr: number, len: number): Region | undefined {
    if (!Number.isSafeInteger(addr) || !Number.isSafeInteger(len) || addr < 0 || len < 0) {
      return undefined;
    }
    const last = this.last;
    if (last !== undefined && addr >= last.base && addr + len <= last.end) return last;
    for (const r of this.store) {
      if (addr >= r.base && addr + len <= r.end) {
        this.last = r;
        return r;
      }
    }
    return undefined;
  }

  private check(addr: number, len: number): Region {
    const r = this.regionOf(addr, len);
    if (r === undefined) {
      const where = Number.isSafeInteger(addr) ? `0x${addr.toString(16)}` : String(addr);
      const what =
        Number.isSafeInteger(len) && len >= 0 ? `${len} bytes` : `malformed length ${String(len)}`;
      throw new GuestMemoryError(
        "memory-out-of-range",
        `guest access of ${what} at ${where} is outside guest ram`,
      );
    }
    return r;
  }

  private page(r: Region, addr: number, create: boolean): Uint8Array | undefined {
    const index = Math.floor((addr - r.base) / PAGE_SIZE);
    let p = r.pages[index];
    if (p === undefined && create) {
      p = new Uint8Array(PAGE_SIZE);
      r.pages[index] = p;
    }
    return p;
  }

  private tagPage(r: Region, addr: number, create: boolean): Uint32Array | undefined {
    if (r.tagPages === undefined) return undefined;
    const index = Math.floor((addr - r.base) / PAGE_SIZE);
    let t = r.tagPages[index];
    if (t === undefined && create) {
      t = new Uint32Array(PAGE_SIZE);
      r.tagPages[index] = t;
    }
    return t;
  }

  private untag(r: Region, addr: number, len: number): void {
    const o = (addr - r.base) & PAGE_MASK;
    if (o + len <= PAGE_SIZE) {
      this.tagPage(r, addr, false)?.fill(0, o, o + len);
      return;
    }
    for (let i = 0; i < len; i++) {
      const t = this.tagPage(r, addr + i, false);
      if (t !== undefined) t[(addr + i - r.base) & PAGE_MASK] = 0;
    }
  }

  private slowRead(r: Region, addr: number, len: number): number {
    let value = 0;
    for (let i = len - 1; i >= 0; i--) {
      const a = addr + i;
      value = value * 256 + (this.page(r, a, false)?.[(a - r.base) & PAGE_MASK] ?? 0);
    }
    return value;
  }

  private slowWrite(r: Region, addr: number, len: number, value: number): void {
    for (let i = 0; i < len; i++) {
      const a = addr + i;
      this.page(r, a, true)![(a - r.base) & PAGE_MASK] = (value >>> (8 * i)) & 0xff;
    }
  }
}
