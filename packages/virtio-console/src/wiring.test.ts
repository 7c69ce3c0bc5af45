import { SerialQueue } from "@vmmux/sddf-queues";
import { GuestMemory, Reg } from "@vmmux/virtio-core";
import { describe, expect, it } from "vitest";
import { LinuxConsoleDriver } from "./guest/linux-driver.js";
import { DirectMmio, runGuest } from "./testing/rig.js";
import { createVirtioConsole } from "./wiring.js";

describe("createVirtioConsole", () => {
  it("calls the VMM's three hooks: virtual IRQ, virt_tx and virt_rx notifications", () => {
    const calls: string[] = [];
    const queue = () => new SerialQueue(new Uint8Array(0x1000), new Uint8Array(0x1000));
    const rx = queue();
    const memory = new GuestMemory({ regions: [{ base: 0x4000_0000, size: 0x40_0000 }] });
    const { transport } = createVirtioConsole({
      profile: "reference",
      memory,
      ports: [{ tx: queue(), rx }],
      hooks: {
        injectIrq: () => {
          calls.push("irq");
          return true;
        },
        notifyTx: (p) => calls.push(`tx${p}`),
        notifyRx: (p) => calls.push(`rx${p}`),
      },
    });
    const driver = new LinuxConsoleDriver({
      mmio: new DirectMmio(transport, 0x13_0000),
      base: 0x13_0000,
      memory,
      heap: { base: 0x4010_0000, size: 0x20_0000 },
    });
    expect(runGuest(driver.probe())).toMatchObject({ done: true, value: { ok: true } });
    calls.length = 0;
    runGuest(driver.consolePrint(new TextEncoder().encode("hi")));
    // libvmm: interrupt first, then the unconditional notify of virt_tx (§4.8 step 3).
    expect(calls).toEqual(["irq", "tx0"]);
    expect(transport.read(Reg.InterruptStatus, 4)).toBe(1);
  });
});
