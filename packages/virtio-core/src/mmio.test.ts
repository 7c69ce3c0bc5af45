import { describe, expect, it } from "vitest";
import { Feature, featureBit, MMIO_MAGIC, Reg, Status } from "./constants.js";
import { probe } from "./testing/mmio-driver.js";
import { DATA_BASE, QUEUE_BASE, rig } from "./testing-internal/fixtures.js";

const VERSION_1 = featureBit(Feature.VERSION_1);

function initTo(t: ReturnType<typeof rig>["t"], statusSteps: number[]) {
  t.write(Reg.Status, 4, 0);
  for (const s of statusSteps) t.write(Reg.Status, 4, s);
}

function acceptFeatures(t: ReturnType<typeof rig>["t"], features: bigint) {
  t.write(Reg.DriverFeaturesSel, 4, 1);
  t.write(Reg.DriverFeatures, 4, Number(features >> 32n));
  t.write(Reg.DriverFeaturesSel, 4, 0);
  t.write(Reg.DriverFeatures, 4, Number(features & 0xffff_ffffn));
}

describe("virtio-mmio v2: identification and the initialisation sequence (§4.2.3.1, §3.1.1)", () => {
  it("answers magic, version, device id and vendor id", () => {
    const { t, device } = rig();
    expect(t.read(Reg.MagicValue, 4)).toBe(MMIO_MAGIC);
    expect(t.read(Reg.Version, 4)).toBe(2);
    expect(t.read(Reg.DeviceID, 4)).toBe(device.deviceId);
    expect(t.read(Reg.VendorID, 4)).toBe(device.vendorId);
  });

  it("offers feature words through DeviceFeaturesSel", () => {
    const { t, device } = rig();
    t.write(Reg.DeviceFeaturesSel, 4, 1);
    expect(t.read(Reg.DeviceFeatures, 4)).toBe(Number(device.features >> 32n));
    t.write(Reg.DeviceFeaturesSel, 4, 0);
    expect(t.read(Reg.DeviceFeatures, 4)).toBe(Number(device.features & 0xffff_ffffn));
    t.write(Reg.DeviceFeaturesSel, 4, 7);
    expect(t.read(Reg.DeviceFeatures, 4)).toBe(0);
  });

  it("completes a Linux-like probe and moves bytes through the queue pair", () => {
    const { t, memory, device, irq } = rig();
    const result = probe(t, memory, { queueCount: 2, queueSize: 16, queueBase: QUEUE_BASE });
    expect(result.ok).toBe(true);
    expect(t.status).toBe(
      Status.ACKNOWLEDGE | Status.DRIVER | Status.FEATURES_OK | Status.DRIVER_OK,
    );
    expect(t.negotiatedFeatures).toBe(VERSION_1);
    const [tx, rx] = result.queues;
    memory.write(DATA_BASE, new TextEncoder().encode("hello"), 0x77);
    rx!.addChain([], [{ addr: DATA_BASE + 0x1000, len: 64 }]);
    tx!.addChain([{ addr: DATA_BASE, len: 5 }], []);
    expect(tx!.kickPrepare()).toBe(true);
    t.write(Reg.QueueNotify, 4, 0);
    expect(tx!.collectUsed()).toEqual([{ head: expect.any(Number), len: 0 }]);
    const used = rx!.collectUsed();
    expect(used).toEqual([{ head: expect.any(Number), len: 5 }]);
    expect(new TextDecoder().decode(memory.read(DATA_BASE + 0x1000, 5))).toBe("hello");
    expect(memory.tagAt(DATA_BASE + 0x1004)).toBe(0x77);
    expect(t.interruptStatus).toBe(1);
    expect(irq.raised).toBe(1);
    expect(device.taken.length).toBe(5);
  });

  it("negotiates INDIRECT_DESC and EVENT_IDX when both sides want them", () => {
    const { t, memory } = rig();
    const wanted = featureBit(Feature.INDIRECT_DESC) | featureBit(Feature.EVENT_IDX);
    const result = probe(t, memory, { queueCount: 2, queueSize: 8, queueBase: QUEUE_BASE, wanted });
    expect(result.ok).toBe(true);
    expect(t.negotiatedFeatures).toBe(VERSION_1 | wanted);
    const [tx] = result.queues;
    memory.write(DATA_BASE, Uint8Array.of(1, 2, 3));
    tx!.addChain(
      [
        { addr: DATA_BASE, len: 1 },
        { addr: DATA_BASE + 1, len: 2 },
      ],
      [],
      { indirect: true },
    );
    t.write(Reg.QueueNotify, 4, 0);
    expect(tx!.collectUsed()).toHaveLength(1);
  });
});

