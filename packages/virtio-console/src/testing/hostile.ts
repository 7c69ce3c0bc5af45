/**
 * Console-level hostile-guest fuzzing. A run is a serialisable list of operations (register
 * accesses, raw descriptor/ring stores, kicks, keyboard input, virt_tx drains), so a failure
 * is a replayable script. The guest's data area carries provenance tags that encode each
 * byte's address; the harness records every chain the device pops, so the oracle can say
 * where every byte that reached the sDDF TX queue came from.
 *
 * Oracles (hardened): no exception escapes; every byte the sDDF side receives lies in a
 * device-readable buffer of a chain the device accepted as a valid transmit chain (VirtIO
 * 1.2 §2.7.4, §5.3.6.1) and arrives in chain order; the device never reports more bytes
 * written to an RX buffer than its writable part holds; input is conserved (delivered,
 * queued, held or counted). Under `reference` the same runs report libvmm's defects as
 * findings instead.
 */
import type { Profile } from "@vmmux/profiles";
import { ORIGIN_KEYBOARD, provenanceTag, tagOrigin } from "@vmmux/sddf-queues";
import {
  type DescriptorChain,
  type PopResult,
  Reg,
  type SplitVirtqueue,
  Status,
  type VirtioDeviceHost,
} from "@vmmux/virtio-core";
import type { ConsoleDefectSwitches } from "../profile.js";
import { ConsoleRig, RIG_RAM_BASE, RIG_RAM_SIZE, rawProbe } from "./rig.js";

/** Queue geometry of the fuzzed device: as {@link rawProbe} lays out queues of size 8. */
export const FUZZ_QUEUE_SIZE = 8;
const QUEUE_BLOCK = RIG_RAM_BASE + 0x1000;
/** Guest data area: bytes whose tags encode their offset in the area. */
export const FUZZ_DATA_BASE = RIG_RAM_BASE + 0x8_0000;
export const FUZZ_DATA_SIZE = 0x1_0000;
/** Where well-formed receive chains point (apart from the data area). */
export const FUZZ_RX_BASE = FUZZ_DATA_BASE + 0x2_0000;
/** Provenance origin of the data area's bytes. */
export const FUZZ_ORIGIN = 0x42;

export type HostileOp =
  | {
      readonly op: "write";
      readonly offset: number;
      readonly width: 1 | 2 | 4 | 8;
      readonly value: number;
    }
  | { readonly op: "read"; readonly offset: number; readonly width: 1 | 2 | 4 | 8 }
  | {
      readonly op: "desc";
      readonly queue: number;
      readonly index: number;
      readonly addr: number;
      readonly len: number;
      readonly flags: number;
      readonly next: number;
    }
  | { readonly op: "avail"; readonly queue: number; readonly slot: number; readonly head: number }
  | { readonly op: "publish"; readonly queue: number; readonly count: number }
  /** A well-formed chain at descriptor `index`: readable parts, optionally writable ones after. */
  | {
      readonly op: "chain";
      readonly queue: number;
      readonly index: number;
      readonly parts: readonly {
        readonly offset: number;
        readonly len: number;
        readonly writable: boolean;
      }[];
    }
  | { readonly op: "notify"; readonly queue: number }
  | { readonly op: "input"; readonly len: number }
  | { readonly op: "drain"; readonly max: number }
  | { readonly op: "resize"; readonly cols: number; readonly rows: number }
  | { readonly op: "reprobe" };

export interface HostileRunOptions {
  readonly profile: Profile;
  readonly defects?: Partial<ConsoleDefectSwitches>;
  readonly serialCapacity?: number;
  readonly build?: "debug" | "release";
}

export interface HostileReport {
  /** Oracle violations (hardened); empty when the run is clean. */
  readonly violations: string[];
  /** Console and transport defect names found (reference). */
  readonly findings: Set<string>;
  /** Operations executed before the run ended (a crash ends it early). */
  readonly executed: number;
  readonly crashed: boolean;
  /** Bytes the sDDF side received. */
  readonly txBytes: number;
}

function queueAddrs(queue: number) {
  const base = QUEUE_BLOCK + queue * 0x3000;
  return { desc: base, avail: base + 0x1000, used: base + 0x2000 };
}

