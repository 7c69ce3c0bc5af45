/**
 * Hostile-guest fuzz harness (DESIGN.md oracle 6 "Isolation", reference virtio §6.3): a
 * serialisable script of guest actions — random register accesses, raw descriptor and
 * indirect-table writes, avail entries and index jumps, used-ring scribbles, notifications,
 * interleaved with well-formed probes and chains — run against the transport and the
 * loopback device. Under `hardened` it checks, after every action:
 * - no exception escapes the transport or the device (GuestMemory is the only door to
 *   guest RAM and throws on any access outside it, so this also proves no such access);
 * - every chain the device touches is valid by an independent re-implementation of the
 *   §2.7.4–§2.7.5.3 rules, with the same buffers, and the device takes exactly those bytes;
 * - a queue or chain violation puts the device in DEVICE_NEEDS_RESET (with a configuration
 *   interrupt when DRIVER_OK is set), after which it consumes nothing until reset;
 * - after a transmit notification a live device left no chain pending that it could have
 *   taken: notifications are only hints and the device may apply back-pressure (reference
 *   virtio §1.6), so the oracle asks the device's own rule (`LoopbackDevice.accepts`, a pure
 *   read) about the first pending chain, measured by the oracle's own walk.
 * Under `reference` the same script reports libvmm's defects as findings instead, and a
 * modelled VMM crash restarts the rig (as a rebooted VMM would), counted.
 *
 * The rig's device takes a transmit chain larger than its 64 KiB capacity when idle under
 * `hardened` (reference §6.3: accept oversize transmit) and never under `reference` (L4).
 */
import type { DescriptorChain } from "../chain.js";
import {
  Feature,
  featureBit,
  hasFeature,
  INTERRUPT_CONFIG_CHANGE,
  Reg,
  Status,
  VIRTQ_DESC_F_INDIRECT,
  VIRTQ_DESC_F_NEXT,
  VIRTQ_DESC_F_WRITE,
} from "../constants.js";
import { writeDescriptor } from "../descriptor.js";
import { GuestMemory } from "../guest-memory.js";
import { type MmioWidth, VirtioMmioTransport, type VirtioMmioTransportOptions } from "../mmio.js";
import type { DefectSwitches, Profile } from "../profile.js";
import type { SplitVirtqueue } from "../virtqueue.js";
import { LOOPBACK_TX, LoopbackDevice } from "./loopback.js";
import { probe, queueBlockSize, queueLayout } from "./mmio-driver.js";

export const HOSTILE_RAM_BASE = 0x4000_0000;
export const HOSTILE_RAM_SIZE = 0x20_0000;
/** Queue blocks of the fuzzed guest. */
export const HOSTILE_QUEUE_BASE = HOSTILE_RAM_BASE;
/** Data buffers of the fuzzed guest. */
export const HOSTILE_DATA_BASE = HOSTILE_RAM_BASE + 0x10_0000;

export type HostileOp =
  /** A well-formed probe (reset, features, queues of `size`, optionally DRIVER_OK). */
  | {
      readonly k: "probe";
      readonly size: number;
      readonly features: number;
      readonly driverOk: boolean;
    }
  | { readonly k: "read"; readonly offset: number; readonly width: MmioWidth }
  | {
      readonly k: "write";
      readonly offset: number;
      readonly width: MmioWidth;
      readonly value: number;
    }
  /** Queue programming: QueueSel ← `sel`, then the queue register `offset` ← `value`. */
  | {
      readonly k: "queueReg";
      readonly sel: number;
      readonly offset: number;
      readonly value: number;
    }
  /** Raw descriptor write; `table` ≥ 0 writes into that head's indirect table slot instead. */
  | {
      readonly k: "desc";
      readonly queue: number;
      readonly table: number;
      readonly index: number;
      readonly addr: number;
      readonly len: number;
      readonly flags: number;
      readonly next: number;
    }
  | { readonly k: "avail"; readonly queue: number; readonly slot: number; readonly head: number }
  | { readonly k: "availIdx"; readonly queue: number; readonly delta: number }
  | { readonly k: "usedIdx"; readonly queue: number; readonly value: number }
  /**
   * A valid chain built from raw writes at descriptor `first` onwards (or, with `indirect`,
   * in the indirect table slot of head `first`), then published.
   */
  | {
      readonly k: "chain";
      readonly queue: number;
      readonly first: number;
      readonly readable: readonly number[];
      readonly writable: readonly number[];
      readonly indirect?: boolean;
    }
  | { readonly k: "notify"; readonly queue: number }
  /** The guest's interrupt handler: read InterruptStatus, acknowledge it. */
  | { readonly k: "ack" }
  /** The guest masks or unmasks its virtual IRQ: the vGIC then refuses injection (L12). */
  | { readonly k: "irqMask"; readonly masked: boolean };

