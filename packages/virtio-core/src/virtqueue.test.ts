import { describe, expect, it } from "vitest";
import {
  VIRTQ_DESC_F_INDIRECT as IND,
  VIRTQ_DESC_F_NEXT as NEXT,
  VIRTQ_DESC_F_WRITE as WRITE,
} from "./constants.js";
import { GuestMemory } from "./guest-memory.js";
import { type DefectFinding, defectsFor } from "./profile.js";
import {
  DATA_BASE,
  geometry,
  makeMemory,
  RAM_BASE,
  RAM_SIZE,
  RawRing,
} from "./testing-internal/fixtures.js";
import {
  type PopResult,
  type QueueFeatures,
  SplitVirtqueue,
  validateGeometry,
} from "./virtqueue.js";

const N = 8;

function setup(
  features: Partial<QueueFeatures> = {},
  profile: "reference" | "hardened" = "hardened",
) {
  const memory = makeMemory();
  const g = geometry(N);
  const findings: DefectFinding[] = [];
  const broken: string[] = [];
  const q = new SplitVirtqueue({
    memory,
    geometry: g,
    features,
    defects: defectsFor(profile),
    onFinding: (f) => findings.push(f),
    onBroken: (e) => broken.push(e.code),
  });
  return { memory, q, raw: new RawRing(memory, g), findings, broken };
}

function errorCode(r: PopResult): string {
  return r.kind === "error" ? r.error.code : r.kind;
}

const buf = (i: number) => DATA_BASE + 0x100 * i;

describe("SplitVirtqueue: chains (VirtIO 1.2 §2.7.4, §2.7.5)", () => {
  it("pops a chain with readable then writable segments", () => {
    const { q, raw } = setup();
    raw.desc(3, { addr: buf(0), len: 10, flags: NEXT, next: 5 });
    raw.desc(5, { addr: buf(1), len: 20, flags: NEXT | WRITE, next: 1 });
    raw.desc(1, { addr: buf(2), len: 30, flags: WRITE, next: 0 });
    raw.publish(3);
    const r = q.popAvailable();
    expect(r.kind).toBe("chain");
    if (r.kind !== "chain") return;
    expect(r.chain.head).toBe(3);
    expect(r.chain.readableLength).toBe(10);
    expect(r.chain.writableLength).toBe(50);
    expect(r.chain.writable.map((s) => s.addr)).toEqual([buf(1), buf(2)]);
    expect(q.popAvailable().kind).toBe("empty");
  });

  it("rejects a head index beyond the queue", () => {
    const { q, raw, broken } = setup();
    raw.publish(N);
    expect(errorCode(q.popAvailable())).toBe("head-index-out-of-range");
    expect(broken).toEqual(["head-index-out-of-range"]);
  });

  it("rejects a next index beyond the queue", () => {
    const { q, raw } = setup();
    raw.desc(0, { addr: buf(0), len: 1, flags: NEXT, next: N + 3 });
    raw.publish(0);
    expect(errorCode(q.popAvailable())).toBe("next-index-out-of-range");
  });

  it("stops a descriptor loop after queue-size descriptors", () => {
    const { q, raw } = setup();
    raw.desc(0, { addr: buf(0), len: 1, flags: NEXT, next: 1 });
    raw.desc(1, { addr: buf(1), len: 1, flags: NEXT, next: 0 });
    raw.publish(0);
    expect(errorCode(q.popAvailable())).toBe("chain-too-long");
  });

  it("accepts a chain of exactly queue-size descriptors", () => {
    const { q, raw } = setup();
    for (let i = 0; i < N; i++) {
      raw.desc(i, { addr: buf(i), len: 1, flags: i < N - 1 ? NEXT : 0, next: i + 1 });
    }
    raw.publish(0);
    const r = q.popAvailable();
    expect(r.kind === "chain" && r.chain.descriptorCount).toBe(N);
  });

  it("rejects a readable descriptor after a writable one (§2.7.4.2)", () => {
    const { q, raw } = setup();
    raw.desc(0, { addr: buf(0), len: 1, flags: NEXT | WRITE, next: 1 });
    raw.desc(1, { addr: buf(1), len: 1, flags: 0, next: 0 });
    raw.publish(0);
    expect(errorCode(q.popAvailable())).toBe("readable-after-writable");
  });

  it("rejects buffers outside guest ram and tables that straddle its end", () => {
    const { q, raw } = setup();
    raw.desc(0, { addr: RAM_BASE + RAM_SIZE - 4, len: 8, flags: 0, next: 0 });
    raw.publish(0);
    expect(errorCode(q.popAvailable())).toBe("descriptor-outside-ram");
    const again = setup();
    again.raw.desc(0, { addr: 2 ** 63, len: 1, flags: 0, next: 0 });
    again.raw.publish(0);
    expect(errorCode(again.q.popAvailable())).toBe("descriptor-outside-ram");
  });

  it("rejects a chain whose total length reaches 2^32", () => {
    // Needs more than 4 GiB of (sparse) RAM so that both buffers are in RAM.
    const huge = new GuestMemory({ regions: [{ base: 0, size: 2 ** 33 }] });
    const g = geometry(N, 0x1000);
    const q = new SplitVirtqueue({ memory: huge, geometry: g });
    const raw = new RawRing(huge, g);
    raw.desc(0, { addr: 0x1_0000_0000, len: 0xffff_ffff, flags: NEXT, next: 1 });
    raw.desc(1, { addr: 0x10_0000, len: 1, flags: 0, next: 0 });
    raw.publish(0);
    expect(errorCode(q.popAvailable())).toBe("chain-length-overflow");
  });

  it("keeps a broken queue broken until it is rebuilt", () => {
    const { q, raw } = setup();
    raw.publish(N + 1);
    expect(errorCode(q.popAvailable())).toBe("head-index-out-of-range");
    raw.desc(0, { addr: buf(0), len: 1, flags: 0, next: 0 });
    raw.publish(0);
    expect(errorCode(q.popAvailable())).toBe("head-index-out-of-range");
    expect(q.hasAvailable()).toBe(false);
    expect(q.addUsed(0, 0)?.kind).toBe("error");
  });
});