/** Tag of a data-area byte: its offset in the area, so a tag names its address. */
function dataTag(addr: number): number {
  return provenanceTag(FUZZ_ORIGIN, addr - FUZZ_DATA_BASE);
}

/** The data area's contents: byte value = low address bits, tag = address. */
const DATA_AREA = (() => {
  const bytes = new Uint8Array(FUZZ_DATA_SIZE);
  const tags = new Uint32Array(FUZZ_DATA_SIZE);
  for (let i = 0; i < FUZZ_DATA_SIZE; i++) {
    bytes[i] = i & 0xff;
    tags[i] = dataTag(FUZZ_DATA_BASE + i);
  }
  return { bytes, tags };
})();

/** How many chains a reset may abandon between two drained bytes. */
const JUMP_WINDOW = 16;

/** Origin of typed input. */
const INPUT_ORIGIN = ORIGIN_KEYBOARD;

/** Tag the rig gives emergency-write bytes (F_EMERG_WRITE: output not from a chain). */
export const FUZZ_EMERG_TAG = provenanceTag(0xee, 0);

interface RecordedChain {
  readonly queue: number;
  readonly chain: DescriptorChain;
  /** Tags of the readable bytes at pop time, in chain order. */
  readonly readableTags: number[];
}

/** Wrap a host so every chain the device pops from a queue is recorded. */
function recordingHost(
  host: VirtioDeviceHost,
  onPop: (queue: number, r: PopResult) => void,
  onUsed: (queue: number, head: number, len: number) => void,
) {
  const queue = (index: number): SplitVirtqueue | undefined => {
    const q = host.queue(index);
    if (q === undefined) return undefined;
    return new Proxy(q, {
      get(target, prop) {
        if (prop === "popAvailable") {
          return () => {
            const r = target.popAvailable();
            onPop(index, r);
            return r;
          };
        }
        if (prop === "addUsed") {
          return (head: number, len: number) => {
            onUsed(index, head, len);
            return target.addUsed(head, len);
          };
        }
        const value = Reflect.get(target, prop, target);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
  };
  // Every other member acts on the real host (its methods keep `this` = the transport).
  return new Proxy(host, {
    get(target, prop) {
      if (prop === "queue") return queue;
      const value = Reflect.get(target, prop, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/** Run `ops` against a fresh console; the report holds violations and findings. */
export function runHostile(ops: readonly HostileOp[], options: HostileRunOptions): HostileReport {
  const violations: string[] = [];
  const findings = new Set<string>();
  const recorded: RecordedChain[] = [];
  /** Set when the device popped a chain with buffers of the wrong direction (this op). */
  let wrongDirection = false;
  /** Readable-byte tags of each accepted transmit chain with a payload, in pop order. */
  const txChains: number[][] = [];
  const hardened = options.profile === "hardened";
  let rig: ConsoleRig;
  const popped = (queue: number, r: PopResult) => {
    if (r.kind !== "chain") return;
    const readableTags: number[] = [];
    for (const s of r.chain.readable) {
      if (!s.inRam || s.len > 0x10000) continue;
      for (const t of rig.memory.tags(s.addr, s.len)) readableTags.push(t);
    }
    recorded.push({ queue, chain: r.chain, readableTags });
    const c = r.chain;
    if ((queue === 1 && c.writable.length > 0) || (queue === 0 && c.readable.length > 0)) {
      wrongDirection = true;
    }
    // A valid transmit chain (§2.7, §5.3.6.1): readable buffers only, inside RAM.
    if (queue === 1 && c.writable.length === 0 && !c.bad && c.head < FUZZ_QUEUE_SIZE) {
      if (readableTags.length > 0) txChains.push(readableTags);
    }
  };
  const used = (queue: number, head: number, len: number) => {
    if (!hardened || queue !== 0) return;
    const last = recorded.findLast((rc) => rc.queue === 0 && rc.chain.head === head);
    if (last === undefined || len > last.chain.writableLength) {
      violations.push(`rx chain ${head} returned with len ${len} beyond its writable part`);
    }
  };
  rig = new ConsoleRig({
    profile: options.profile,
    ...(options.defects === undefined ? {} : { defects: options.defects }),
    serialCapacity: options.serialCapacity ?? 4096,
    ...(options.build === undefined ? {} : { build: options.build }),
    queueSize: FUZZ_QUEUE_SIZE,
    emergencyTag: FUZZ_EMERG_TAG,
    wrapHost: (host) => recordingHost(host, popped, used),
  });
  rig.memory.write(FUZZ_DATA_BASE, DATA_AREA.bytes, DATA_AREA.tags);
  rawProbe(rig, { size: FUZZ_QUEUE_SIZE });

  // The sDDF side must see a concatenation of prefixes of the accepted transmit chains, in
  // pop order (a chain is cut short only by a reset). Tags name addresses and a chain may
  // name an address twice, so the match keeps every consistent position (a small NFA):
  // (chain, byte) pairs, where chain -1 is "before the first chain".
  let positions: (readonly [number, number])[] = [[-1, 0]];
  let txBytes = 0;
  let typed = 0;
  let emergencyWrites = 0;
  const fits = (expected: number | undefined, tag: number) =>
    expected === tag || (expected !== undefined && tagOrigin(tag) === INPUT_ORIGIN);
  const checkTx = (drainedTags: number[]) => {
    txBytes += drainedTags.length;
    if (!hardened || violations.length > 0) return;
    for (const tag of drainedTags) {
      if (tag === FUZZ_EMERG_TAG && emergencyWrites > 0) {
        emergencyWrites--;
        continue;
      }
      const next = new Map<string, readonly [number, number]>();
      for (const [c, p] of positions) {
        // Input the device wrote into guest RAM may alias a transmit buffer in flight (a
        // driver bug, not the device's): such a byte must still fill a chain position.
        if (c >= 0 && fits(txChains[c]![p], tag)) next.set(`${c}:${p + 1}`, [c, p + 1]);
        // Or chain c ended (or was abandoned at a reset) and a later one starts here.
        for (let d = c + 1; d < Math.min(txChains.length, c + 1 + JUMP_WINDOW); d++) {
          if (fits(txChains[d]![0], tag)) next.set(`${d}:1`, [d, 1]);
        }
      }
      if (next.size === 0) {
        violations.push(
          `sddf tx received a byte tagged 0x${tag.toString(16)} that is in no valid transmit chain`,
        );
        return;
      }
      positions = [...next.values()].slice(0, 512);
    }
  };

  let executed = 0;
  for (const op of ops) {
    if (rig.device.crashed !== undefined || rig.transport.crashed !== undefined) break;
    executed++;
    try {
      wrongDirection = false;
      typed += apply(rig, op);
      if (op.op === "write" && op.offset >= 0x108 && op.offset < 0x10c) emergencyWrites++;
      if (op.op === "drain" || op.op === "notify")
        checkTx(rig.drainTx(0, op.op === "drain" ? op.max : 64).tags);
      // §5.3.6.1 violated and no reset in between: the device must be in DEVICE_NEEDS_RESET.
      const resets = op.op === "reprobe" || (op.op === "write" && op.offset === Reg.Status);
      if (hardened && wrongDirection && !resets && (rig.transport.status & 0x40) === 0) {
        violations.push(
          `operation ${executed - 1} (${op.op}): wrong-direction chain without DEVICE_NEEDS_RESET`,
        );
      }
    } catch (error) {
      violations.push(`operation ${executed - 1} (${op.op}) threw: ${String(error)}`);
      break;
    }
    if (violations.length > 0) break;
  }
  if (hardened && violations.length === 0) {
    for (let i = 0; i < 64; i++) {
      const d = rig.drainTx();
      if (d.tags.length === 0) break;
      checkTx(d.tags);
    }
    // Every RX used length fits the buffer's writable part (§2.7.8.1: never overestimate).
    const c = rig.device.counters();
    const accounted =
      c.rxBytes +
      c.rxOverflowBeforeReady +
      rig.device.heldInput() +
      rig.serial[0]!.rx.lengthConsumer();
    if (accounted !== typed && violations.length === 0) {
      violations.push(`input not conserved: typed ${typed}, accounted ${accounted}`);
    }
  }
  for (const f of rig.transport.findings) findings.add(f.defect);
  for (const f of rig.device.findings) findings.add(f.defect);
  if (rig.device.crashed !== undefined) findings.add(rig.device.crashed.defect);
  return {
    violations,
    findings,
    executed,
    crashed: rig.device.crashed !== undefined || rig.transport.crashed !== undefined,
    txBytes,
  };
}

/** Perform one operation; returns the input bytes it typed. */
function apply(rig: ConsoleRig, op: HostileOp): number {
  const t = rig.transport;
  const m = rig.memory;
  switch (op.op) {
    case "write":
      t.write(op.offset, op.width, op.value >>> 0);
      return 0;
    case "read":
      t.read(op.offset, op.width);
      return 0;
    case "desc": {
      const at = queueAddrs(op.queue).desc + 16 * (op.index % 16);
      m.write64(at, BigInt(op.addr));
      m.write32(at + 8, op.len >>> 0);
      m.write16(at + 12, op.flags & 0xffff);
      m.write16(at + 14, op.next & 0xffff);
      return 0;
    }
    case "avail": {
      const a = queueAddrs(op.queue).avail;
      m.write16(a + 4 + 2 * (op.slot % FUZZ_QUEUE_SIZE), op.head & 0xffff);
      return 0;
    }
    case "publish": {
      const a = queueAddrs(op.queue).avail;
      m.write16(a + 2, (m.read16(a + 2) + op.count) & 0xffff);
      return 0;
    }
    case "chain": {
      const q = queueAddrs(op.queue);
      op.parts.forEach((part, i) => {
        const index = (op.index + i) % FUZZ_QUEUE_SIZE;
        const at = q.desc + 16 * index;
        const last = i === op.parts.length - 1;
        // Well-formed receive buffers live apart from the transmit data, so that input the
        // device writes does not usually alias transmit buffers (hostile `desc` ops still may).
        const base = op.queue === 0 ? FUZZ_RX_BASE : FUZZ_DATA_BASE;
        m.write64(at, BigInt(base + (part.offset % (FUZZ_DATA_SIZE - part.len))));
        m.write32(at + 8, part.len);
        m.write16(at + 12, (last ? 0 : 1) | (part.writable ? 2 : 0));
        m.write16(at + 14, last ? 0 : (index + 1) % FUZZ_QUEUE_SIZE);
      });
      const idx = m.read16(q.avail + 2);
      m.write16(q.avail + 4 + 2 * (idx % FUZZ_QUEUE_SIZE), op.index % FUZZ_QUEUE_SIZE);
      m.write16(q.avail + 2, (idx + 1) & 0xffff);
      return 0;
    }
    case "notify":
      t.write(Reg.QueueNotify, 4, op.queue);
      return 0;
    case "input": {
      const bytes = Uint8Array.from({ length: Math.min(op.len, 4096) }, (_, i) => i & 0xff);
      return rig.typeInput(bytes, provenanceTag(INPUT_ORIGIN, op.len));
    }
    case "drain":
      return 0;
    case "resize":
      rig.device.resize(op.cols, op.rows);
      return 0;
    case "reprobe":
      rawProbe(rig, { size: FUZZ_QUEUE_SIZE });
      return 0;
  }
}

/** Interesting descriptor addresses: the data area mostly, the rings, outside RAM. */
export const FUZZ_ADDRESSES = [
  FUZZ_DATA_BASE,
  FUZZ_DATA_BASE + 0x100,
  FUZZ_DATA_BASE + FUZZ_DATA_SIZE - 0x10,
  FUZZ_DATA_BASE + FUZZ_DATA_SIZE,
  QUEUE_BLOCK,
  0,
  0x1000,
  RIG_RAM_BASE + RIG_RAM_SIZE - 4,
  RIG_RAM_BASE + RIG_RAM_SIZE,
  0x7fff_ffff_f000,
] as const;

/** The MMIO offsets a hostile guest hits most usefully. */
export const FUZZ_OFFSETS = [
  Reg.Status,
  Reg.QueueSel,
  Reg.QueueNum,
  Reg.QueueReady,
  Reg.QueueNotify,
  Reg.QueueDescLow,
  Reg.QueueDriverLow,
  Reg.QueueDeviceLow,
  Reg.DriverFeatures,
  Reg.DriverFeaturesSel,
  Reg.InterruptACK,
  Reg.Config,
  Reg.Config + 8,
  0x0fc,
  0x1fc,
  0x200,
] as const;

export const FUZZ_STATUS_VALUES = [
  0,
  Status.ACKNOWLEDGE,
  Status.ACKNOWLEDGE | Status.DRIVER,
  0xf,
  0x40,
  0x80,
] as const;
