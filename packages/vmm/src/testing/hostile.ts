/**
 * A hostile guest driven by a serialisable script (STYLE.md: fuzz inputs are a list of calls,
 * so a failure is a replayable script): register reads and writes anywhere in the virtio-mmio
 * window at any width, accesses outside it, random words written over its own rings and
 * descriptors, kicks — optionally after a real probe so the queues are live.
 */
import { type GuestProgram, type GuestStep, type VcpuContext, work } from "@vmmux/microkit-pd";
import { LinuxConsoleDriver } from "@vmmux/virtio-console";
import type { GuestMemory } from "@vmmux/virtio-core";
import fc from "fast-check";
import { VcpuMmio } from "../guest/vcpu-mmio.js";
import { sharedGuestMemory } from "../guest-ram.js";
import { DEFAULT_VIRTIO_BASE } from "../vmm.js";

export type HostileOp =
  | { readonly op: "read"; readonly offset: number; readonly width: 1 | 2 | 4 | 8 }
  | {
      readonly op: "write";
      readonly offset: number;
      readonly width: 1 | 2 | 4 | 8;
      readonly value: number;
    }
  /** An access outside every device window. */
  | { readonly op: "far"; readonly address: number; readonly write: boolean }
  /** A u32 written into guest RAM at `offset` from the driver heap (rings, descriptors, buffers). */
  | { readonly op: "ram"; readonly offset: number; readonly value: number }
  | { readonly op: "kick"; readonly queue: number };

export interface HostileScript {
  /** Run Linux's probe first, so rings exist and the device is live. */
  readonly probe: boolean;
  readonly ops: readonly HostileOp[];
}

/** Heap offset the Linux driver model allocates from (RAM base + 1 MiB). */
const HEAP_OFFSET = 0x10_0000;

export class HostileGuest implements GuestProgram {
  /** Ops completed; equals `ops.length` when every exit was answered. */
  completed = 0;
  finished = false;

  constructor(
    readonly script: HostileScript,
    private readonly ramRegion: string,
    private readonly base = DEFAULT_VIRTIO_BASE,
  ) {}

  *run(vcpu: VcpuContext): GuestStep {
    const region = vcpu.memory(this.ramRegion);
    const memory: GuestMemory = sharedGuestMemory(region, region.vaddr);
    const heap = region.vaddr + HEAP_OFFSET;
    if (this.script.probe) {
      const driver = new LinuxConsoleDriver({
        mmio: new VcpuMmio(vcpu),
        base: this.base,
        memory,
        heap: { base: heap, size: 0x20_0000 },
        interruptPending: () => false,
      });
      yield* driver.probe();
    }
    for (const op of this.script.ops) {
      yield* this.apply(vcpu, memory, heap, op);
      this.completed++;
      yield work("ns", 100);
      // One interrupt per op: a level line it never acks re-fires on every EOI (a storm).
      const irq = vcpu.takeIrq();
      if (irq !== undefined) yield* vcpu.eoi(irq);
    }
    this.finished = true;
    for (;;) {
      yield work("ns", 1000);
      yield* vcpu.wfi();
    }
  }

  private *apply(vcpu: VcpuContext, memory: GuestMemory, heap: number, op: HostileOp): GuestStep {
    switch (op.op) {
      case "read":
        yield* vcpu.mmioRead(this.base + op.offset, op.width);
        return;
      case "write":
        yield* vcpu.mmioWrite(this.base + op.offset, op.width, op.value);
        return;
      case "far":
        if (op.write) yield* vcpu.mmioWrite(op.address, 4, 0xdead_beef);
        else yield* vcpu.mmioRead(op.address, 4);
        return;
      case "ram":
        if (memory.contains(heap + op.offset, 4)) memory.write32(heap + op.offset, op.value);
        return;
      case "kick":
        yield* vcpu.mmioWrite(this.base + 0x50, 4, op.queue);
        return;
    }
  }
}

const width = fc.constantFrom<1 | 2 | 4 | 8>(4, 4, 4, 1, 2, 8);
/** Mostly real register offsets, some anywhere in (and just past) the window. */
const offset = fc.oneof(
  fc.constantFrom(
    0x0,
    0x10,
    0x14,
    0x20,
    0x24,
    0x30,
    0x34,
    0x38,
    0x44,
    0x50,
    0x60,
    0x64,
    0x70,
    0x80,
    0x84,
    0x90,
    0xa0,
    0xfc,
    0x100,
  ),
  fc.integer({ min: 0, max: 0x1ff }),
);
const value = fc.oneof(
  fc.constantFrom(0, 1, 2, 3, 0xb, 0xf, 0x40, 0x80, 128, 0xffff_ffff, 0x4000_0000, 0x4010_0000),
  fc.nat({ max: 0xffff_ffff }),
);

/** One hostile operation. */
export const hostileOpArb: fc.Arbitrary<HostileOp> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ op: fc.constant("read" as const), offset, width }) },
  { weight: 4, arbitrary: fc.record({ op: fc.constant("write" as const), offset, width, value }) },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant("far" as const),
      address: fc.oneof(fc.constant(0x900_0000), fc.nat({ max: 0x3fff_ffff })),
      write: fc.boolean(),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant("ram" as const),
      offset: fc.oneof(
        // The Linux model's ring layout: rx desc 0x0000 / avail 0x0800, tx desc 0x2000 / avail 0x2800.
        fc.constantFrom(0x0800, 0x0804, 0x2000, 0x2004, 0x2008, 0x200c, 0x2800, 0x2804),
        fc.integer({ min: 0, max: 0x3fff }).map((n) => n & ~3),
      ),
      value: fc.oneof(value, fc.constantFrom(0x0001_0000, 0x0002_0000, 0x00ff_0000, 0x0000_ffff)),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant("kick" as const),
      queue: fc.constantFrom(0, 1, 2, 0xffff),
    }),
  },
);

/** Ring and descriptor corruption of a live device, with kicks (no register chaos). */
const corruptionOpArb: fc.Arbitrary<HostileOp> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant("ram" as const),
      // Transmit descriptor 0 (addr, len, flags|next) and the transmit avail ring (flags|idx, ring).
      offset: fc.constantFrom(0x2000, 0x2004, 0x2008, 0x200c, 0x2800, 0x2804),
      value: fc.oneof(
        value,
        fc.integer({ min: 1, max: 0x200 }).map((idx) => (idx << 16) >>> 0),
      ),
    }),
  },
  { weight: 1, arbitrary: hostileOpArb.filter((op) => op.op === "ram") },
  {
    weight: 2,
    arbitrary: fc.record({ op: fc.constant("kick" as const), queue: fc.constantFrom(1, 1, 0, 2) }),
  },
);

/** A hostile script: register chaos (with or without a probe first), or ring corruption after a probe. */
export const hostileScriptArb: fc.Arbitrary<HostileScript> = fc.oneof(
  fc.record({ probe: fc.boolean(), ops: fc.array(hostileOpArb, { minLength: 1, maxLength: 40 }) }),
  fc.record({
    probe: fc.constant(true),
    ops: fc.array(corruptionOpArb, { minLength: 1, maxLength: 16 }),
  }),
);
