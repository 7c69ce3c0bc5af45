/**
 * Fixtures for this package's own tests: a small guest RAM and a raw ring writer that lets a
 * test (or a hostile guest) put arbitrary bytes in the descriptor table and rings.
 */
import { type Descriptor, writeDescriptor } from "../descriptor.js";
import { GuestMemory } from "../guest-memory.js";
import { VirtioMmioTransport } from "../mmio.js";
import type { DefectSwitches, Profile } from "../profile.js";
import { LoopbackDevice, type LoopbackDeviceOptions } from "../testing/loopback.js";
import type { QueueGeometry } from "../virtqueue.js";

/** Guest RAM of the tests: 1 MiB at 0x4000_0000, as libvmm's example places RAM. */
export const RAM_BASE = 0x4000_0000;
export const RAM_SIZE = 0x10_0000;

export function makeMemory(provenance = false): GuestMemory {
  return new GuestMemory({ regions: [{ base: RAM_BASE, size: RAM_SIZE }], provenance });
}

/** A queue geometry inside the test RAM: desc, avail, used one after another. */
export function geometry(size: number, base = RAM_BASE): QueueGeometry {
  return {
    size,
    descAddr: base,
    availAddr: base + 16 * size,
    usedAddr: Math.ceil((base + 16 * size + 6 + 2 * size) / 4) * 4,
  };
}

/** Data buffers start here. */
export const DATA_BASE = RAM_BASE + 0x8_0000;

/** Raw writes into a queue's areas, bypassing any driver logic. */
export class RawRing {
  constructor(
    readonly memory: GuestMemory,
    readonly g: QueueGeometry,
  ) {}

  desc(index: number, d: Descriptor, table = this.g.descAddr): void {
    writeDescriptor(this.memory, table + 16 * index, d);
  }

  /** Put `head` at avail slot `slot` (mod size). */
  availSlot(slot: number, head: number): void {
    this.memory.write16(this.g.availAddr + 4 + 2 * (slot % this.g.size), head);
  }

  set availIdx(value: number) {
    this.memory.write16(this.g.availAddr + 2, value & 0xffff);
  }

  get availIdx(): number {
    return this.memory.read16(this.g.availAddr + 2);
  }

  set availFlags(value: number) {
    this.memory.write16(this.g.availAddr, value);
  }

  set usedEvent(value: number) {
    this.memory.write16(this.g.availAddr + 4 + 2 * this.g.size, value);
  }

  get usedIdx(): number {
    return this.memory.read16(this.g.usedAddr + 2);
  }

  set usedIdx(value: number) {
    this.memory.write16(this.g.usedAddr + 2, value);
  }

  get usedFlags(): number {
    return this.memory.read16(this.g.usedAddr);
  }

  get availEvent(): number {
    return this.memory.read16(this.g.usedAddr + 4 + 8 * this.g.size);
  }

  usedElem(slot: number): { id: number; len: number } {
    const at = this.g.usedAddr + 4 + 8 * (slot % this.g.size);
    return { id: this.memory.read32(at), len: this.memory.read32(at + 4) };
  }

  /** Publish one chain head at the current avail index and bump it. */
  publish(head: number): void {
    const idx = this.availIdx;
    this.availSlot(idx, head);
    this.availIdx = idx + 1;
  }
}

/** Queue memory of the transport tests. */
export const QUEUE_BASE = RAM_BASE + 0x1_0000;

/** A transport with a loopback device and a recording interrupt line. */
export function rig(
  profile: Profile = "hardened",
  overrides: Partial<DefectSwitches> = {},
  device: LoopbackDeviceOptions = {},
) {
  const memory = makeMemory(true);
  const loopback = new LoopbackDevice(device);
  const irq = { raised: 0, lowered: 0, accept: true };
  const t = new VirtioMmioTransport({
    device: loopback,
    memory,
    profile,
    defects: overrides,
    interrupt: {
      raise: () => {
        irq.raised++;
        return irq.accept;
      },
      lower: () => {
        irq.lowered++;
      },
    },
  });
  return { memory, device: loopback, t, irq };
}