describe("virtio-mmio v2: EVENT_IDX end to end (§2.7.10)", () => {
  it("keeps avail_event current as the device consumes, so every later kick is asked for", () => {
    const { t, memory, device } = rig();
    const wanted = featureBit(Feature.EVENT_IDX);
    const { queues } = probe(t, memory, {
      queueCount: 2,
      queueSize: 8,
      queueBase: QUEUE_BASE,
      wanted,
    });
    const tx = queues[0]!;
    for (let i = 0; i < 20; i++) {
      tx.addChain([{ addr: DATA_BASE + i, len: 1 }], []);
      // A device that never moves avail_event leaves it at 0: no kick until the index wraps.
      expect([i, tx.kickPrepare()]).toEqual([i, true]);
      t.write(Reg.QueueNotify, 4, 0);
      expect(tx.collectUsed()).toHaveLength(1);
    }
    expect(device.txChains).toBe(20);
  });
});

describe("virtio-mmio v2: feature negotiation (§2.2, §6)", () => {
  it("refuses FEATURES_OK without VERSION_1 and the status re-read shows it", () => {
    const { t } = rig();
    initTo(t, [1, 3]);
    acceptFeatures(t, 0n);
    t.write(Reg.Status, 4, 0xb);
    expect(t.read(Reg.Status, 4) & Status.FEATURES_OK).toBe(0);
    expect(t.errors.at(-1)?.code).toBe("mmio-features-refused");
  });

  it("refuses FEATURES_OK when the driver accepts an unoffered bit", () => {
    const { t } = rig();
    initTo(t, [1, 3]);
    acceptFeatures(t, VERSION_1 | featureBit(Feature.RING_PACKED));
    t.write(Reg.Status, 4, 0xb);
    expect(t.read(Reg.Status, 4) & Status.FEATURES_OK).toBe(0);
    t.write(Reg.DriverFeaturesSel, 4, 1);
    t.write(Reg.DriverFeatures, 4, 1);
    t.write(Reg.Status, 4, 0xb);
    expect(t.read(Reg.Status, 4) & Status.FEATURES_OK).toBe(Status.FEATURES_OK);
  });

  it("ignores DriverFeatures after FEATURES_OK", () => {
    const { t } = rig();
    initTo(t, [1, 3]);
    acceptFeatures(t, VERSION_1);
    t.write(Reg.Status, 4, 0xb);
    const reply = t.writeAccess(Reg.DriverFeatures, 4, 0xffff_ffff);
    expect(reply).toMatchObject({ resume: true, error: { code: "mmio-status-order" } });
    expect(t.negotiatedFeatures).toBe(VERSION_1);
  });
});

describe("virtio-mmio v2: status state machine (§2.1, §2.4)", () => {
  it("refuses DRIVER_OK before FEATURES_OK", () => {
    const { t } = rig();
    initTo(t, [1, 3, 7]);
    expect(t.status).toBe(3);
    expect(t.errors.at(-1)?.code).toBe("mmio-status-order");
  });

  it("ignores a write that clears bits, and keeps a rewrite of the same value", () => {
    const { t } = rig();
    initTo(t, [1, 3]);
    t.write(Reg.Status, 4, 1);
    expect(t.status).toBe(3);
    t.write(Reg.Status, 4, 3);
    expect(t.status).toBe(3);
  });

  it("applies several new bits in one write in order", () => {
    const { t } = rig();
    t.write(Reg.Status, 4, 3);
    expect(t.status).toBe(3);
  });

  it("stores FAILED and stops the device", () => {
    const { t, memory } = rig();
    probe(t, memory, { queueCount: 2, queueSize: 8, queueBase: QUEUE_BASE });
    t.write(Reg.Status, 4, t.status | Status.FAILED);
    expect(t.status & Status.FAILED).toBe(Status.FAILED);
    expect(t.isLive()).toBe(false);
    expect(t.writeAccess(Reg.QueueNotify, 4, 0).error?.code).toBe("mmio-notify-not-live");
  });

  it("does not let the driver set DEVICE_NEEDS_RESET", () => {
    const { t } = rig();
    t.write(Reg.Status, 4, 1 | Status.DEVICE_NEEDS_RESET);
    expect(t.status).toBe(1);
  });

  it("resets on Status 0: status, interrupt status and QueueReady cleared", () => {
    const { t, memory, device } = rig();
    const { queues } = probe(t, memory, { queueCount: 2, queueSize: 8, queueBase: QUEUE_BASE });
    queues[0]!.addChain([{ addr: DATA_BASE, len: 1 }], []);
    t.write(Reg.QueueNotify, 4, 0);
    expect(t.interruptStatus).not.toBe(0);
    t.write(Reg.Status, 4, 0);
    expect(t.read(Reg.Status, 4)).toBe(0);
    expect(t.read(Reg.InterruptStatus, 4)).toBe(0);
    for (const q of [0, 1]) {
      t.write(Reg.QueueSel, 4, q);
      expect(t.read(Reg.QueueReady, 4)).toBe(0);
    }
    expect(device.resets).toBe(2);
  });
});

