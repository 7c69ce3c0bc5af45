/**
 * The Linux front end on a `@vmmux/microkit-pd` vCPU: every register access is a vCPU exit
 * that the VMM PD's `fault` entry point emulates on the console's transport, as libvmm's
 * `virtio_mmio_fault_handle` does (reference virtio §4.1).
 */
import {
  type FaultMessage,
  type FaultReply,
  type GuestProgram,
  System,
  zeroKernelCosts,
} from "@vmmux/microkit-pd";
import { describeSystem, pdProgram } from "@vmmux/microkit-pd/testing";
import { GuestMemory, type MmioWidth, type VirtioMmioTransport } from "@vmmux/virtio-core";
import { describe, expect, it } from "vitest";
import { LinuxConsoleDriver, vcpuMmio } from "./guest/linux-driver.js";
import { serialPair } from "./testing/rig.js";
import { createVirtioConsole } from "./wiring.js";

const BASE = 0x13_0000;

describe("Linux front end on a vCPU", () => {
  it("probes and prints through MMIO exits emulated by the VMM's fault handler", () => {
    const memory = new GuestMemory({ regions: [{ base: 0x4000_0000, size: 0x100_0000 }] });
    const serial = serialPair(0x10000);
    let transport: VirtioMmioTransport | undefined;
    let exits = 0;
    const vmm = pdProgram({
      *init(pd) {
        transport = createVirtioConsole({
          profile: "reference",
          memory,
          ports: [serial],
          hooks: {
            injectIrq: () => {
              pd.vcpuInjectIrq(0, 42);
              return true;
            },
            notifyTx: () => {},
            notifyRx: () => {},
          },
        }).transport;
        pd.vcpuRestart(0);
      },
      *fault(_child: number, msg: FaultMessage): Generator<never, FaultReply, undefined> {
        if (msg.kind !== "vcpu" || transport === undefined) return { resume: false };
        const exit = msg.exit;
        exits++;
        if (exit.kind === "mmio-read") {
          const r = transport.readAccess(exit.address - BASE, exit.width as MmioWidth);
          return { resume: r.resume, value: r.value };
        }
        if (exit.kind === "mmio-write") {
          const r = transport.writeAccess(exit.address - BASE, exit.width as MmioWidth, exit.value);
          return { resume: r.resume };
        }
        return { resume: true };
      },
    });
    let probed = false;
    const guest: GuestProgram = {
      *run(vcpu) {
        const driver = new LinuxConsoleDriver({
          mmio: vcpuMmio(vcpu),
          base: BASE,
          memory,
          heap: { base: 0x4010_0000, size: 0x40_0000 },
        });
        probed = (yield* driver.probe()).ok;
        yield* driver.consolePrint(new TextEncoder().encode("hello from a vcpu\n"));
      },
    };
    const sys = new System(
      describeSystem({
        pds: [{ name: "vmm", priority: 100, vm: { name: "linux", priority: 50 } }],
      }),
      { costModel: zeroKernelCosts, programs: { "vmm.elf": vmm }, guests: { linux: guest } },
    );
    sys.runUntilIdle(1_000_000_000);
    expect(probed).toBe(true);
    // 20 probe accesses + 2 × 11 queue setup + 2 status + 128 kicks + 1 read, then 2 kicks.
    expect(exits).toBe(20 + 22 + 2 + 128 + 1 + 2);
    const tx = serial.tx;
    expect(new TextDecoder().decode(tx.data.subarray(0, tx.tail))).toBe("hello from a vcpu\r\n");
    expect(sys.thread("linux:vcpu0").state).toBe("inactive");
  });
});
