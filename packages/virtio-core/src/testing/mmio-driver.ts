/**
 * A minimal Linux-like virtio-mmio driver for tests: the probe and queue setup sequence of
 * reference virtio §5.1 (steps 1–10) through any register-access function, returning
 * driver-side queues laid out in guest RAM.
 */
import { Feature, featureBit, MMIO_MAGIC, Reg, Status } from "../constants.js";
import { DriverVirtqueue } from "../driver-queue.js";
import type { GuestMemory } from "../guest-memory.js";

/** How a driver reaches the device's registers (a transport, or a VMM's fault path). */
export interface MmioAccess {
  read(offset: number, width: 1 | 2 | 4 | 8): number;
  write(offset: number, width: 1 | 2 | 4 | 8, value: number): void;
}

export interface ProbeOptions {
  /** Features the driver wants; it accepts their intersection with the offer. */
  readonly wanted?: bigint;
  /** Size of each queue to set up (clamped to QueueNumMax). */
  readonly queueSize?: number;
  /** Number of queues to set up. */
  readonly queueCount: number;
  /** Set DRIVER_OK at the end (default true). */
  readonly driverOk?: boolean;
  /** Guest-physical base of the queue memory; queues follow each other (see `queueBlockSize`). */
  readonly queueBase: number;
}

export interface ProbeResult {
  readonly ok: boolean;
  /** Why the probe stopped, if it did. */
  readonly reason?: string;
  readonly features: bigint;
  readonly queues: DriverVirtqueue[];
}

/** Offsets of the areas inside one queue's block: desc, avail, used (page-aligned, as Linux). */
export function queueLayout(base: number, size: number) {
  const descAddr = base;
  const availAddr = base + 16 * size;
  const usedAddr = Math.ceil((availAddr + 6 + 2 * size) / 4096) * 4096;
  const indirectArea = Math.ceil((usedAddr + 6 + 8 * size) / 4096) * 4096;
  return { descAddr, availAddr, usedAddr, indirectArea };
}

/** Bytes one queue of `size` entries takes: areas, then one indirect table slot per head. */
export function queueBlockSize(size: number): number {
  const { indirectArea } = queueLayout(0, size);
  return Math.ceil((indirectArea + 16 * size * size) / 4096) * 4096;
}

/** Probe the device and set up `queueCount` queues; stops where Linux would give up. */
export function probe(mmio: MmioAccess, memory: GuestMemory, options: ProbeOptions): ProbeResult {
  const fail = (reason: string): ProbeResult => ({ ok: false, reason, features: 0n, queues: [] });
  if (mmio.read(Reg.MagicValue, 4) !== MMIO_MAGIC) return fail("bad magic");
  if (mmio.read(Reg.Version, 4) !== 2) return fail("not version 2");
  if (mmio.read(Reg.DeviceID, 4) === 0) return fail("placeholder device");
  mmio.read(Reg.VendorID, 4);
  mmio.write(Reg.Status, 4, 0);
  let status = mmio.read(Reg.Status, 4);
  mmio.write(Reg.Status, 4, status | Status.ACKNOWLEDGE);
  status = mmio.read(Reg.Status, 4);
  mmio.write(Reg.Status, 4, status | Status.DRIVER);
  mmio.write(Reg.DeviceFeaturesSel, 4, 1);
  const high = mmio.read(Reg.DeviceFeatures, 4);
  mmio.write(Reg.DeviceFeaturesSel, 4, 0);
  const low = mmio.read(Reg.DeviceFeatures, 4);
  const offered = (BigInt(high) << 32n) | BigInt(low);
  const wanted = options.wanted ?? featureBit(Feature.VERSION_1);
  const features = offered & (wanted | featureBit(Feature.VERSION_1));
  if ((features & featureBit(Feature.VERSION_1)) === 0n) return fail("no VERSION_1");
  mmio.write(Reg.DriverFeaturesSel, 4, 1);
  mmio.write(Reg.DriverFeatures, 4, Number(features >> 32n));
  mmio.write(Reg.DriverFeaturesSel, 4, 0);
  mmio.write(Reg.DriverFeatures, 4, Number(features & 0xffff_ffffn));
  status = mmio.read(Reg.Status, 4);
  mmio.write(Reg.Status, 4, status | Status.FEATURES_OK);
  if ((mmio.read(Reg.Status, 4) & Status.FEATURES_OK) === 0) {
    return fail("device refuses features");
  }
  const queues: DriverVirtqueue[] = [];
  let base = options.queueBase;
  for (let q = 0; q < options.queueCount; q++) {
    mmio.write(Reg.QueueSel, 4, q);
    if (mmio.read(Reg.QueueReady, 4) !== 0) return fail(`queue ${q} already ready`);
    const max = mmio.read(Reg.QueueNumMax, 4);
    if (max === 0) return fail(`queue ${q} absent`);
    const size = Math.min(max, options.queueSize ?? max);
    const layout = queueLayout(base, size);
    base += queueBlockSize(size);
    const queue = new DriverVirtqueue({
      memory,
      geometry: { size, ...layout },
      features: {
        eventIdx: (features & featureBit(Feature.EVENT_IDX)) !== 0n,
        indirect: (features & featureBit(Feature.INDIRECT_DESC)) !== 0n,
      },
      indirectArea: layout.indirectArea,
    });
    mmio.write(Reg.QueueNum, 4, size);
    writeAddress(mmio, Reg.QueueDescLow, layout.descAddr);
    writeAddress(mmio, Reg.QueueDriverLow, layout.availAddr);
    writeAddress(mmio, Reg.QueueDeviceLow, layout.usedAddr);
    mmio.write(Reg.QueueReady, 4, 1);
    queues.push(queue);
  }
  if (options.driverOk !== false) {
    status = mmio.read(Reg.Status, 4);
    mmio.write(Reg.Status, 4, status | Status.DRIVER_OK);
  }
  return { ok: true, features, queues };
}

function writeAddress(mmio: MmioAccess, low: number, addr: number): void {
  mmio.write(low, 4, addr % 0x1_0000_0000);
  mmio.write(low + 4, 4, Math.floor(addr / 0x1_0000_0000));
}
