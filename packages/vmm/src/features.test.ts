/**
 * The console's ring features in a full VMM (VirtIO 1.2 §2.7.5.3 INDIRECT_DESC, §2.7.7/§2.7.10
 * EVENT_IDX): the hardened device offers them when `VmmConfig.features` asks and the Linux front
 * end negotiates them; the reference device offers what libvmm offers whatever is asked.
 * Either way the guest's output arrives whole, and typed input is read.
 */
import type { Profile } from "@vmmux/virtio-core";
import { describe, expect, it } from "vitest";
import { VmRig } from "./testing/index.js";

const MS = 1_000_000;
const EVENT_IDX = 1n << 29n;
const INDIRECT_DESC = 1n << 28n;
const text = "hello from hvc0\r\n";

function run(profile: Profile, features?: { eventIdx?: boolean; indirectDesc?: boolean }) {
  const rig = new VmRig({
    vms: [
      {
        profile,
        ...(features === undefined ? {} : { vmm: { features } }),
        guest: { workload: { kind: "trace", events: [{ time: 0.003, text }] } },
      },
    ],
  });
  rig.type(0, 6 * MS, "ab\r");
  rig.sys.runUntil(20 * MS);
  const m = rig.machine(0);
  return { m, guest: m.guest()!, device: m.vmm.device! };
}

describe("console ring features through the VMM", () => {
  it("hardened: offered on request and negotiated by the front end; output and input intact", () => {
    const { m, guest, device } = run("hardened", { eventIdx: true, indirectDesc: true });
    expect(device.features & EVENT_IDX).toBe(EVENT_IDX);
    expect(device.features & INDIRECT_DESC).toBe(INDIRECT_DESC);
    expect(guest.driver!.features & EVENT_IDX).toBe(EVENT_IDX);
    expect(guest.driver!.features & INDIRECT_DESC).toBe(INDIRECT_DESC);
    expect(String.fromCharCode(...m.tx.bytes)).toContain(text);
    expect(guest.lines).toContain("ab");
  });

  it("hardened without the knob offers neither", () => {
    const { device } = run("hardened");
    expect(device.features & (EVENT_IDX | INDIRECT_DESC)).toBe(0n);
  });

  it("reference offers what libvmm offers, whatever is asked", () => {
    const { m, device } = run("reference", { eventIdx: true, indirectDesc: true });
    expect(device.features & (EVENT_IDX | INDIRECT_DESC)).toBe(0n);
    expect(String.fromCharCode(...m.tx.bytes)).toContain(text);
  });
});
