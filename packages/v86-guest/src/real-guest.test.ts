/**
 * Debian's unmodified kernel on the emulated PC drives the model's virtio-mmio console through
 * a libvmm-style VMM: it probes the device through vCPU exits, loads virtio_console, runs a shell
 * on hvc0, and a command typed into the VMM's RX queue runs and answers on its TX queue. The
 * real kernel's probe, recorded through the VMM, is the Linux front-end model's probe access for
 * access. Needs the real-guest assets (`pnpm guest-assets`); one boot serves every test here.
 */
import { ConsoleRig, runGuest } from "@vmmux/virtio-console/testing";
import { VmRig } from "@vmmux/vmm/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CONSOLE_WINDOW, guestAssetPaths, guestAssetsPresent } from "./assets/fetch.js";
import { GUEST_PROMPT } from "./assets/initramfs.js";
import { V86Machine } from "./emulator/machine.js";
import { type ConsoleAccess, V86Guest } from "./guest.js";

const present = guestAssetsPresent();
const INSTRUCTIONS_PER_MS = 1_000_000;
const RAM = 128 * 1024 * 1024;
/** The virtual IRQ libvmm's example gives the console (SPI 42 = INTID 74). */
const CONSOLE_VIRQ = 74;

/** An access in the notation of virtio-console's call-chain tests; ring addresses elided. */
function notation(a: Pick<ConsoleAccess, "op" | "offset" | "value">): string {
  const ringAddress = a.op === "W" && a.offset >= 0x80 && a.offset <= 0xa4;
  return `${a.op}${a.offset.toString(16)}${ringAddress ? "" : `=${(a.value >>> 0).toString(16)}`}`;
}

describe.skipIf(!present)("a real Linux guest on a VMM", () => {
  let machine: V86Machine;
  let guest: V86Guest | undefined;
  let rig: VmRig;
  const tx = () => Buffer.from(rig.machine(0).tx.bytes).toString("latin1");
  const runUntil = (done: () => boolean, limitS: number) => {
    for (let step = 0; step < limitS * 10 && !done(); step++) rig.sys.runFor(100_000_000);
  };

  beforeAll(async () => {
    machine = await V86Machine.start({
      assets: guestAssetPaths(),
      cmdline: "console=ttyS0,115200 loglevel=4 tsc=unstable rdinit=/init",
      memorySize: RAM,
      instructionsPerMs: INSTRUCTIONS_PER_MS,
      window: CONSOLE_WINDOW,
      epochMs: Date.UTC(2026, 0, 1),
      seed: 1,
    });
    const m = machine;
    rig = new VmRig({
      vms: [
        {
          name: "linux",
          ramBacking: m.ram(),
          ramGuestBase: 0,
          vmm: {
            virtio: { base: CONSOLE_WINDOW.base, size: 0x200, irq: CONSOLE_VIRQ },
            // The DTB goes where the PC's boot leaves RAM free (the initrd is at the top).
            dtbAddress: 0x0600_0000,
          },
          customGuest: () => {
            guest = new V86Guest({
              machine: m,
              window: CONSOLE_WINDOW,
              consoleBase: CONSOLE_WINDOW.base,
              consoleIrq: CONSOLE_VIRQ,
              ioApicLine: CONSOLE_WINDOW.irq,
              instructionsPerMs: INSTRUCTIONS_PER_MS,
              recordAccesses: 1000,
            });
            return guest;
          },
        },
      ],
    });
    runUntil(() => tx().includes(GUEST_PROMPT), 60);
  }, 900_000);

  afterAll(async () => {
    await machine?.stop();
  });

  it("boots to a shell prompt on hvc0", () => {
    expect(tx(), machine.serialText().slice(-3000)).toContain(GUEST_PROMPT);
    expect(guest?.counters.interrupts).toBeGreaterThan(0);
  });

  it("runs a command typed through the RX queue and answers on the TX queue", () => {
    rig.type(0, rig.sys.now() + 1_000_000, "echo hello from $(uname -r)\r");
    runUntil(() => tx().includes("hello from 6.1.0-50-686"), 20);
    expect(tx()).toContain("hello from 6.1.0-50-686");
  }, 300_000);

  it("probes the device exactly as the Linux front-end model does", () => {
    const model = new ConsoleRig({ profile: "hardened" });
    expect(runGuest(model.driver.probe())).toMatchObject({ done: true, value: { ok: true } });
    const modelAccesses = model.mmio.log.map(notation);
    const realAccesses = (guest?.accesses ?? []).map(notation);
    // Magic … FEATURES_OK, both queues, DRIVER_OK, one kick per receive buffer, Status read.
    expect(modelAccesses.length).toBeGreaterThan(150);
    expect(realAccesses.slice(0, modelAccesses.length)).toEqual(modelAccesses);
  });
});