/**
 * Builds the transport of the rig. The extension point for transport variants (a wrapper or
 * a subclass); the default is `new VirtioMmioTransport(options)`.
 */
export type TransportFactory = (options: VirtioMmioTransportOptions) => VirtioMmioTransport;

export interface HostileOptions {
  readonly profile: Profile;
  readonly defects?: Partial<DefectSwitches>;
  readonly transport?: TransportFactory;
}

export interface HostileReport {
  readonly ops: number;
  /** Oracle violations (hardened), with the op index; the run stops at the first. */
  readonly violations: string[];
  /** The script up to and including the first violating action: a replayable counterexample. */
  readonly counterexample: readonly HostileOp[] | undefined;
  /** libvmm defects exercised, by name (reference). */
  readonly findings: Map<string, number>;
  /** Modelled VMM crashes (reference). */
  readonly crashes: number;
  /** Times the device entered DEVICE_NEEDS_RESET. */
  readonly needsReset: number;
  /** Illegal accesses and queue errors, by code. */
  readonly errors: Map<string, number>;
  /** Chains and bytes the device took from valid chains. */
  readonly chainsTaken: number;
  readonly bytesTaken: number;
}

/** Tags of bytes written by well-formed chains (0 = hostile or untouched memory). */
const CHAIN_TAG = 0x0100_0000;

interface Rig {
  readonly memory: GuestMemory;
  readonly device: LoopbackDevice;
  readonly t: VirtioMmioTransport;
}

