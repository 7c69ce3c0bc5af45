/**
 * A VMM that faults and is restarted (microkit reference §2.8, issue: faults a real system
 * survives). Two VMMs; one is the child of a `RestartingParent` and trips an assert after its
 * guest printed. Its fault goes to the parent, which restarts it: the VMM runs `init` again
 * (fresh console device, the same sDDF queues re-opened, vCPU restarted) and its guest boots and
 * prints again. The other guest's output is complete and identical to a run without the fault.
 */
import { describe, expect, it } from "vitest";
import { RestartingParent } from "./restarting-parent.js";
import { drainedText, FaultingVmm, VmRig } from "./testing/index.js";

const MS = 1_000_000;
const line0 = "guest0 is up\r\n";
const other = Array.from({ length: 12 }, (_, i) => ({
  time: 0.003 + i * 0.001,
  text: `guest1 line ${i}\r\n`,
}));

function run(fault: boolean, delayNs = 0) {
  const parent = new RestartingParent({ delayNs });
  const rig = new VmRig({
    vms: [
      {
        guest: { workload: { kind: "trace", events: [{ time: 0.003, text: line0 }] } },
        parent: { name: "vmm_parent", id: 1 },
        ...(fault ? { makeVmm: (config) => new FaultingVmm(config, 5 * MS) } : {}),
      },
      { guest: { workload: { kind: "trace", events: other } } },
    ],
    extraPrograms: { "vmm_parent.elf": parent },
  });
  rig.sys.runUntil(40 * MS);
  return { rig, parent };
}

describe("a faulted VMM restarted by its parent", () => {
  it("the restarted guest boots and prints again; the other guest is unaffected", () => {
    const { rig, parent } = run(true);
    const vmm = rig.machine(0).vmm as FaultingVmm;
    expect(vmm.trippedAt).toBeGreaterThanOrEqual(5 * MS);
    expect(parent.restarts).toHaveLength(1);
    expect(parent.restarts[0]!.child).toBe(1);
    expect(vmm.boot.starts).toBe(2);
    // Printed before the fault and again after the restart.
    expect(drainedText(rig, 0)).toBe(line0 + line0);
    const again = rig.machine(0).tx.times[line0.length]!;
    expect(again).toBeGreaterThan(vmm.trippedAt!);
    // The other guest: complete, and byte for byte what it prints without the fault.
    const expected = other.map((e) => e.text).join("");
    expect(drainedText(rig, 1)).toBe(expected);
    expect(drainedText(run(false).rig, 1)).toBe(expected);
    expect(rig.sys.thread("vmm_guest0").state).not.toBe("dead");
  });

  it("waits the configured delay before restarting", () => {
    const { parent } = run(true, 2 * MS);
    const r = parent.restarts[0]!;
    expect(r.restartedAt! - r.faultAt).toBeGreaterThanOrEqual(2 * MS);
  });

  it("without a restart the VMM stays down and its guest prints once", () => {
    const parent = new RestartingParent({ maxRestarts: 0 });
    const rig = new VmRig({
      vms: [
        {
          guest: { workload: { kind: "trace", events: [{ time: 0.003, text: line0 }] } },
          parent: { name: "vmm_parent", id: 1 },
          makeVmm: (config) => new FaultingVmm(config, 5 * MS),
        },
        { guest: { workload: { kind: "trace", events: other } } },
      ],
      extraPrograms: { "vmm_parent.elf": parent },
    });
    rig.sys.runUntil(40 * MS);
    expect(drainedText(rig, 0)).toBe(line0);
    expect(drainedText(rig, 1)).toBe(other.map((e) => e.text).join(""));
  });
});
