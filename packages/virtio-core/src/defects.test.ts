/**
 * Every libvmm defect virtio-core models (reference virtio §4.2–§4.11) is a named switch.
 * Each scenario below observes the defect's behaviour (not merely its report): it must be
 * seen under `reference` and absent under `hardened` (DESIGN.md "Two fidelity profiles").
 */
import { describe, expect, it } from "vitest";
import {
  Feature,
  featureBit,
  Reg,
  Status,
  VIRTQ_DESC_F_INDIRECT,
  VIRTQ_DESC_F_NEXT,
  VIRTQ_DESC_F_WRITE,
} from "./constants.js";
import { DEFECTS, type DefectName, type Profile } from "./profile.js";
import { probe } from "./testing/mmio-driver.js";
import { DATA_BASE, QUEUE_BASE, RawRing, rig } from "./testing-internal/fixtures.js";

/** The device libvmm's console is: VERSION_1 only, two queues of 128. */
const LIBVMM_LIKE = { features: featureBit(Feature.VERSION_1), queueMaxSize: 128 };

function libvmmRig(profile: Profile) {
  return rig(profile, {}, LIBVMM_LIKE);
}

function probed(profile: Profile, driverOk = true) {
  const r = libvmmRig(profile);
  const result = probe(r.t, r.memory, {
    queueCount: 2,
    queueSize: 8,
    queueBase: QUEUE_BASE,
    driverOk,
  });
  if (!result.ok) throw new Error(`probe failed under ${profile}: ${result.reason}`);
  const tx = result.queues[0]!;
  return { ...r, tx, rx: result.queues[1]!, raw: new RawRing(r.memory, tx.geometry) };
}

