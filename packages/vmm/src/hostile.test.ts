import { GuestDataAbort, type GuestProgram } from "@vmmux/microkit-pd";
import { LinuxConsoleDriver } from "@vmmux/virtio-console";
import { type Profile, Status } from "@vmmux/virtio-core";
import { describe, expect, it } from "vitest";
import { VcpuMmio } from "./guest/vcpu-mmio.js";
import { sharedGuestMemory } from "./guest-ram.js";
import { HostileGuest, VmRig } from "./testing/index.js";
import { VmmProgram } from "./vmm.js";

const MS = 1_000_000;

/** Probe like Linux, then post a transmit descriptor pointing outside RAM and kick (L2). */
function badDescriptorGuest(state: { sent: boolean }): GuestProgram {
  return {
    *run(vcpu) {
      const region = vcpu.memory("guest0_ram");
      const memory = sharedGuestMemory(region, region.vaddr);
      const driver = new LinuxConsoleDriver({
        mmio: new VcpuMmio(vcpu),
        base: 0x13_0000,
        memory,
        heap: { base: region.vaddr + 0x10_0000, size: 0x20_0000 },
        interruptPending: () => false,
      });
      yield* driver.probe();
      driver.transmitQueue!.addChain([{ addr: 0x1000, len: 16 }], []);
      yield* vcpu.mmioWrite(0x13_0050, 4, 1);
      state.sent = true;
      for (;;) {
        for (let irq = vcpu.takeIrq(); irq !== undefined; irq = vcpu.takeIrq())
          yield* vcpu.eoi(irq);
        yield* vcpu.wfi();
      }
    },
  };
}

function rigWith(profile: Profile, customGuest: () => GuestProgram): VmRig {
  return new VmRig({ vms: [{ profile, canary: true, customGuest }] });
}

describe("a hostile guest", () => {
  it("hardened: a descriptor outside guest RAM sets DEVICE_NEEDS_RESET and the VMM lives on", () => {
    const state = { sent: false };
    const rig = rigWith("hardened", () => badDescriptorGuest(state));
    rig.sys.runUntil(5 * MS);
    const vmm = rig.machine(0).vmm;
    expect(state.sent).toBe(true);
    expect(vmm.transport!.status & Status.DEVICE_NEEDS_RESET).toBe(Status.DEVICE_NEEDS_RESET);
    expect(rig.sys.thread("vmm_guest0").state).not.toBe("dead");
    expect(rig.machine(0).tx.bytes).toEqual([]);
    expect(rig.sys.memory("guest0_canary").buffer).toSatisfy((b: ArrayBufferLike) =>
      new Uint8Array(b).every((x) => x === 0),
    );
  });

  it("reference: the same descriptor crashes the VMM PD, as libvmm's unchecked gpa_to_hva does (L2)", () => {
    const state = { sent: false };
    const rig = rigWith("reference", () => badDescriptorGuest(state));
    rig.sys.runUntil(5 * MS);
    expect(rig.sys.thread("vmm_guest0").state).toBe("dead");
    expect(state.sent).toBe(false);
    expect(rig.machine(0).vmm.findings.some((f) => f.kind === "device-defect")).toBe(true);
  });

  it("hardened: an access outside every device window reads 0 and the guest continues", () => {
    const script = {
      probe: false,
      ops: [{ op: "far" as const, address: 0x900_0000, write: false }],
    };
    const rig = rigWith("hardened", () => new HostileGuest(script, "guest0_ram"));
    rig.sys.runUntil(2 * MS);
    const vmm = rig.machine(0).vmm;
    expect(vmm.findings.map((f) => [f.kind, f.resumed])).toEqual([["unmapped-access", true]]);
    expect(rig.sys.thread("guest0:vcpu0").state).not.toBe("blocked-reply");
    expect(vmm.counters.unanswered).toBe(0);
  });

  it("unmappedAccess abort: the guest takes a data abort it can handle; an unhandled one ends it", () => {
    const seen: string[] = [];
    const rig = new VmRig({
      vms: [
        {
          profile: "hardened",
          canary: true,
          makeVmm: (config) => new VmmProgram({ ...config, unmappedAccess: "abort" }),
          customGuest: () => ({
            *run(vcpu) {
              try {
                seen.push(`read ${yield* vcpu.mmioRead(0x900_0000, 4)}`);
              } catch (error) {
                if (!(error instanceof GuestDataAbort)) throw error;
                seen.push(error.message);
              }
              yield* vcpu.mmioWrite(0x900_0004, 4, 1);
              seen.push("write completed");
            },
          }),
        },
      ],
    });
    rig.sys.runUntil(2 * MS);
    const vmm = rig.machine(0).vmm;
    expect(seen).toEqual(["data abort on load from 0x9000000"]);
    expect(vmm.findings.map((f) => [f.kind, f.resumed])).toEqual([
      ["unmapped-access", true],
      ["unmapped-access", true],
    ]);
    expect(vmm.counters.unanswered).toBe(0);
    expect(rig.sys.thread("guest0:vcpu0").state).toBe("inactive");
    expect(rig.sys.thread("vmm_guest0").state).not.toBe("dead");
  });

  it("hardened: accesses at impossible addresses and widths are answered and the VMM lives on", () => {
    const done: number[] = [];
    const rig = rigWith("hardened", () => ({
      *run(vcpu) {
        for (const [address, width] of [
          [Number.NaN, 4],
          [-4, 4],
          [0x13_0000, 3],
        ] as const) {
          done.push(yield* vcpu.mmioRead(address, width as 4));
        }
      },
    }));
    rig.sys.runUntil(1 * MS);
    const vmm = rig.machine(0).vmm;
    expect(done).toEqual([0, 0, 0]);
    expect(vmm.findings.map((f) => f.message)).toEqual([
      "read at NaN width 4 outside every device window",
      "read at -4 width 4 outside every device window",
      "read of virtio-mmio offset 0x0 width 3: read of malformed width 3",
    ]);
    expect(rig.sys.thread("vmm_guest0").state).not.toBe("dead");
  });

  it("reference: an access outside every device window is never answered (no handler in libvmm)", () => {
    const script = {
      probe: false,
      ops: [{ op: "far" as const, address: 0x900_0000, write: true }],
    };
    let guest: HostileGuest | undefined;
    const rig = rigWith("reference", () => {
      guest = new HostileGuest(script, "guest0_ram");
      return guest;
    });
    rig.sys.runUntil(2 * MS);
    expect(guest?.completed).toBe(0);
    expect(rig.machine(0).vmm.counters.unanswered).toBe(1);
    expect(["blocked-reply", "inactive"]).toContain(rig.sys.thread("guest0:vcpu0").state);
    expect(rig.sys.thread("vmm_guest0").state).not.toBe("dead");
  });
});
