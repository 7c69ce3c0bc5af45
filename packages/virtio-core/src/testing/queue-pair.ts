/**
 * A driver-side and a device-side split virtqueue over one guest RAM, driven by a
 * serialisable script (STYLE.md: a failure is a replayable list of calls). The runner checks
 * the queue contract of VirtIO 1.2 §2.7:
 * - every chain is delivered to the device once, in order, with its exact readable bytes
 *   and provenance, and comes back to the driver once, in order, with its written bytes;
 * - no lost wake-up in either direction: a driver adding to a device that re-enabled
 *   notifications kicks it (§2.7.10), and a device completing for a driver that re-enabled
 *   interrupts notifies it (§2.7.7) — the "re-enable, fence, re-check" double check.
 */
import { copyFromSegments, copyToSegments } from "../chain.js";
import { DriverVirtqueue } from "../driver-queue.js";
import { GuestMemory } from "../guest-memory.js";
import { type QueueFeatures, SplitVirtqueue, type SplitVirtqueueOptions } from "../virtqueue.js";
import { queueLayout } from "./mmio-driver.js";

export type QueuePairOp =
  /** Driver: add a chain with these buffer lengths, then decide on a kick. */
  | {
      readonly op: "add";
      readonly readable: readonly number[];
      readonly writable: readonly number[];
      readonly indirect: boolean;
    }
  /**
   * Device: if awake, run its queue loop (notifications disabled) for at most `max` chains or
   * until the ring is empty. A waiting device sleeps until kicked.
   */
  | { readonly op: "device"; readonly max: number }
  /** Device: after finding the ring empty, re-enable notifications and go to sleep. */
  | { readonly op: "arm" }
  /** Driver: collect used chains and re-enable interrupts. */
  | { readonly op: "collect" };

export interface QueuePairConfig {
  /** Queue size (a power of two). */
  readonly size: number;
  readonly features: QueueFeatures;
  /** Starting ring index (exercise the 16-bit wrap). */
  readonly startIndex: number;
}

export type QueuePairVerdict =
  | { readonly ok: true }
  | { readonly ok: false; readonly reason: string };

/** Builds the device-side queue; tests substitute planted-bug variants here. */
export type DeviceQueueFactory = (options: SplitVirtqueueOptions) => SplitVirtqueue;

const RAM_BASE = 0x4000_0000;
const ARENA = RAM_BASE + 0x40_0000;
const ARENA_SIZE = 0x40_0000;

interface Sent {
  readonly serial: number;
  readonly head: number;
  readonly readable: readonly number[];
  readonly writableAddrs: readonly { addr: number; len: number }[];
  readonly writableLength: number;
}

function readableByte(serial: number, j: number): number {
  return (serial * 31 + j * 7 + 1) & 0xff;
}

function writtenByte(serial: number, j: number): number {
  return (serial * 13 + j * 5 + 3) & 0xff;
}