describe("SplitVirtqueue: indirect descriptors (§2.7.5.3)", () => {
  const TABLE = DATA_BASE + 0x4000;

  it("walks an indirect table mixing readable and writable entries", () => {
    const { q, raw } = setup({ indirect: true });
    raw.desc(0, { addr: buf(0), len: 4, flags: NEXT, next: 2 });
    raw.desc(2, { addr: TABLE, len: 48, flags: IND, next: 0 });
    raw.desc(0, { addr: buf(1), len: 5, flags: NEXT, next: 1 }, TABLE);
    raw.desc(1, { addr: buf(2), len: 6, flags: NEXT | WRITE, next: 2 }, TABLE);
    raw.desc(2, { addr: buf(3), len: 7, flags: WRITE, next: 0 }, TABLE);
    raw.publish(0);
    const r = q.popAvailable();
    expect(r.kind).toBe("chain");
    if (r.kind !== "chain") return;
    expect(r.chain.readable.map((s) => s.len)).toEqual([4, 5]);
    expect(r.chain.writable.map((s) => s.len)).toEqual([6, 7]);
    expect(r.chain.descriptorCount).toBe(5);
  });

  const cases: [string, Partial<QueueFeatures>, (raw: RawRing) => void][] = [
    [
      "indirect-not-negotiated",
      {},
      (raw) => raw.desc(0, { addr: TABLE, len: 16, flags: IND, next: 0 }),
    ],
    [
      "indirect-with-next",
      { indirect: true },
      (raw) => {
        raw.desc(0, { addr: TABLE, len: 16, flags: IND | NEXT, next: 1 });
        raw.desc(1, { addr: buf(0), len: 1, flags: 0, next: 0 });
      },
    ],
    [
      "indirect-nested",
      { indirect: true },
      (raw) => {
        raw.desc(0, { addr: TABLE, len: 16, flags: IND, next: 0 });
        raw.desc(0, { addr: TABLE + 0x100, len: 16, flags: IND, next: 0 }, TABLE);
      },
    ],
    [
      "indirect-table-size",
      { indirect: true },
      (raw) => raw.desc(0, { addr: TABLE, len: 24, flags: IND, next: 0 }),
    ],
    [
      "indirect-table-size",
      { indirect: true },
      (raw) => raw.desc(0, { addr: TABLE, len: 0, flags: IND, next: 0 }),
    ],
    [
      "chain-too-long",
      { indirect: true },
      (raw) => raw.desc(0, { addr: TABLE, len: 16 * (N + 1), flags: IND, next: 0 }),
    ],
    [
      "descriptor-outside-ram",
      { indirect: true },
      (raw) => raw.desc(0, { addr: RAM_BASE + RAM_SIZE - 16, len: 32, flags: IND, next: 0 }),
    ],
    [
      "chain-too-long",
      { indirect: true },
      (raw) => {
        raw.desc(0, { addr: TABLE, len: 32, flags: IND, next: 0 });
        raw.desc(0, { addr: buf(0), len: 1, flags: NEXT, next: 1 }, TABLE);
        raw.desc(1, { addr: buf(1), len: 1, flags: NEXT, next: 0 }, TABLE);
      },
    ],
    [
      "next-index-out-of-range",
      { indirect: true },
      (raw) => {
        raw.desc(0, { addr: TABLE, len: 32, flags: IND, next: 0 });
        raw.desc(0, { addr: buf(0), len: 1, flags: NEXT, next: 2 }, TABLE);
      },
    ],
  ];
  for (const [code, features, build] of cases) {
    it(`rejects a bad indirect descriptor with ${code}`, () => {
      const { q, raw } = setup(features);
      build(raw);
      raw.publish(0);
      expect(errorCode(q.popAvailable())).toBe(code);
    });
  }
});