describe("virtio-mmio v2: queue registers (§4.2.2, §4.2.3.2)", () => {
  it("reports QueueNumMax 0 and QueueReady 0 for an absent queue and ignores its writes", () => {
    const { t } = rig();
    t.write(Reg.QueueSel, 4, 5);
    expect(t.read(Reg.QueueNumMax, 4)).toBe(0);
    expect(t.read(Reg.QueueReady, 4)).toBe(0);
    expect(t.writeAccess(Reg.QueueReady, 4, 1)).toMatchObject({
      resume: true,
      error: { code: "mmio-queue-absent" },
    });
    t.write(Reg.QueueSel, 4, 0xffff_ffff);
    expect(t.writeAccess(Reg.QueueNum, 4, 8).error?.code).toBe("mmio-queue-absent");
  });

  it("ignores QueueNum and address writes while the queue is ready, and allows QueueReady 0", () => {
    const { t, memory } = rig();
    probe(t, memory, { queueCount: 2, queueSize: 8, queueBase: QUEUE_BASE });
    t.write(Reg.QueueSel, 4, 0);
    expect(t.writeAccess(Reg.QueueNum, 4, 4).error?.code).toBe("mmio-queue-live");
    expect(t.writeAccess(Reg.QueueDescLow, 4, 0).error?.code).toBe("mmio-queue-live");
    expect(t.queue(0)?.size).toBe(8);
    expect(t.queue(0)?.geometry.descAddr).toBe(QUEUE_BASE);
    t.write(Reg.QueueReady, 4, 0);
    expect(t.read(Reg.QueueReady, 4)).toBe(0);
    expect(t.queue(0)).toBeUndefined();
  });

  for (const [name, num, addrDelta] of [
    ["size 0", 0, 0],
    ["size 3", 3, 0],
    ["size above QueueNumMax", 512, 0],
    ["a misaligned descriptor area", 8, 8],
  ] as const) {
    it(`enters DEVICE_NEEDS_RESET for ${name} at QueueReady and never uses the queue`, () => {
      const { t, irq } = rig();
      initTo(t, [1, 3]);
      acceptFeatures(t, VERSION_1);
      t.write(Reg.Status, 4, 0xb);
      t.write(Reg.QueueSel, 4, 0);
      t.write(Reg.QueueNum, 4, num);
      t.write(Reg.QueueDescLow, 4, QUEUE_BASE + addrDelta);
      t.write(Reg.QueueDriverLow, 4, QUEUE_BASE + 0x1000);
      t.write(Reg.QueueDeviceLow, 4, QUEUE_BASE + 0x2000);
      t.write(Reg.QueueReady, 4, 1);
      expect(t.read(Reg.QueueReady, 4)).toBe(0);
      expect(t.status & Status.DEVICE_NEEDS_RESET).toBe(Status.DEVICE_NEEDS_RESET);
      // DRIVER_OK not yet set: no configuration-change interrupt.
      expect(irq.raised).toBe(0);
    });
  }

  it("refuses QueueReady before FEATURES_OK", () => {
    const { t } = rig();
    initTo(t, [1, 3]);
    expect(t.writeAccess(Reg.QueueReady, 4, 1).error?.code).toBe("mmio-status-order");
  });
});