/** Run `ops`, then drain both sides; returns the first contract violation. */
export function runQueuePair(
  config: QueuePairConfig,
  ops: readonly QueuePairOp[],
  makeDeviceQueue: DeviceQueueFactory = (o) => new SplitVirtqueue(o),
): QueuePairVerdict {
  const memory = new GuestMemory({
    regions: [{ base: RAM_BASE, size: 0x100_0000 }],
    provenance: true,
  });
  const layout = queueLayout(RAM_BASE, config.size);
  const geometry = { size: config.size, ...layout };
  const driver = new DriverVirtqueue({
    memory,
    geometry,
    features: config.features,
    indirectArea: layout.indirectArea,
    initialIndex: config.startIndex,
  });
  const device = makeDeviceQueue({
    memory,
    geometry,
    features: config.features,
    initialIndex: config.startIndex,
  });
  let arenaNext = 0;
  let serial = 0;
  const inFlight: Sent[] = [];
  const completed: Sent[] = [];
  let deviceWaiting = true;
  /** The device found the ring empty and is about to re-enable notifications. */
  let deviceDrained = false;
  let driverWaiting = true;
  device.enableNotification();
  driver.enableInterrupts();

  const alloc = (len: number): number => {
    if (arenaNext + len > ARENA_SIZE) arenaNext = 0;
    const addr = ARENA + arenaNext;
    arenaNext += (len + 15) & ~15;
    return addr;
  };

  const add = (op: Extract<QueuePairOp, { op: "add" }>): QueuePairVerdict => {
    const s = serial;
    const readable = op.readable.map((len) => {
      const addr = alloc(len);
      return { addr, len };
    });
    let offset = 0;
    const bytes: number[] = [];
    for (const b of readable) {
      const data = new Uint8Array(b.len);
      for (let j = 0; j < b.len; j++) data[j] = readableByte(s, offset + j);
      memory.write(b.addr, data, s + 1);
      bytes.push(...data);
      offset += b.len;
    }
    const writable = op.writable.map((len) => ({ addr: alloc(len), len }));
    const head = driver.addChain(readable, writable, {
      indirect: op.indirect && config.features.indirect,
    });
    if (typeof head !== "number") return { ok: true }; // queue full: the driver retries later
    serial++;
    inFlight.push({
      serial: s,
      head,
      readable: bytes,
      writableAddrs: writable,
      writableLength: writable.reduce((n, b) => n + b.len, 0),
    });
    const kick = driver.kickPrepare();
    if (deviceWaiting && !kick) {
      return {
        ok: false,
        reason: `lost wake-up: chain ${s} added to a waiting device without a kick`,
      };
    }
    if (kick) deviceWaiting = false;
    return { ok: true };
  };

  const deviceRun = (max: number): QueuePairVerdict => {
    if (deviceWaiting) return { ok: true };
    device.disableNotification();
    let done = 0;
    for (;;) {
      if (done >= max) return { ok: true };
      const r = device.popAvailable();
      if (r.kind === "empty") {
        deviceDrained = true;
        return { ok: true };
      }
      deviceDrained = false;
      if (r.kind !== "chain")
        return { ok: false, reason: `device: ${r.kind === "error" ? r.error.message : "crash"}` };
      const expected = inFlight.shift();
      if (expected === undefined)
        return { ok: false, reason: `device popped head ${r.chain.head} never added` };
      const chain = r.chain;
      if (chain.head !== expected.head) {
        return {
          ok: false,
          reason: `device got head ${chain.head}, expected ${expected.head} (serial ${expected.serial})`,
        };
      }
      const got = new Uint8Array(chain.readableLength);
      const tags = new Uint32Array(chain.readableLength);
      copyFromSegments(memory, chain.readable, 0, got, tags);
      if (
        got.length !== expected.readable.length ||
        got.some((b, j) => b !== expected.readable[j])
      ) {
        return { ok: false, reason: `chain ${expected.serial}: readable bytes differ` };
      }
      if (tags.some((t) => t !== expected.serial + 1)) {
        return { ok: false, reason: `chain ${expected.serial}: provenance lost` };
      }
      if (chain.writableLength !== expected.writableLength) {
        return {
          ok: false,
          reason: `chain ${expected.serial}: writable length ${chain.writableLength}`,
        };
      }
      const out = new Uint8Array(chain.writableLength);
      for (let j = 0; j < out.length; j++) out[j] = writtenByte(expected.serial, j);
      copyToSegments(memory, chain.writable, 0, out);
      const fault = device.addUsed(chain.head, out.length);
      if (fault !== undefined) return { ok: false, reason: "device: addUsed failed" };
      completed.push(expected);
      done++;
      const notify = device.needsInterrupt();
      if (driverWaiting && !notify) {
        return {
          ok: false,
          reason: `lost interrupt: chain ${expected.serial} completed for a waiting driver`,
        };
      }
      if (notify) driverWaiting = false;
    }
  };

  /** Re-enable notifications; the re-check decides between sleeping and running on. */
  const arm = (): void => {
    if (deviceWaiting || !deviceDrained) return;
    deviceDrained = false;
    if (!device.enableNotification()) deviceWaiting = true;
  };

  const collect = (): QueuePairVerdict => {
    if (driverWaiting) return { ok: true };
    driver.disableInterrupts();
    driverWaiting = false;
    for (;;) {
      const used = driver.collectUsed();
      if (!Array.isArray(used)) return { ok: false, reason: `driver: ${used.message}` };
      for (const u of used) {
        const expected = completed.shift();
        if (expected === undefined) return { ok: false, reason: `driver got head ${u.head} twice` };
        if (u.head !== expected.head || u.len !== expected.writableLength) {
          return {
            ok: false,
            reason: `driver got head ${u.head} len ${u.len}, expected chain ${expected.serial}`,
          };
        }
        let j = 0;
        for (const b of expected.writableAddrs) {
          const data = memory.read(b.addr, b.len);
          for (const byte of data) {
            if (byte !== writtenByte(expected.serial, j++)) {
              return { ok: false, reason: `chain ${expected.serial}: written bytes differ` };
            }
          }
        }
      }
      if (!driver.enableInterrupts()) {
        driverWaiting = true;
        return { ok: true };
      }
    }
  };

  for (const op of ops) {
    let verdict: QueuePairVerdict = { ok: true };
    if (op.op === "add") verdict = add(op);
    else if (op.op === "device") verdict = deviceRun(op.max);
    else if (op.op === "arm") arm();
    else verdict = collect();
    if (!verdict.ok) return verdict;
  }
  // Liveness: each side runs only while awake; with every wake-up honoured both drain.
  for (let round = 0; round < 4; round++) {
    const d = deviceRun(Number.POSITIVE_INFINITY);
    if (!d.ok) return d;
    arm();
    const c = collect();
    if (!c.ok) return c;
  }
  if (inFlight.length > 0 || completed.length > 0) {
    return {
      ok: false,
      reason: `${inFlight.length} chains never reached the device, ${completed.length} never came back`,
    };
  }
  return { ok: true };
}
