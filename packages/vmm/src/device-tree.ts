/**
 * A small typed device tree and its flattened form (the devicetree specification v0.4 §5:
 * header, memory reservation block, structure block, strings block, big-endian). libvmm
 * copies a DTB into guest RAM and passes its address in x0 at `guest_start` (reference
 * microkit §2.10); the guest model reads it back from RAM and finds its console there.
 */
import { VmmError } from "./errors.js";

/** A property value: a string, a list of u32 cells, or raw bytes. */
export type DtValue = string | readonly number[] | Uint8Array;

export interface DtNode {
  /** Node name with unit address, e.g. `virtio@130000`; `""` for the root. */
  readonly name: string;
  readonly props: ReadonlyMap<string, Uint8Array>;
  readonly children: readonly DtNode[];
}

const FDT_MAGIC = 0xd00dfeed;
const FDT_BEGIN_NODE = 1;
const FDT_END_NODE = 2;
const FDT_PROP = 3;
const FDT_NOP = 4;
const FDT_END = 9;
const HEADER_SIZE = 40;
/** A bound on nesting and on tokens, so a hostile blob cannot make the parser run away. */
const MAX_DEPTH = 16;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Encode a value as the specification's property encodings (§2.2.4). */
export function dtValue(value: DtValue): Uint8Array {
  if (typeof value === "string") {
    const text = encoder.encode(value);
    const out = new Uint8Array(text.length + 1);
    out.set(text);
    return out;
  }
  if (value instanceof Uint8Array) return value;
  const out = new Uint8Array(4 * value.length);
  const view = new DataView(out.buffer);
  value.forEach((cell, i) => {
    view.setUint32(4 * i, cell >>> 0);
  });
  return out;
}

/** A node from plain values. */
export function dtNode(
  name: string,
  props: Readonly<Record<string, DtValue>>,
  children: readonly DtNode[] = [],
): DtNode {
  const map = new Map<string, Uint8Array>();
  for (const [key, value] of Object.entries(props)) map.set(key, dtValue(value));
  return { name, props: map, children };
}

/** A property as a NUL-terminated string (first string of a string list). */
export function propString(node: DtNode, prop: string): string | undefined {
  const raw = node.props.get(prop);
  if (raw === undefined) return undefined;
  const end = raw.indexOf(0);
  return decoder.decode(raw.subarray(0, end < 0 ? raw.length : end));
}

/** A property as u32 cells. */
export function propCells(node: DtNode, prop: string): number[] | undefined {
  const raw = node.props.get(prop);
  if (raw === undefined || raw.length % 4 !== 0) return undefined;
  const view = new DataView(raw.buffer, raw.byteOffset, raw.length);
  return Array.from({ length: raw.length / 4 }, (_, i) => view.getUint32(4 * i));
}

function pad4(n: number): number {
  return (n + 3) & ~3;
}