export function runHostile(ops: readonly HostileOp[], options: HostileOptions): HostileReport {
  const checking = options.profile === "hardened";
  const violations: string[] = [];
  const findings = new Map<string, number>();
  const errors = new Map<string, number>();
  let crashes = 0;
  let needsReset = 0;
  let chainsTaken = 0;
  let bytesTaken = 0;
  let sizes = [8, 8];
  let dataCursor = 0;
  let chainSerial = 0;
  let opIndex = 0;
  /** Bytes the oracle expects the device to have taken, in order (hardened). */
  let expected: number[] = [];
  let expectedTags: number[] = [];
  let checkedUpTo = 0;

  const violate = (message: string) => {
    if (violations.length < 20) violations.push(`op ${opIndex}: ${message}`);
  };

  const onTake = (queueIndex: number, chain: DescriptorChain, queue: SplitVirtqueue) => {
    if (!checking) return;
    const rig = current;
    if (!rig.t.isLive()) violate(`queue ${queueIndex} used while the device is not live`);
    const availIdx = rig.memory.read16(queue.geometry.availAddr + 2);
    const pending = (availIdx - queue.lastAvailIdx.value) & 0xffff;
    if (pending > queue.size) {
      violate(`queue ${queueIndex}: device consumed with avail.idx ${pending} entries ahead of it`);
    }
    const features = rig.t.negotiatedFeatures;
    const verdict = oracleWalk(
      rig.memory,
      queue,
      hasFeature(features, Feature.INDIRECT_DESC),
      chain.head,
    );
    if (typeof verdict === "string") {
      violate(`queue ${queueIndex} head ${chain.head}: device took an invalid chain (${verdict})`);
      return;
    }
    const same =
      verdict.length === chain.segments.length &&
      verdict.every(
        (s, i) =>
          s.addr === chain.segments[i]!.addr &&
          s.len === chain.segments[i]!.len &&
          s.writable === chain.segments[i]!.writable,
      );
    if (!same) violate(`queue ${queueIndex} head ${chain.head}: buffers differ from the oracle's`);
    if (queueIndex === LOOPBACK_TX) {
      for (const s of verdict) {
        if (s.writable) continue;
        const bytes = rig.memory.read(s.addr, s.len);
        const tags = rig.memory.tags(s.addr, s.len);
        for (let i = 0; i < s.len; i++) {
          expected.push(bytes[i]!);
          expectedTags.push(tags[i]!);
        }
      }
    }
  };

  const makeRig = (): Rig => {
    const memory = new GuestMemory({
      regions: [{ base: HOSTILE_RAM_BASE, size: HOSTILE_RAM_SIZE }],
      provenance: true,
    });
    const device = new LoopbackDevice({
      queueMaxSize: 64,
      capacity: 1 << 16,
      oversizeChains: checking ? "when-idle" : "never",
      onTake,
      features:
        options.profile === "reference"
          ? featureBit(Feature.VERSION_1)
          : featureBit(Feature.VERSION_1) |
            featureBit(Feature.INDIRECT_DESC) |
            featureBit(Feature.EVENT_IDX),
    });
    const makeTransport = options.transport ?? ((o) => new VirtioMmioTransport(o));
    const t = makeTransport({
      device,
      memory,
      profile: options.profile,
      defects: options.defects ?? {},
      interrupt: { raise: () => !irqMasked, lower: () => {} },
    });
    return { memory, device, t };
  };

  let irqMasked = false;
  let current = makeRig();

  const restart = () => {
    merge(current);
    crashes++;
    current = makeRig();
    expected = [];
    expectedTags = [];
    checkedUpTo = 0;
  };

  const merge = (rig: Rig) => {
    for (const [k, v] of rig.t.findingCounts) findings.set(k, (findings.get(k) ?? 0) + v);
    for (const [k, v] of rig.t.errorCounts) errors.set(k, (errors.get(k) ?? 0) + v);
    chainsTaken += rig.device.txChains;
    bytesTaken += rig.device.taken.length;
  };

  const layoutOf = (queue: number) => {
    const size = sizes[queue] ?? 8;
    let base = HOSTILE_QUEUE_BASE;
    for (let q = 0; q < queue; q++) base += queueBlockSize(sizes[q] ?? 8);
    return { size, ...queueLayout(base, size) };
  };

  const queueErrors = (rig: Rig) => {
    let n = 0;
    for (const [code, count] of rig.t.errorCounts) {
      if (!code.startsWith("mmio-")) n += count;
    }
    return n;
  };

  for (const op of ops) {
    const { t, device } = current;
    const beforeErrors = queueErrors(current);
    const beforeStatus = t.status;
    const beforeTaken = device.taken.length;
    const beforeConfigIrq = t.interruptStatus & INTERRUPT_CONFIG_CHANGE;
    try {
      apply(op);
    } catch (e) {
      violate(`exception escaped: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
    }
    if (current.t.crashed !== undefined) {
      restart();
    } else if (checking) {
      check(op, beforeErrors, beforeStatus, beforeTaken, beforeConfigIrq);
    }
    if (violations.length > 0) break;
    opIndex++;
  }
  merge(current);
  return {
    ops: Math.min(opIndex + 1, ops.length),
    violations,
    counterexample: violations.length > 0 ? ops.slice(0, opIndex + 1) : undefined,
    findings,
    crashes,
    needsReset,
    errors,
    chainsTaken,
    bytesTaken,
  };

  function apply(op: HostileOp): void {
    const { memory, t } = current;
    switch (op.k) {
      case "probe": {
        sizes = [op.size, op.size];
        let wanted = 0n;
        if (op.features & 1) wanted |= featureBit(Feature.INDIRECT_DESC);
        if (op.features & 2) wanted |= featureBit(Feature.EVENT_IDX);
        probe(t, memory, {
          queueCount: 2,
          queueSize: op.size,
          queueBase: HOSTILE_QUEUE_BASE,
          wanted,
          driverOk: op.driverOk,
        });
        return;
      }
      case "read":
        t.readAccess(op.offset, op.width);
        return;
      case "write":
        t.writeAccess(op.offset, op.width, op.value);
        return;
      case "queueReg":
        t.writeAccess(Reg.QueueSel, 4, op.sel);
        t.writeAccess(op.offset, 4, op.value);
        return;
      case "desc": {
        const l = layoutOf(op.queue);
        const table =
          op.table < 0 ? l.descAddr : l.indirectArea + (op.table % l.size) * 16 * l.size;
        writeDescriptor(memory, table + 16 * (op.index % l.size), op);
        return;
      }
      case "avail": {
        const l = layoutOf(op.queue);
        memory.write16(l.availAddr + 4 + 2 * (op.slot % l.size), op.head);
        return;
      }
      case "availIdx": {
        const l = layoutOf(op.queue);
        memory.write16(l.availAddr + 2, (memory.read16(l.availAddr + 2) + op.delta) & 0xffff);
        return;
      }
      case "usedIdx": {
        const l = layoutOf(op.queue);
        memory.write16(l.usedAddr + 2, op.value & 0xffff);
        return;
      }
      case "chain": {
        const l = layoutOf(op.queue);
        const buffers = [
          ...op.readable.map((len) => ({ len, flags: 0 })),
          ...op.writable.map((len) => ({ len, flags: VIRTQ_DESC_F_WRITE })),
        ].slice(0, l.size);
        if (buffers.length === 0) return;
        const serial = chainSerial++;
        const head = op.first % l.size;
        const table = op.indirect ? l.indirectArea + head * 16 * l.size : l.descAddr;
        buffers.forEach((b, i) => {
          if (dataCursor + b.len > 0xf_0000) dataCursor = 0;
          const addr = HOSTILE_DATA_BASE + dataCursor;
          dataCursor += b.len;
          const data = new Uint8Array(b.len).map((_, j) => (serial + j) & 0xff);
          memory.write(addr, data, CHAIN_TAG + serial);
          const index = op.indirect ? i : (op.first + i) % l.size;
          const next = op.indirect ? i + 1 : (op.first + i + 1) % l.size;
          const last = i === buffers.length - 1;
          writeDescriptor(memory, table + 16 * index, {
            addr,
            len: b.len,
            flags: b.flags | (last ? 0 : VIRTQ_DESC_F_NEXT),
            next: last ? 0 : next,
          });
        });
        if (op.indirect) {
          writeDescriptor(memory, l.descAddr + 16 * head, {
            addr: table,
            len: 16 * buffers.length,
            flags: VIRTQ_DESC_F_INDIRECT,
            next: 0,
          });
        }
        const idx = memory.read16(l.availAddr + 2);
        memory.write16(l.availAddr + 4 + 2 * (idx % l.size), head);
        memory.write16(l.availAddr + 2, (idx + 1) & 0xffff);
        return;
      }
      case "notify":
        t.writeAccess(Reg.QueueNotify, 4, op.queue);
        return;
      case "ack": {
        const isr = t.read(Reg.InterruptStatus, 4);
        t.write(Reg.InterruptACK, 4, isr);
        return;
      }
      case "irqMask":
        irqMasked = op.masked;
        return;
    }
  }

  function check(
    op: HostileOp,
    beforeErrors: number,
    beforeStatus: number,
    beforeTaken: number,
    beforeConfigIrq: number,
  ): void {
    const { t, device } = current;
    const nr = (t.status & Status.DEVICE_NEEDS_RESET) !== 0;
    const wasNr = (beforeStatus & Status.DEVICE_NEEDS_RESET) !== 0;
    if (nr && !wasNr) {
      needsReset++;
      if (
        (t.status & Status.DRIVER_OK) !== 0 &&
        (t.interruptStatus & INTERRUPT_CONFIG_CHANGE) === 0 &&
        beforeConfigIrq === 0
      ) {
        violate("DEVICE_NEEDS_RESET with DRIVER_OK but no configuration-change interrupt");
      }
    }
    if (queueErrors(current) > beforeErrors && !nr && t.status !== 0) {
      violate("queue or chain error without DEVICE_NEEDS_RESET");
    }
    if (wasNr && nr && device.taken.length > beforeTaken) {
      violate("device consumed buffers in DEVICE_NEEDS_RESET");
    }
    if (device.taken.length !== expected.length) {
      violate(`device took ${device.taken.length} bytes, the oracle expected ${expected.length}`);
      expected = [...device.taken];
      expectedTags = [...device.takenTags];
    }
    for (let i = checkedUpTo; i < expected.length; i++) {
      if (device.taken[i] !== expected[i] || device.takenTags[i] !== expectedTags[i]) {
        violate(`byte ${i} taken by the device was not in its chain`);
        break;
      }
    }
    checkedUpTo = expected.length;
    if (op.k === "notify" && op.queue === LOOPBACK_TX && t.isLive()) {
      const q = t.queue(LOOPBACK_TX);
      const indirect = hasFeature(t.negotiatedFeatures, Feature.INDIRECT_DESC);
      const left = q === undefined ? undefined : pendingReadable(current.memory, q, indirect);
      if (typeof left === "string") {
        violate(`live device left an invalid transmit chain pending (${left})`);
      } else if (left !== undefined && device.accepts(left)) {
        violate(`live device left a transmit chain of ${left} bytes pending that it could take`);
      }
    }
  }
}

/**
 * The first chain the driver has published and the device not consumed, read from guest
 * memory without touching device state: its readable length, why it is invalid, or
 * `undefined` when nothing is pending.
 */
export function pendingReadable(
  memory: GuestMemory,
  queue: SplitVirtqueue,
  indirect: boolean,
): number | string | undefined {
  const { availAddr, size } = queue.geometry;
  if (!memory.contains(availAddr, 4 + 2 * size)) return "driver area outside ram";
  const last = queue.lastAvailIdx.value;
  if (memory.read16(availAddr + 2) === last) return undefined;
  const head = memory.read16(availAddr + 4 + 2 * (last % size));
  const chain = oracleWalk(memory, queue, indirect, head);
  if (typeof chain === "string") return chain;
  return chain.reduce((sum, s) => sum + (s.writable ? 0 : s.len), 0);
}

/**
 * Independent statement of the chain rules (VirtIO 1.2 §2.7.4.2, §2.7.5, §2.7.5.2,
 * §2.7.5.3.1): the buffers of the chain at `head`, or why it is invalid.
 */
export function oracleWalk(
  memory: GuestMemory,
  queue: SplitVirtqueue,
  indirect: boolean,
  head: number,
): { addr: number; len: number; writable: boolean }[] | string {
  const n = queue.size;
  const segments: { addr: number; len: number; writable: boolean }[] = [];
  if (head >= n) return "head out of range";
  let table = queue.geometry.descAddr;
  let entries = n;
  let index = head;
  let left = n;
  let nested = false;
  let writableSeen = false;
  let total = 0;
  while (left-- > 0) {
    const at = table + 16 * index;
    if (!memory.contains(at, 16)) return "descriptor outside ram";
    const addr = memory.read64(at);
    const len = memory.read32(at + 8);
    const flags = memory.read16(at + 12);
    const next = memory.read16(at + 14);
    if (flags & VIRTQ_DESC_F_INDIRECT) {
      if (!indirect || nested || flags & VIRTQ_DESC_F_NEXT) return "indirect not allowed here";
      if (len === 0 || len % 16 !== 0 || len / 16 > n) return "indirect table size";
      if (
        addr % 16n !== 0n ||
        addr > BigInt(Number.MAX_SAFE_INTEGER) ||
        !memory.contains(Number(addr), len)
      ) {
        return "indirect table outside ram";
      }
      nested = true;
      table = Number(addr);
      entries = len / 16;
      left = entries;
      index = 0;
      continue;
    }
    const writable = (flags & VIRTQ_DESC_F_WRITE) !== 0;
    if (writableSeen && !writable) return "readable after writable";
    writableSeen ||= writable;
    if (addr > BigInt(Number.MAX_SAFE_INTEGER) || !memory.contains(Number(addr), len)) {
      return "buffer outside ram";
    }
    total += len;
    if (total > 0xffff_ffff) return "chain length overflow";
    segments.push({ addr: Number(addr), len, writable });
    if ((flags & VIRTQ_DESC_F_NEXT) === 0) return segments;
    if (next >= entries) return "next out of range";
    index = next;
  }
  return "chain too long";
}