describe("SplitVirtqueue: indices (§2.7.13)", () => {
  it("rejects an avail.idx more than queue-size ahead", () => {
    const { q, raw } = setup();
    raw.availIdx = N + 1;
    expect(errorCode(q.popAvailable())).toBe("avail-index-jump");
  });

  it("keeps working across the 16-bit wrap of avail.idx and used.idx", () => {
    const memory = makeMemory();
    const g = geometry(N);
    const q = new SplitVirtqueue({ memory, geometry: g, initialIndex: 0xfffa });
    const raw = new RawRing(memory, g);
    raw.availIdx = 0xfffa;
    raw.usedIdx = 0xfffa;
    raw.desc(0, { addr: buf(0), len: 1, flags: WRITE, next: 0 });
    for (let i = 0; i < 16; i++) {
      raw.publish(0);
      expect(q.popAvailable().kind).toBe("chain");
      expect(q.addUsed(0, 1)).toBeUndefined();
    }
    expect(q.lastAvailIdx.value).toBe(10);
    expect(raw.usedIdx).toBe(10);
    expect(raw.usedElem(9)).toEqual({ id: 0, len: 1 });
    expect(q.popAvailable().kind).toBe("empty");
  });

  it("writes the used element before publishing used.idx from its own shadow", () => {
    const { q, raw } = setup();
    raw.desc(2, { addr: buf(0), len: 8, flags: WRITE, next: 0 });
    raw.publish(2);
    q.popAvailable();
    raw.usedIdx = 5; // a hostile driver scribbles on the device area
    expect(q.addUsed(2, 8)).toBeUndefined();
    expect(raw.usedElem(0)).toEqual({ id: 2, len: 8 });
    expect(raw.usedIdx).toBe(1);
  });

  it("refuses a used id beyond the queue", () => {
    const { q } = setup();
    expect(q.addUsed(N, 0)).toMatchObject({
      kind: "error",
      error: { code: "used-head-out-of-range" },
    });
  });
});