/** Flatten a tree into a DTB (version 17, last compatible 16). */
export function encodeDtb(root: DtNode): Uint8Array {
  const strings: number[] = [];
  const offsets = new Map<string, number>();
  const struct: number[] = [];
  const u32 = (v: number) =>
    struct.push((v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff);
  const bytes = (b: Uint8Array) => {
    for (const x of b) struct.push(x);
    while (struct.length % 4 !== 0) struct.push(0);
  };
  const nameOffset = (name: string) => {
    let off = offsets.get(name);
    if (off === undefined) {
      off = strings.length;
      offsets.set(name, off);
      for (const x of encoder.encode(name)) strings.push(x);
      strings.push(0);
    }
    return off;
  };
  const walk = (node: DtNode) => {
    u32(FDT_BEGIN_NODE);
    bytes(dtValue(node.name));
    for (const [key, value] of node.props) {
      u32(FDT_PROP);
      u32(value.length);
      u32(nameOffset(key));
      bytes(value);
    }
    for (const child of node.children) walk(child);
    u32(FDT_END_NODE);
  };
  walk(root);
  u32(FDT_END);
  const rsvOffset = HEADER_SIZE;
  const structOffset = rsvOffset + 16;
  const stringsOffset = structOffset + struct.length;
  const total = pad4(stringsOffset + strings.length);
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  const header = [
    FDT_MAGIC,
    total,
    structOffset,
    stringsOffset,
    rsvOffset,
    17,
    16,
    0,
    strings.length,
    struct.length,
  ];
  header.forEach((v, i) => {
    view.setUint32(4 * i, v);
  });
  out.set(struct, structOffset);
  out.set(strings, stringsOffset);
  return out;
}

/** The blob's total size from its header, or an error naming what is wrong. */
export function dtbSize(header: Uint8Array): number {
  if (header.length < HEADER_SIZE) throw new VmmError("DTB_MALFORMED", "dtb: header truncated");
  const view = new DataView(header.buffer, header.byteOffset, header.length);
  const magic = view.getUint32(0);
  if (magic !== FDT_MAGIC)
    throw new VmmError("DTB_MALFORMED", `dtb: bad magic 0x${magic.toString(16)} at offset 0`);
  return view.getUint32(4);
}

/** Parse a DTB; every offset and length is checked against the blob. */
export function decodeDtb(blob: Uint8Array): DtNode {
  const total = dtbSize(blob);
  if (total > blob.length)
    throw new VmmError("DTB_MALFORMED", `dtb: totalsize ${total} exceeds blob`);
  const view = new DataView(blob.buffer, blob.byteOffset, total);
  const structOffset = view.getUint32(8);
  const stringsOffset = view.getUint32(12);
  const stringsSize = view.getUint32(32);
  const structSize = view.getUint32(36);
  if (structOffset + structSize > total || stringsOffset + stringsSize > total)
    throw new VmmError("DTB_MALFORMED", "dtb: structure or strings block outside the blob");
  const end = structOffset + structSize;
  let at = structOffset;
  const need = (n: number, what: string) => {
    if (at + n > end)
      throw new VmmError(
        "DTB_MALFORMED",
        `dtb: ${what} at offset ${at} runs past the structure block`,
      );
  };
  const token = () => {
    need(4, "token");
    const t = view.getUint32(at);
    at += 4;
    return t;
  };
  const cString = (from: number, limit: number, what: string) => {
    let stop = from;
    while (stop < limit && blob[stop] !== 0) stop++;
    if (stop >= limit)
      throw new VmmError("DTB_MALFORMED", `dtb: unterminated ${what} at offset ${from}`);
    return { text: decoder.decode(blob.subarray(from, stop)), next: stop + 1 };
  };
  const node = (depth: number): DtNode => {
    if (depth > MAX_DEPTH)
      throw new VmmError("DTB_MALFORMED", `dtb: nesting deeper than ${MAX_DEPTH}`);
    const { text: name, next } = cString(at, end, "node name");
    at = pad4(next - structOffset) + structOffset;
    const props = new Map<string, Uint8Array>();
    const children: DtNode[] = [];
    for (;;) {
      const t = token();
      if (t === FDT_NOP) continue;
      if (t === FDT_END_NODE) return { name, props, children };
      if (t === FDT_BEGIN_NODE) {
        children.push(node(depth + 1));
        continue;
      }
      if (t !== FDT_PROP)
        throw new VmmError("DTB_MALFORMED", `dtb: unexpected token ${t} at offset ${at - 4}`);
      const len = token();
      const nameOff = token();
      need(len, "property value");
      if (nameOff >= stringsSize)
        throw new VmmError("DTB_MALFORMED", `dtb: property name offset ${nameOff} outside strings`);
      const key = cString(
        stringsOffset + nameOff,
        stringsOffset + stringsSize,
        "property name",
      ).text;
      props.set(key, blob.slice(at, at + len));
      at = pad4(at + len - structOffset) + structOffset;
    }
  };
  let t = token();
  while (t === FDT_NOP) t = token();
  if (t !== FDT_BEGIN_NODE)
    throw new VmmError("DTB_MALFORMED", `dtb: structure block starts with token ${t}`);
  const root = node(0);
  return root;
}

/** What a guest needs from the tree to bring up its console. */
export interface ConsoleDiscovery {
  readonly bootargs: string;
  readonly memory: { readonly base: number; readonly size: number };
  /** The first `virtio,mmio` node: window and the interrupt id (GIC INTID) it raises. */
  readonly virtio: { readonly base: number; readonly size: number; readonly irq: number };
}

const GIC_SPI = 0;
const GIC_SPI_BASE = 32;
const IRQ_TYPE_LEVEL_HIGH = 4;

function twoCells(cells: readonly number[], at: number): number {
  return (cells[at] ?? 0) * 0x1_0000_0000 + (cells[at + 1] ?? 0);
}

/** Find `/chosen`, the memory node and the first `virtio,mmio` node (2 address, 2 size cells). */
export function discoverConsole(root: DtNode): ConsoleDiscovery {
  const chosen = root.children.find((n) => n.name === "chosen");
  const bootargs = chosen ? propString(chosen, "bootargs") : undefined;
  if (bootargs === undefined) throw new VmmError("DTB_MISSING", "dtb: /chosen/bootargs missing");
  const memoryNode = root.children.find((n) => propString(n, "device_type") === "memory");
  const memReg = memoryNode ? propCells(memoryNode, "reg") : undefined;
  if (memReg === undefined || memReg.length < 4)
    throw new VmmError("DTB_MISSING", "dtb: memory node or its reg missing");
  const virtio = root.children.find((n) => propString(n, "compatible") === "virtio,mmio");
  const reg = virtio ? propCells(virtio, "reg") : undefined;
  const irqs = virtio ? propCells(virtio, "interrupts") : undefined;
  if (reg === undefined || reg.length < 4 || irqs === undefined || irqs.length < 3)
    throw new VmmError("DTB_MISSING", "dtb: virtio,mmio node with reg and interrupts missing");
  const irq = (irqs[0] === GIC_SPI ? GIC_SPI_BASE : 16) + (irqs[1] ?? 0);
  return {
    bootargs,
    memory: { base: twoCells(memReg, 0), size: twoCells(memReg, 2) },
    virtio: { base: twoCells(reg, 0), size: twoCells(reg, 2), irq },
  };
}

function split(value: number): [number, number] {
  return [Math.floor(value / 0x1_0000_0000), value >>> 0];
}

export interface GuestTreeSpec {
  readonly bootargs: string;
  readonly ram: { readonly base: number; readonly size: number };
  readonly virtio: { readonly base: number; readonly size: number; readonly irq: number };
}

/**
 * The tree a libvmm VMM hands its guest (cf. libvmm `examples/virtio_mmio/client_vm/linux.dts`):
 * `/chosen` bootargs, one memory node, one `virtio,mmio` node with `<GIC_SPI n LEVEL_HIGH>`.
 */
export function guestDeviceTree(spec: GuestTreeSpec): DtNode {
  const hex = (n: number) => n.toString(16);
  return dtNode("", { "#address-cells": [2], "#size-cells": [2], model: "vmmux,virt" }, [
    dtNode("chosen", { bootargs: spec.bootargs, "stdout-path": "hvc0" }),
    dtNode(`memory@${hex(spec.ram.base)}`, {
      device_type: "memory",
      reg: [...split(spec.ram.base), ...split(spec.ram.size)],
    }),
    dtNode(`virtio@${hex(spec.virtio.base)}`, {
      compatible: "virtio,mmio",
      reg: [...split(spec.virtio.base), ...split(spec.virtio.size)],
      interrupts: [GIC_SPI, spec.virtio.irq - GIC_SPI_BASE, IRQ_TYPE_LEVEL_HIGH],
    }),
  ]);
}
