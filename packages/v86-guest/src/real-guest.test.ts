/**
 * Debian's unmodified kernel on the emulated PC drives the model's virtio-mmio console through
 * a libvmm-style VMM: it probes the device through vCPU exits, loads virtio_console, runs a shell
 * on hvc0, and a command typed into the VMM's RX queue runs and answers on its TX queue.
 * Needs the real-guest assets (`pnpm guest-assets`).
 */
import { VmRig } from "@vmmux/vmm/testing";
import { afterAll, describe, expect, it } from "vitest";
import {
  CONSOLE_WINDOW,
  GUEST_ASSETS_COMMAND,
  guestAssetPaths,
  guestAssetsPresent,
} from "./assets/fetch.js";
import { GUEST_PROMPT } from "./assets/initramfs.js";
import { V86Machine } from "./emulator/machine.js";
import { V86Guest } from "./guest.js";

const present = guestAssetsPresent();
const MIPS = 1000;
const RAM = 128 * 1024 * 1024;

describe.skipIf(!present)("a real Linux guest on a VMM", () => {
  let machine: V86Machine | undefined;
  afterAll(async () => {
    await machine?.stop();
  });

  it("boots to a shell on hvc0 and runs a command typed through the RX queue", async () => {
    machine = await V86Machine.start({
      assets: guestAssetPaths(),
      cmdline: "console=ttyS0,115200 loglevel=4 tsc=unstable rdinit=/init",
      memorySize: RAM,
      instructionsPerMs: MIPS * 1000,
      window: CONSOLE_WINDOW,
      epochMs: Date.UTC(2026, 0, 1),
      seed: 1,
    });
    const m = machine;
    let guest: V86Guest | undefined;
    const rig = new VmRig({
      vms: [
        {
          name: "linux",
          ramBacking: m.ram(),
          ramGuestBase: 0,
          vmm: {
            virtio: { base: CONSOLE_WINDOW.base, size: 0x200 },
            // The DTB is written where the PC's boot leaves RAM free at start (not the initrd at the top).
            dtbAddress: 0x0600_0000,
          },
          customGuest: () => {
            guest = new V86Guest({
              machine: m,
              window: CONSOLE_WINDOW,
              consoleBase: CONSOLE_WINDOW.base,
              consoleIrq: 74,
              ioApicLine: CONSOLE_WINDOW.irq,
              instructionsPerMs: MIPS * 1000,
            });
            return guest;
          },
        },
      ],
    });
    const tx = () => Buffer.from(rig.machine(0).tx.bytes).toString("latin1");
    const until = (done: () => boolean, limitS: number) => {
      for (let s = 0; s < limitS * 10 && !done(); s++) rig.sys.runFor(100_000_000);
    };
    until(() => tx().includes(GUEST_PROMPT), 60);
    expect(tx(), m.serialText().slice(-3000)).toContain(GUEST_PROMPT);
    const typedAt = rig.sys.now() + 1_000_000;
    rig.type(0, typedAt, "echo hello from $(uname -r)\r");
    until(() => tx().includes("hello from 6.1.0-50-686"), 20);
    expect(tx()).toContain("hello from 6.1.0-50-686");
    expect(guest?.counters.mmioReads).toBeGreaterThan(20);
    expect(guest?.counters.interrupts).toBeGreaterThan(0);
  }, 900_000);
});