const SCENARIOS: Record<DefectName, (profile: Profile) => boolean> = {
  mmioRangeAliasing: (p) => {
    const { t } = libvmmRig(p);
    t.write(0x018, 4, 1); // gap after DeviceFeaturesSel
    return t.read(Reg.DeviceFeatures, 4) === 1;
  },
  failOnIllegalAccess: (p) => !libvmmRig(p).t.readAccess(Reg.QueueSel, 4).resume,
  queueReadyOutOfBounds: (p) => {
    const { t } = libvmmRig(p);
    t.write(Reg.QueueSel, 4, 1000);
    return t.writeAccess(Reg.QueueReady, 4, 1).finding?.impact === "vmm-memory-corruption";
  },
  uncheckedGuestAddresses: (p) => {
    const { t, tx } = probed(p);
    tx.addChain([{ addr: 0x1000, len: 4 }], []);
    t.write(Reg.QueueNotify, 4, 0);
    return t.crashed !== undefined && !t.readAccess(Reg.MagicValue, 4).resume;
  },
  queueNumUnchecked: (p) => {
    const { t } = probed(p, false);
    t.write(Reg.Status, 4, 0);
    for (const s of [1, 3]) t.write(Reg.Status, 4, s);
    t.write(Reg.DriverFeaturesSel, 4, 1);
    t.write(Reg.DriverFeatures, 4, 1);
    t.write(Reg.Status, 4, 0xb);
    t.write(Reg.QueueSel, 4, 0);
    t.write(Reg.QueueNum, 4, 3);
    t.write(Reg.QueueDescLow, 4, QUEUE_BASE);
    t.write(Reg.QueueDriverLow, 4, QUEUE_BASE + 0x1000);
    t.write(Reg.QueueDeviceLow, 4, QUEUE_BASE + 0x2000);
    t.write(Reg.QueueReady, 4, 1);
    t.write(Reg.Status, 4, 0xf);
    return t.queue(0)?.size === 3;
  },
  exactFeatureWords: (p) => {
    const { t } = libvmmRig(p);
    for (const s of [0, 1, 3]) t.write(Reg.Status, 4, s);
    t.write(Reg.DriverFeaturesSel, 4, 0);
    return !t.writeAccess(Reg.DriverFeatures, 4, 0x10).resume;
  },
  featuresHappySticky: (p) => {
    const { t, memory } = libvmmRig(p);
    probe(t, memory, { queueCount: 2, queueSize: 8, queueBase: QUEUE_BASE });
    for (const s of [0, 1, 3, 0xb]) t.write(Reg.Status, 4, s); // no features written
    return (t.status & Status.FEATURES_OK) !== 0;
  },
  statusMultiBitFails: (p) => !libvmmRig(p).t.writeAccess(Reg.Status, 4, 3).resume,
  statusRewriteResets: (p) => {
    const { t, device } = libvmmRig(p);
    t.write(Reg.Status, 4, 1);
    t.write(Reg.Status, 4, 1);
    return t.status === 0 && device.resets === 1;
  },
  statusLaxOrder: (p) => {
    const { t } = libvmmRig(p);
    for (const s of [1, 3, 7]) t.write(Reg.Status, 4, s);
    return (t.status & Status.DRIVER_OK) !== 0;
  },
  injectFailureBlocks: (p) => {
    const { t, tx, irq, memory } = probed(p);
    irq.accept = false;
    memory.write(DATA_BASE, Uint8Array.of(1));
    tx.addChain([{ addr: DATA_BASE, len: 1 }], []);
    return !t.writeAccess(Reg.QueueNotify, 4, 0).resume;
  },
  notifyWithoutDriverOk: (p) => {
    const { t, tx, device } = probed(p, false);
    tx.addChain([{ addr: DATA_BASE, len: 1 }], []);
    t.write(Reg.QueueNotify, 4, 0);
    return device.txChains === 1;
  },
  queueReadyCannotClear: (p) => {
    const { t } = probed(p);
    t.write(Reg.QueueSel, 4, 0);
    t.write(Reg.QueueReady, 4, 0);
    return t.read(Reg.QueueReady, 4) === 1;
  },
  addressRegistersOred: (p) => {
    const { t } = probed(p);
    t.write(Reg.QueueSel, 4, 0);
    t.write(Reg.QueueDescLow, 4, 0x100);
    return t.queue(0)?.geometry.descAddr === (QUEUE_BASE | 0x100);
  },
  queueNumMaxForAbsentQueues: (p) => {
    const { t } = libvmmRig(p);
    t.write(Reg.QueueSel, 4, 7);
    return t.read(Reg.QueueNumMax, 4) === 128;
  },
  interruptStatusOverwrite: (p) => {
    const { t } = probed(p);
    t.signalConfigChange();
    t.signalUsedBuffer();
    return t.interruptStatus === 1;
  },
  edgeInterrupt: (p) => {
    const { t, irq } = probed(p);
    t.signalUsedBuffer();
    t.signalUsedBuffer();
    return irq.raised === 2;
  },
  availIndexUnchecked: (p) => {
    const { t, tx, raw, device } = probed(p);
    tx.addChain([{ addr: DATA_BASE, len: 1 }], []);
    raw.availIdx = 300;
    t.write(Reg.QueueNotify, 4, 0);
    return device.txChains > 1;
  },
  headIndexUnchecked: (p) => {
    const { t, raw } = probed(p);
    raw.publish(200);
    t.write(Reg.QueueNotify, 4, 0);
    return raw.usedIdx === 1 && raw.usedElem(0).id === 200;
  },
  badChainConsumed: (p) => {
    const { t, raw } = probed(p);
    raw.desc(0, { addr: DATA_BASE, len: 1, flags: VIRTQ_DESC_F_NEXT, next: 0 });
    raw.publish(0);
    t.write(Reg.QueueNotify, 4, 0);
    return raw.usedIdx === 1;
  },
  indirectAsData: (p) => {
    const { t, raw, device } = probed(p);
    raw.desc(0, { addr: DATA_BASE, len: 16, flags: VIRTQ_DESC_F_INDIRECT, next: 0 });
    raw.publish(0);
    t.write(Reg.QueueNotify, 4, 0);
    return device.taken.length === 16;
  },
  orderUnchecked: (p) => {
    const { t, raw, device } = probed(p);
    raw.desc(0, {
      addr: DATA_BASE,
      len: 4,
      flags: VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT,
      next: 1,
    });
    raw.desc(1, { addr: DATA_BASE + 8, len: 2, flags: 0, next: 0 });
    raw.publish(0);
    t.write(Reg.QueueNotify, 4, 0);
    return device.txChains === 1;
  },
  usedIdxFromGuest: (p) => {
    const { t, tx, raw } = probed(p);
    raw.usedIdx = 5;
    tx.addChain([{ addr: DATA_BASE, len: 1 }], []);
    t.write(Reg.QueueNotify, 4, 0);
    return raw.usedIdx === 6;
  },
  noNotificationSuppression: (p) => {
    const { t, tx, irq } = probed(p);
    tx.disableInterrupts();
    tx.addChain([{ addr: DATA_BASE, len: 1 }], []);
    t.write(Reg.QueueNotify, 4, 0);
    return irq.raised > 0;
  },
};

describe("libvmm defects as named switches", () => {
  for (const name of Object.keys(DEFECTS) as DefectName[]) {
    const { ref, summary } = DEFECTS[name];
    it(`${name} (${ref}): ${summary} — under reference only`, () => {
      expect(SCENARIOS[name]("reference")).toBe(true);
      expect(SCENARIOS[name]("hardened")).toBe(false);
    });
  }
});