describe("SplitVirtqueue: notification suppression (§2.7.7, §2.7.10)", () => {
  function useOne(q: SplitVirtqueue, raw: RawRing) {
    raw.desc(0, { addr: buf(0), len: 1, flags: WRITE, next: 0 });
    raw.publish(0);
    q.popAvailable();
    q.addUsed(0, 0);
  }

  it("honours VIRTQ_AVAIL_F_NO_INTERRUPT without EVENT_IDX", () => {
    const { q, raw } = setup();
    useOne(q, raw);
    expect(q.needsInterrupt()).toBe(true);
    expect(q.needsInterrupt()).toBe(false);
    raw.availFlags = 1;
    useOne(q, raw);
    expect(q.needsInterrupt()).toBe(false);
  });

  it("with EVENT_IDX interrupts only when used_event is crossed and ignores the flag", () => {
    const { q, raw } = setup({ eventIdx: true });
    raw.availFlags = 1;
    raw.usedEvent = 1;
    useOne(q, raw); // used idx 0 -> 1: entry 0 written, used_event 1 not reached
    expect(q.needsInterrupt()).toBe(false);
    useOne(q, raw); // entry 1 == used_event
    expect(q.needsInterrupt()).toBe(true);
    useOne(q, raw);
    useOne(q, raw); // entries 2 and 3: used_event 10 not crossed
    raw.usedEvent = 10;
    expect(q.needsInterrupt()).toBe(false);
    raw.usedEvent = 3;
    useOne(q, raw); // entry 4 written; batch [4, 5) misses 3
    expect(q.needsInterrupt()).toBe(false);
  });

  it("sets and clears VIRTQ_USED_F_NO_NOTIFY without EVENT_IDX", () => {
    const { q, raw } = setup();
    q.disableNotification();
    expect(raw.usedFlags).toBe(1);
    expect(q.enableNotification()).toBe(false);
    expect(raw.usedFlags).toBe(0);
  });

  it("with EVENT_IDX publishes avail_event and keeps used.flags 0", () => {
    const { q, raw } = setup({ eventIdx: true });
    useOne(q, raw);
    q.disableNotification();
    expect(raw.usedFlags).toBe(0);
    q.enableNotification();
    expect(raw.availEvent).toBe(1);
  });

  it("re-checks for work when notifications are re-enabled (no lost wake-up)", () => {
    const { q, raw } = setup();
    q.disableNotification();
    raw.desc(0, { addr: buf(0), len: 1, flags: 0, next: 0 });
    raw.publish(0); // published while the driver saw NO_NOTIFY: no kick will come
    expect(q.enableNotification()).toBe(true);
  });
});

describe("validateGeometry (§2.7, §2.7.1)", () => {
  const memory = makeMemory();
  const good = geometry(N);
  it("accepts a valid layout", () => {
    expect(validateGeometry(memory, good, 128)).toBeUndefined();
  });
  const cases: [string, object, number][] = [
    ["queue-size-invalid", { size: 0 }, 128],
    ["queue-size-invalid", { size: 3 }, 128],
    ["queue-size-invalid", { size: 65536 }, 65536],
    ["queue-size-above-max", { size: 16 }, 8],
    ["queue-misaligned", { descAddr: good.descAddr + 8 }, 128],
    ["queue-misaligned", { availAddr: good.availAddr + 1 }, 128],
    ["queue-misaligned", { usedAddr: good.usedAddr + 2 }, 128],
    ["queue-area-outside-ram", { descAddr: 0 }, 128],
    ["queue-area-outside-ram", { usedAddr: RAM_BASE + RAM_SIZE - 8 }, 128],
  ];
  for (const [code, change, max] of cases) {
    it(`rejects ${JSON.stringify(change)} with ${code}`, () => {
      expect(validateGeometry(memory, { ...good, ...change }, max)?.code).toBe(code);
    });
  }
});