describe("virtio-mmio v2: notifications and interrupts (§4.2.3.3, §4.2.3.4)", () => {
  it("ignores notifications before DRIVER_OK and for unknown queues", () => {
    const { t, memory, device } = rig();
    initTo(t, [1, 3]);
    acceptFeatures(t, VERSION_1);
    t.write(Reg.Status, 4, 0xb);
    expect(t.writeAccess(Reg.QueueNotify, 4, 0).error?.code).toBe("mmio-notify-not-live");
    probe(t, memory, { queueCount: 2, queueSize: 8, queueBase: QUEUE_BASE });
    expect(t.writeAccess(Reg.QueueNotify, 4, 9).error?.code).toBe("mmio-notify-bad-queue");
    expect(device.txChains).toBe(0);
  });

  it("sends no used-buffer notification before DRIVER_OK (§2.1.2)", () => {
    const { t, irq } = rig();
    t.signalUsedBuffer();
    expect(t.interruptStatus).toBe(0);
    expect(irq.raised).toBe(0);
  });

  it("keeps the line asserted until every InterruptStatus bit is acknowledged", () => {
    const { t, irq, memory } = rig();
    probe(t, memory, { queueCount: 2, queueSize: 8, queueBase: QUEUE_BASE });
    t.signalUsedBuffer();
    t.signalConfigChange();
    expect(t.read(Reg.InterruptStatus, 4)).toBe(3);
    expect(irq.raised).toBe(1);
    t.write(Reg.InterruptACK, 4, 1);
    expect(t.interruptAsserted).toBe(true);
    expect(irq.lowered).toBe(0);
    t.write(Reg.InterruptACK, 4, 2);
    expect(irq.lowered).toBe(1);
    t.signalUsedBuffer();
    expect(irq.raised).toBe(2);
  });

  it("bumps ConfigGeneration on a configuration change", () => {
    const { t } = rig();
    const before = t.read(Reg.ConfigGeneration, 4);
    t.signalConfigChange();
    expect(t.read(Reg.ConfigGeneration, 4)).toBe(before + 1);
  });

  it("on a bad chain enters DEVICE_NEEDS_RESET, raises a config interrupt and stops", () => {
    const { t, memory, device, irq } = rig();
    const { queues } = probe(t, memory, { queueCount: 2, queueSize: 8, queueBase: QUEUE_BASE });
    const tx = queues[0]!;
    tx.addChain([{ addr: 0x1000, len: 4 }], []); // outside guest RAM
    t.write(Reg.QueueNotify, 4, 0);
    expect(t.status & Status.DEVICE_NEEDS_RESET).toBe(Status.DEVICE_NEEDS_RESET);
    expect(t.interruptStatus & 2).toBe(2);
    expect(irq.raised).toBe(1);
    expect(device.taken).toEqual([]);
    expect(t.errors.some((e) => e.code === "descriptor-outside-ram")).toBe(true);
    expect(t.writeAccess(Reg.QueueNotify, 4, 0).error?.code).toBe("mmio-notify-not-live");
    // A reset and a fresh probe bring the device back.
    const again = probe(t, memory, { queueCount: 2, queueSize: 8, queueBase: QUEUE_BASE });
    expect(again.ok).toBe(true);
    expect(t.status & Status.DEVICE_NEEDS_RESET).toBe(0);
  });
});

