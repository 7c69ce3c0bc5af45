/**
 * Hostile inputs beyond the fuzzer (reference virtio §6.3): malformed numbers, odd widths,
 * rings that alias each other, index jumps, self-referencing indirect tables and huge lengths.
 * Nothing may throw out of the transport or the queue, touch memory outside guest RAM (the
 * only door to it, GuestMemory, throws on that) or loop without bound.
 */
import { describe, expect, it } from "vitest";
import {
  VIRTQ_DESC_F_INDIRECT as IND,
  MMIO_MAGIC,
  VIRTQ_DESC_F_NEXT as NEXT,
  Reg,
  Status,
  VIRTQ_DESC_F_WRITE as WRITE,
} from "./constants.js";
import { GuestMemoryError } from "./errors.js";
import type { MmioWidth } from "./mmio.js";
import { defectsFor, type Profile } from "./profile.js";
import { probe } from "./testing/mmio-driver.js";
import {
  DATA_BASE,
  geometry,
  makeMemory,
  QUEUE_BASE,
  RAM_BASE,
  RAM_SIZE,
  RawRing,
  rig,
} from "./testing-internal/fixtures.js";
import { type PopResult, SplitVirtqueue } from "./virtqueue.js";

const PROFILES: Profile[] = ["hardened", "reference"];
const BAD_NUMBERS = [Number.NaN, -1, -4096, 2 ** 53, 2 ** 64, Number.POSITIVE_INFINITY, 0.5];
const WIDTHS = [1, 2, 3, 4, 8, 0, Number.NaN] as MmioWidth[];

function liveRig(profile: Profile) {
  const r = rig(profile, {}, { queueMaxSize: 8 });
  const result = probe(r.t, r.memory, { queueCount: 2, queueSize: 8, queueBase: QUEUE_BASE });
  expect(result.ok).toBe(true);
  return { ...r, queues: result.queues };
}

function isU32(v: number): boolean {
  return Number.isInteger(v) && v >= 0 && v <= 0xffff_ffff;
}

describe("transport: every offset and width, malformed numbers (reference virtio §2.5, §6.3)", () => {
  for (const profile of PROFILES) {
    it(`${profile}: answers every access at 0x000..0x203 of widths 1, 2, 3, 4, 8, 0, NaN without throwing`, () => {
      const { t } = liveRig(profile);
      let answered = 0;
      const wrong: string[] = [];
      for (let offset = 0; offset <= 0x203; offset++) {
        for (const width of WIDTHS) {
          const read = t.readAccess(offset, width);
          if (!isU32(read.value)) wrong.push(`read ${offset}/${width} = ${read.value}`);
          for (const value of [0, 1, 0xffff_ffff, ...BAD_NUMBERS]) {
            const reply = t.writeAccess(offset, width, value);
            // The spec-correct device always resumes the vCPU (§2.5).
            if (reply.value !== 0 || (profile === "hardened" && !reply.resume)) {
              wrong.push(`write ${offset}/${width} <- ${value}: ${JSON.stringify(reply)}`);
            }
          }
          answered++;
        }
      }
      expect(wrong.slice(0, 5)).toEqual([]);
      expect(answered).toBe(0x204 * WIDTHS.length);
    });

    it(`${profile}: answers accesses at NaN, negative, 2^53 and infinite offsets`, () => {
      const { t } = liveRig(profile);
      for (const offset of BAD_NUMBERS) {
        for (const width of WIDTHS) {
          expect(t.readAccess(offset, width).value).toBe(0);
          expect(t.writeAccess(offset, width, 1).value).toBe(0);
        }
      }
      // The device still works afterwards.
      expect(t.read(Reg.MagicValue, 4)).toBe(MMIO_MAGIC);
    });
  }

  it("hardened: refuses width 3 and 8 at every register with a logged error, and keeps state", () => {
    const { t } = liveRig("hardened");
    const before = t.status;
    for (let offset = 0; offset < 0x100; offset += 4) {
      for (const width of [3, 8] as MmioWidth[]) {
        const reply = t.writeAccess(offset, width, 0);
        expect(reply.error?.code).toMatch(/^mmio-(wrong-width|bad-offset)$/);
      }
    }
    expect(t.status).toBe(before);
  });

  for (const profile of PROFILES) {
    it(`${profile}: queue registers given 2^32-1 sizes and all-ones addresses never reach outside ram`, () => {
      const { t } = rig(profile, {}, { queueMaxSize: 8 });
      probe(t, t.memory, { queueCount: 0, queueBase: QUEUE_BASE, driverOk: false });
      for (const [offset, value] of [
        [Reg.QueueNum, 0xffff_ffff],
        [Reg.QueueDescLow, 0xffff_fff0],
        [Reg.QueueDescHigh, 0xffff_ffff],
        [Reg.QueueDriverHigh, 0xffff_ffff],
        [Reg.QueueDeviceHigh, 0xffff_ffff],
      ] as const) {
        for (const sel of [0, 1]) {
          t.write(Reg.QueueSel, 4, sel);
          t.write(offset, 4, value);
        }
      }
      for (const sel of [0, 1]) {
        t.write(Reg.QueueSel, 4, sel);
        t.write(Reg.QueueReady, 4, 1);
      }
      t.write(Reg.Status, 4, t.read(Reg.Status, 4) | Status.DRIVER_OK);
      expect(() => {
        t.writeAccess(Reg.QueueNotify, 4, 0);
        t.writeAccess(Reg.QueueNotify, 4, 1);
      }).not.toThrow();
      if (profile === "hardened") {
        expect(t.status & Status.DEVICE_NEEDS_RESET).toBe(Status.DEVICE_NEEDS_RESET);
        expect(t.queueReady(0)).toBe(false);
      } else {
        // libvmm dereferences the unmapped ring (L2): the modelled VMM is dead, reported.
        expect(t.crashed?.defect).toBe("uncheckedGuestAddresses");
      }
    });
  }
});

