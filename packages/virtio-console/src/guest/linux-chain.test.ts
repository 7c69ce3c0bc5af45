/**
 * The front end against the documented Linux call chain (reference virtio §5.1 probe, §3.5
 * MULTIPORT handshake; Linux `virtio_dev_probe`, `virtcons_probe`, `__send_control_msg`,
 * `control_work_handler`), for a device offering what libvmm offers and one offering what
 * QEMU's virtio-serial offers (VERSION_1, EVENT_IDX, INDIRECT_DESC, EMERG_WRITE, MULTIPORT
 * with several ports; no F_SIZE).
 */
import { Feature, featureBit } from "@vmmux/virtio-core";
import { describe, expect, it } from "vitest";
import { ConsoleFeature } from "../constants.js";
import { ConsoleRig, type ConsoleRigOptions, runGuest } from "../testing/rig.js";

type Access = string;

/** `vm_setup_vq` for queue `q` of size `n`: select, not ready, max, size, areas, ready. */
function setupQueue(q: number, n: number): Access[] {
  const areas = ["W80", "W84", "W90", "W94", "Wa0", "Wa4"];
  return [`W30=${q}`, "R44=0", `R34=${n.toString(16)}`, `W38=${n.toString(16)}`, ...areas, "W44=1"];
}

/**
 * `virtio_mmio_probe` … `virtcons_probe` for one port: `offered` is the device's feature
 * offer, `accepted` what `virtio_finalize_features` writes back (the driver's table plus
 * `vring_transport_features`), `kicks` how many of the `fill_queue` adds notify.
 */
function singlePortChain(offered: bigint, accepted: bigint, vendor: number, kicks: number) {
  const word = (f: bigint, high: boolean) => (high ? f >> 32n : f & 0xffff_ffffn).toString(16);
  return [
    "R0=74726976",
    "R4=2",
    "R8=3",
    `Rc=${vendor.toString(16)}`,
    "W70=0",
    "R70=0",
    "W70=1",
    "R70=1",
    "W70=3",
    "W14=1",
    `R10=${word(offered, true)}`,
    "W14=0",
    `R10=${word(offered, false)}`,
    "W24=1",
    `W20=${word(accepted, true)}`,
    "W24=0",
    `W20=${word(accepted, false)}`,
    "R70=3",
    "W70=b",
    "R70=b",
    ...setupQueue(0, 128),
    ...setupQueue(1, 128),
    "R70=b",
    "W70=f",
    ...Array.from({ length: kicks }, () => "W50=0"),
    "R70=f",
  ];
}

function accesses(rig: ConsoleRig): Access[] {
  return rig.mmio.log.map((a) => {
    const address = a.op === "W" && a.offset >= 0x80 && a.offset <= 0xa4;
    return `${a.op}${a.offset.toString(16)}${address ? "" : `=${a.value.toString(16)}`}`;
  });
}

const bit = (n: number) => featureBit(n);
const VERSION_1 = bit(Feature.VERSION_1);
const RING = bit(Feature.EVENT_IDX) | bit(Feature.INDIRECT_DESC);
/** QEMU's virtio-serial offer, F_SIZE off (it never offers it). */
const qemu = (ports: number, eventIdx = true): ConsoleRigOptions => ({
  profile: "hardened",
  ports,
  features: { size: false, emergWrite: true, multiport: ports > 1, eventIdx, indirectDesc: true },
});

describe("Linux call chain, single port", () => {
  it("libvmm's offer: VERSION_1 accepted, one kick per receive buffer", () => {
    const rig = new ConsoleRig({ profile: "reference" });
    expect(runGuest(rig.driver.probe())).toMatchObject({ done: true, value: { ok: true } });
    expect(accesses(rig)).toEqual(singlePortChain(VERSION_1, VERSION_1, 0x344c6573, 128));
  });

  it("QEMU's offer: EVENT_IDX and INDIRECT_DESC accepted, EMERG_WRITE not (Linux's table)", () => {
    const rig = new ConsoleRig(qemu(1));
    expect(runGuest(rig.driver.probe())).toMatchObject({ done: true, value: { ok: true } });
    const offered = VERSION_1 | RING | bit(ConsoleFeature.EMERG_WRITE);
    // Under EVENT_IDX only the add the device asked for (avail_event 0) notifies: the device
    // moves avail_event only when it takes a buffer, and no input arrived (§1.6).
    expect(accesses(rig)).toEqual(singlePortChain(offered, VERSION_1 | RING, 0x344c6573, 1));
  });
});

describe("Linux call chain, MULTIPORT", () => {
  /** Control kicks (W 0x050 ← 3), interrupt reads and status reads after DRIVER_OK. */
  function landmarks(rig: ConsoleRig): Access[] {
    const all = accesses(rig);
    const after = all.indexOf("W70=f") + 1;
    return all.slice(after).filter((a) => a === "W50=3" || a.startsWith("R60") || a === "R70=f");
  }

  it("reads Status after the interrupt DEVICE_READY's PORT_ADDs raise", () => {
    const rig = new ConsoleRig(qemu(2));
    expect(runGuest(rig.driver.probe())).toMatchObject({ done: true, value: { ok: true } });
    const all = accesses(rig);
    const ready = all.indexOf("W50=3");
    // __send_control_msg kicks with local interrupts on: vm_interrupt runs at once, then
    // virtio_dev_probe's status read; the control work it scheduled runs afterwards.
    expect(all.slice(ready, ready + 4)).toEqual(["W50=3", "R60=1", "W64=1", "R70=f"]);
    expect(rig.driver.portInfo().map((p) => [p.id, p.console, p.hostConnected])).toEqual([
      [0, true, true],
      [1, false, true],
    ]);
  });

  it("takes an interrupt between each PORT_READY kick and the PORT_OPEN kick (EVENT_IDX off)", () => {
    const rig = new ConsoleRig(qemu(2, false));
    runGuest(rig.driver.probe());
    // DEVICE_READY, IRQ, Status; PORT_READY(0), IRQ; PORT_READY(1), IRQ; PORT_OPEN(0).
    expect(landmarks(rig)).toEqual([
      "W50=3",
      "R60=1",
      "R70=f",
      "W50=3",
      "R60=1",
      "W50=3",
      "R60=1",
      "W50=3",
    ]);
  });

  it("ends each interrupt it takes at a window (the VMM's EOI), as many as it took", () => {
    let eois = 0;
    const rig = new ConsoleRig({ ...qemu(2, false), endOfInterrupt: () => eois++ });
    runGuest(rig.driver.probe());
    expect(eois).toBe(rig.driver.counters.interrupts);
    expect(eois).toBe(3);
  });

  it("with EVENT_IDX the device's answers to PORT_READY fall under used_event: no interrupt", () => {
    // Linux set used_event past the PORT_ADD it took; the replies land after the index the
    // device last signalled, so vring_need_event says no (reference §1.6).
    const rig = new ConsoleRig(qemu(2));
    runGuest(rig.driver.probe());
    expect(landmarks(rig)).toEqual(["W50=3", "R60=1", "R70=f", "W50=3", "W50=3", "W50=3"]);
    expect(rig.driver.portListed).toBe(true);
  });
});