describe("virtio-mmio v2: illegal accesses answer and never throw (reference virtio §2.5)", () => {
  const cases: [string, () => ReturnType<ReturnType<typeof rig>["t"]["readAccess"]>, string][] = [];
  const { t } = rig();
  cases.push(["2-byte read of Status", () => t.readAccess(Reg.Status, 2), "mmio-wrong-width"]);
  cases.push([
    "8-byte write of QueueDescLow",
    () => t.writeAccess(Reg.QueueDescLow, 8, 1),
    "mmio-wrong-width",
  ]);
  cases.push(["read of QueueSel", () => t.readAccess(Reg.QueueSel, 4), "mmio-read-write-only"]);
  cases.push([
    "read of InterruptACK",
    () => t.readAccess(Reg.InterruptACK, 4),
    "mmio-read-write-only",
  ]);
  cases.push([
    "write of MagicValue",
    () => t.writeAccess(Reg.MagicValue, 4, 0),
    "mmio-write-read-only",
  ]);
  cases.push([
    "write of InterruptStatus",
    () => t.writeAccess(Reg.InterruptStatus, 4, 1),
    "mmio-write-read-only",
  ]);
  cases.push([
    "write of ConfigGeneration",
    () => t.writeAccess(Reg.ConfigGeneration, 4, 1),
    "mmio-write-read-only",
  ]);
  cases.push(["unaligned offset 0x001", () => t.readAccess(0x001, 1), "mmio-bad-offset"]);
  cases.push(["gap offset 0x018", () => t.readAccess(0x018, 4), "mmio-bad-offset"]);
  cases.push(["legacy QueuePFN", () => t.writeAccess(Reg.LegacyQueuePFN, 4, 1), "mmio-bad-offset"]);
  cases.push(["beyond the window", () => t.readAccess(0x400, 4), "mmio-bad-offset"]);
  cases.push([
    "QueueReset without RING_RESET",
    () => t.writeAccess(Reg.QueueReset, 4, 1),
    "mmio-bad-offset",
  ]);
  cases.push(["config read of no field", () => t.readAccess(0x1f0, 4), "mmio-config-access"]);
  cases.push(["misaligned config read", () => t.readAccess(0x102, 4), "mmio-config-access"]);
  cases.push(["8-byte config read", () => t.readAccess(0x100, 8), "mmio-config-access"]);
  cases.push([
    "config write to a read-only field",
    () => t.writeAccess(0x100, 4, 1),
    "mmio-config-access",
  ]);
  cases.push(["read at offset NaN", () => t.readAccess(Number.NaN, 4), "mmio-bad-offset"]);
  cases.push(["write at a negative offset", () => t.writeAccess(-4, 4, 1), "mmio-bad-offset"]);
  cases.push(["read of width 3", () => t.readAccess(0x100, 3 as 4), "mmio-wrong-width"]);
  for (const [name, access, code] of cases) {
    it(`${name}: reads 0, resumes the vCPU, logs ${code}`, () => {
      const reply = access();
      expect(reply).toMatchObject({ value: 0, resume: true, error: { code } });
    });
  }

  it("serves config space at 1, 2 and 4 bytes and SHM registers as all ones", () => {
    const { t: fresh } = rig();
    fresh.write(0x104, 4, 0xa1b2c3d4);
    expect(fresh.read(0x104, 4)).toBe(0xa1b2c3d4);
    expect(fresh.read(0x106, 2)).toBe(0xa1b2);
    expect(fresh.read(0x105, 1)).toBe(0xc3);
    expect(fresh.read(Reg.SHMLenLow, 4)).toBe(0xffff_ffff);
    expect(fresh.read(Reg.SHMBaseHigh, 4)).toBe(0xffff_ffff);
  });
});