describe("SplitVirtqueue under reference switches (libvmm virtio.c, reference §4.6)", () => {
  it("processes an avail.idx jump and reports it", () => {
    const { q, raw, findings } = setup({}, "reference");
    raw.desc(0, { addr: buf(0), len: 1, flags: 0, next: 0 });
    raw.availIdx = 300;
    expect(q.popAvailable().kind).toBe("chain");
    expect(findings.map((f) => f.defect)).toContain("availIndexUnchecked");
  });

  it("hands out a head beyond the queue as a bad chain (L5)", () => {
    const { q, raw, findings } = setup({}, "reference");
    raw.publish(N + 2);
    const r = q.popAvailable();
    expect(r.kind === "chain" && r.chain.bad && r.chain.head).toBe(N + 2);
    expect(findings.map((f) => f.defect)).toContain("headIndexUnchecked");
  });

  it("walks N + 1 descriptors of a loop before calling the chain bad", () => {
    const { q, raw, findings } = setup({}, "reference");
    raw.desc(0, { addr: buf(0), len: 1, flags: NEXT, next: 0 });
    raw.publish(0);
    const r = q.popAvailable();
    expect(r.kind === "chain" && r.chain.bad).toBe(true);
    expect(findings.map((f) => f.defect)).toContain("badChainConsumed");
  });

  it("treats INDIRECT as data and accepts readable after writable", () => {
    const { q, raw, findings } = setup({}, "reference");
    raw.desc(0, { addr: buf(0), len: 16, flags: IND | WRITE | NEXT, next: 1 });
    raw.desc(1, { addr: buf(1), len: 2, flags: 0, next: 0 });
    raw.publish(0);
    const r = q.popAvailable();
    expect(r.kind === "chain" && r.chain.totalLength).toBe(18);
    expect(findings.map((f) => f.defect)).toEqual(["indirectAsData", "orderUnchecked"]);
  });

  it("takes used.idx from guest memory", () => {
    const { q, raw, findings } = setup({}, "reference");
    raw.usedIdx = 5;
    q.addUsed(0, 0);
    expect(raw.usedIdx).toBe(6);
    expect(raw.usedElem(5).id).toBe(0);
    expect(findings.map((f) => f.defect)).toContain("usedIdxFromGuest");
  });

  it("ignores suppression hints and never writes used.flags", () => {
    const { q, raw } = setup({ eventIdx: true }, "reference");
    raw.availFlags = 1;
    raw.usedEvent = 100;
    q.addUsed(0, 0);
    expect(q.needsInterrupt()).toBe(true);
    q.disableNotification();
    expect(raw.usedFlags).toBe(0);
  });

  it("reports a crash for a ring outside guest ram (L2)", () => {
    const memory = makeMemory();
    const crashes: DefectFinding[] = [];
    const q = new SplitVirtqueue({
      memory,
      geometry: { size: 8, descAddr: 0, availAddr: 0, usedAddr: 0 },
      defects: defectsFor("reference"),
      onCrash: (f) => crashes.push(f),
    });
    expect(q.popAvailable().kind).toBe("crash");
    expect(crashes[0]?.impact).toBe("vmm-crash");
  });

  it("crashes instead of walking when a huge QueueNum puts the areas beyond ram (L3 then L2)", () => {
    const memory = makeMemory();
    const crashes: DefectFinding[] = [];
    const q = new SplitVirtqueue({
      memory,
      geometry: { ...geometry(N), size: 0x10_0000 },
      defects: defectsFor("reference"),
      onCrash: (f) => crashes.push(f),
    });
    expect(q.popAvailable().kind).toBe("crash");
    expect(crashes[0]?.message).toContain("driver area");
  });

  it("hands out a buffer outside guest ram marked as such (L2)", () => {
    const { q, raw, findings } = setup({}, "reference");
    raw.desc(0, { addr: 0x1000, len: 4, flags: 0, next: 0 });
    raw.publish(0);
    const r = q.popAvailable();
    expect(r.kind === "chain" && r.chain.segments[0]?.inRam).toBe(false);
    expect(findings[0]?.defect).toBe("uncheckedGuestAddresses");
  });
});