describe("queue: hostile rings and chains (reference virtio §1.9, §6.3)", () => {
  const N = 8;

  function queue(profile: Profile, g = geometry(N), indirect = true) {
    const memory = makeMemory();
    const q = new SplitVirtqueue({
      memory,
      geometry: g,
      features: { indirect, eventIdx: true },
      defects: defectsFor(profile),
    });
    return { memory, q, raw: new RawRing(memory, g) };
  }

  function drain(q: SplitVirtqueue, limit: number): PopResult[] {
    const results: PopResult[] = [];
    for (let i = 0; i < limit; i++) {
      const r = q.popAvailable();
      results.push(r);
      if (r.kind !== "chain") break;
    }
    return results;
  }

  const code = (r: PopResult | undefined) =>
    r?.kind === "error" ? r.error.code : (r?.kind ?? "none");

  for (const profile of PROFILES) {
    it(`${profile}: a descriptor table that aliases the avail ring is walked with bounded work`, () => {
      const g = geometry(N);
      const { q, raw } = queue(profile, { ...g, descAddr: g.availAddr - 16 });
      for (let i = 0; i < N; i++) raw.publish(i);
      const results = drain(q, 10 * N);
      expect(results.length).toBeLessThanOrEqual(N + 1);
    });

    it(`${profile}: a descriptor table that aliases the used ring survives the device's own used writes`, () => {
      const g = geometry(N);
      const { q, raw, memory } = queue(profile, { ...g, descAddr: g.usedAddr });
      raw.desc(0, { addr: DATA_BASE, len: 4, flags: 0, next: 0 });
      raw.publish(0);
      const first = q.popAvailable();
      expect(first.kind).toBe("chain");
      // The used element overwrites descriptor 0: the device must not re-read it for this chain.
      q.addUsed(0, 0);
      // Hardened publishes from its shadow; libvmm reads used.idx back from the aliased bytes.
      if (profile === "hardened") expect(memory.read16(g.usedAddr + 2)).toBe(1);
      raw.publish(0);
      expect(() => drain(q, 4)).not.toThrow();
    });

    it(`${profile}: an avail.idx jump of 0xFFFF is refused or processed with bounded work`, () => {
      const { q, raw } = queue(profile);
      raw.desc(0, { addr: DATA_BASE, len: 1, flags: 0, next: 0 });
      raw.availIdx = 0xffff;
      const results = drain(q, 0x1_0000);
      if (profile === "hardened") {
        expect(code(results[0])).toBe("avail-index-jump");
        expect(results).toHaveLength(1);
      } else {
        // libvmm reprocesses every stale slot: 65535 chains, then the queue is empty.
        expect(results).toHaveLength(0x1_0000);
        expect(code(results.at(-1))).toBe("empty");
      }
    });

    it(`${profile}: an indirect table that points at itself ends the walk`, () => {
      const { q, raw } = queue(profile);
      const table = DATA_BASE;
      raw.desc(0, { addr: table, len: 16 * 2, flags: IND, next: 0 });
      raw.desc(0, { addr: table, len: 16 * 2, flags: IND, next: 0 }, table);
      raw.desc(1, { addr: DATA_BASE + 0x100, len: 4, flags: 0, next: 0 }, table);
      raw.publish(0);
      const r = q.popAvailable();
      if (profile === "hardened") expect(code(r)).toBe("indirect-nested");
      else expect(r.kind).toBe("chain"); // libvmm: INDIRECT is data (L15)
    });

    it(`${profile}: an indirect table that is the descriptor table itself ends the walk`, () => {
      const { q, raw } = queue(profile);
      const g = geometry(N);
      raw.desc(0, { addr: g.descAddr, len: 16 * N, flags: IND, next: 0 });
      raw.publish(0);
      const r = q.popAvailable();
      if (profile === "hardened") expect(code(r)).toBe("indirect-nested");
      else expect(r.kind).toBe("chain");
    });

    it(`${profile}: a looping indirect table is cut after its own length`, () => {
      const { q, raw } = queue(profile);
      const table = DATA_BASE;
      raw.desc(0, { addr: table, len: 16 * 4, flags: IND, next: 0 });
      for (let i = 0; i < 4; i++) {
        raw.desc(i, { addr: DATA_BASE + 0x100, len: 1, flags: NEXT, next: (i + 1) % 4 }, table);
      }
      raw.publish(0);
      const r = q.popAvailable();
      if (profile === "hardened") expect(code(r)).toBe("chain-too-long");
      else expect(r.kind).toBe("chain");
    });

    it(`${profile}: a 2^32-1 byte buffer is never read or written`, () => {
      const { q, raw } = queue(profile);
      raw.desc(0, { addr: DATA_BASE, len: 0xffff_ffff, flags: WRITE, next: 0 });
      raw.publish(0);
      const r = q.popAvailable();
      if (profile === "hardened") {
        expect(code(r)).toBe("descriptor-outside-ram");
      } else {
        expect(r.kind).toBe("chain");
        if (r.kind === "chain") expect(r.chain.segments[0]?.inRam).toBe(false);
      }
    });

    it(`${profile}: two 2^31 buffers are refused or reported, never summed into a small length`, () => {
      const { q, raw } = queue(profile);
      raw.desc(0, { addr: DATA_BASE, len: 0x8000_0000, flags: NEXT, next: 1 });
      raw.desc(1, { addr: DATA_BASE, len: 0x8000_0000, flags: 0, next: 0 });
      raw.publish(0);
      const r = q.popAvailable();
      if (profile === "hardened") expect(r.kind).toBe("error");
      else if (r.kind === "chain") expect(r.chain.totalLength).toBe(2 ** 32);
    });

    it(`${profile}: descriptor addresses of 2^53 and above and ring geometry of NaN never throw`, () => {
      const { q, raw, memory } = queue(profile);
      memory.write32(RAM_BASE + 4, 0x20_0000); // addr high word: 2^53
      memory.write32(RAM_BASE + 8, 16);
      raw.publish(0);
      expect(() => q.popAvailable()).not.toThrow();
      const weird = new SplitVirtqueue({
        memory,
        geometry: { size: N, descAddr: Number.NaN, availAddr: -2, usedAddr: 2 ** 53 },
        defects: defectsFor(profile),
      });
      expect(() => {
        weird.popAvailable();
        weird.addUsed(0, Number.NaN);
        weird.needsInterrupt();
        weird.enableNotification();
        weird.disableNotification();
      }).not.toThrow();
    });
  }

  it("rejects NaN, negative and 2^53 geometry at configure time", () => {
    const memory = makeMemory();
    for (const bad of [Number.NaN, -16, 2 ** 53, RAM_BASE + RAM_SIZE]) {
      const g = { ...geometry(N), descAddr: bad };
      expect(SplitVirtqueue.configure({ memory, geometry: g })).toBeInstanceOf(Error);
    }
    for (const size of [Number.NaN, -8, 0, 3, 2 ** 53]) {
      const g = { ...geometry(8), size };
      expect(SplitVirtqueue.configure({ memory, geometry: g })).toBeInstanceOf(Error);
    }
  });
});

describe("guest memory: malformed addresses and lengths", () => {
  it("contains() is false and accessors throw only the typed error", () => {
    const memory = makeMemory();
    for (const addr of [Number.NaN, -1, 2 ** 53, Number.POSITIVE_INFINITY, RAM_BASE + 0.5]) {
      expect(memory.contains(addr, 1)).toBe(false);
      expect(() => memory.read8(addr)).toThrow(GuestMemoryError);
      expect(() => memory.write32(addr, 1)).toThrow(GuestMemoryError);
    }
    for (const len of [Number.NaN, -1, 2 ** 53, 0xffff_ffff]) {
      expect(memory.contains(RAM_BASE, len)).toBe(false);
      expect(() => memory.read(RAM_BASE, len)).toThrow(GuestMemoryError);
      expect(() => memory.fill(RAM_BASE, len)).toThrow(GuestMemoryError);
    }
  });
});