describe("virtio-mmio under reference: libvmm's register answers (reference virtio §4.2, §6.1)", () => {
  const libvmmLike = { features: VERSION_1, queueMaxSize: 128 };

  it("lets Linux's probe sequence through with libvmm's constants", () => {
    const { t, memory } = rig("reference", {}, libvmmLike);
    expect(t.read(Reg.MagicValue, 4)).toBe(0x74726976);
    expect(t.read(Reg.Version, 4)).toBe(2);
    t.write(Reg.DeviceFeaturesSel, 4, 0);
    expect(t.read(Reg.DeviceFeatures, 4)).toBe(0);
    t.write(Reg.DeviceFeaturesSel, 4, 1);
    expect(t.read(Reg.DeviceFeatures, 4)).toBe(1);
    expect(t.read(Reg.ConfigGeneration, 4)).toBe(0);
    const result = probe(t, memory, { queueCount: 2, queueBase: QUEUE_BASE });
    expect(result.ok).toBe(true);
    expect(result.queues.map((q) => q.size)).toEqual([128, 128]);
    expect(t.status).toBe(0xf);
    expect(t.findings).toEqual([]);
  });

  it("blocks the vCPU (no reply) where libvmm FAILs, and keeps answering other accesses", () => {
    const { t } = rig("reference", {}, libvmmLike);
    const failing = [
      t.readAccess(Reg.QueueSel, 4),
      t.writeAccess(Reg.MagicValue, 4, 1),
      t.readAccess(0x1f0, 4), // a config field the device does not have
      t.writeAccess(0x100, 4, 0x41), // a read-only config field
      t.readAccess(0x300, 4),
    ];
    for (const reply of failing) expect(reply.resume).toBe(false);
    expect(t.readAccess(Reg.MagicValue, 4)).toEqual({ value: 0x74726976, resume: true });
  });

  it("reads a sub-word lane shifted down to bit 0, as libvmm's fault.c does", () => {
    const { t } = rig("reference", {}, libvmmLike);
    expect(t.read(0x001, 1)).toBe(0x69); // byte 1 of 0x74726976
    expect(t.read(0x002, 2)).toBe(0x7472);
    expect(t.read(0x003, 1)).toBe(0x74);
    expect(t.read(0x002, 4)).toBe(0x7472); // lane mask 0xffff0000 after truncation
    expect(t.read(0x000, 8)).toBe(MMIO_MAGIC);
  });

  it("writes a sub-word lane unshifted, so a byte store at Status + 1 resets the device", () => {
    const { t, memory } = rig("reference", {}, libvmmLike);
    probe(t, memory, { queueCount: 2, queueBase: QUEUE_BASE });
    expect(t.status).toBe(0xf);
    // data = 0x0f & 0xff00 = 0: libvmm sees a Status write of 0 (reference virtio §4.1).
    t.write(Reg.Status + 1, 1, 0x0f);
    expect(t.status).toBe(0);
    expect(t.queueReady(0)).toBe(false);
    // A 2-byte store at DeviceFeaturesSel + 2 of 1 selects word 0, not word 1.
    t.write(Reg.DeviceFeaturesSel, 4, 1);
    t.write(Reg.DeviceFeaturesSel + 2, 2, 1);
    expect(t.read(Reg.DeviceFeatures, 4)).toBe(0);
  });

  it("drops absent status bits before a multi-bit write blocks the vCPU (§4.3 order)", () => {
    const { t } = rig("reference", {}, libvmmLike);
    t.write(Reg.Status, 4, 0);
    t.write(Reg.Status, 4, 1);
    // new = 0x6: FAIL, but `Status := Status AND v` already ran and cleared ACKNOWLEDGE.
    expect(t.writeAccess(Reg.Status, 4, 0x6).resume).toBe(false);
    expect(t.status).toBe(0);
  });

  it("does not alias a malformed offset or width onto a register", () => {
    const { t } = rig("reference", {}, libvmmLike);
    expect(t.readAccess(Number.NaN, 4)).toMatchObject({ value: 0, resume: false });
    expect(t.readAccess(0, 0 as 4)).toMatchObject({ value: 0, resume: false });
  });
});

describe("virtio-mmio hardened: interrupt delivery while the guest masks its vIRQ (§6.3)", () => {
  it("keeps InterruptStatus, resumes the vCPU, and raises again on the next event", () => {
    const { t, memory, irq } = rig();
    const { queues } = probe(t, memory, { queueCount: 2, queueSize: 8, queueBase: QUEUE_BASE });
    irq.accept = false;
    queues[0]!.addChain([{ addr: DATA_BASE, len: 1 }], []);
    expect(t.writeAccess(Reg.QueueNotify, 4, 0).resume).toBe(true);
    expect(t.interruptStatus).toBe(1);
    expect(t.interruptAsserted).toBe(true);
    irq.accept = true;
    queues[0]!.addChain([{ addr: DATA_BASE, len: 1 }], []);
    t.write(Reg.QueueNotify, 4, 0);
    expect(irq.raised).toBe(2);
  });
});

describe("virtio-mmio v2: QueueReset with VIRTIO_F_RING_RESET (§4.2.2)", () => {
  it("resets only the selected queue and reads 0 afterwards", () => {
    const features = VERSION_1 | featureBit(Feature.RING_RESET);
    const { t, memory } = rig("hardened", {}, { features });
    const result = probe(t, memory, {
      queueCount: 2,
      queueSize: 8,
      queueBase: QUEUE_BASE,
      wanted: featureBit(Feature.RING_RESET),
    });
    expect(result.ok).toBe(true);
    t.write(Reg.QueueSel, 4, 1);
    expect(t.writeAccess(Reg.QueueReset, 4, 1)).toEqual({ value: 0, resume: true });
    expect(t.read(Reg.QueueReset, 4)).toBe(0);
    expect(t.read(Reg.QueueReady, 4)).toBe(0);
    expect(t.queueReady(0)).toBe(true);
  });
});
