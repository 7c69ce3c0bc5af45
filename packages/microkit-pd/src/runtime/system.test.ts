import { describe, expect, it } from "vitest";
import type { AccessWidth, DeviceHost, MmioDevice } from "../program.js";
import { work } from "../program.js";
import { parseSystemDescription } from "../sdf/index.js";
import { pdProgram } from "../testing/index.js";
import { RuntimeError, System } from "./index.js";

const SDF = `<?xml version="1.0" encoding="UTF-8"?>
<system>
  <memory_region name="uart" size="0x1_000" phys_addr="0x9_000_000" />
  <memory_region name="tx_data" size="0x1000" />
  <protection_domain name="driver" priority="200">
    <program_image path="driver.elf" />
    <map mr="uart" vaddr="0x2000000" perms="rw" cached="false" />
    <map mr="tx_data" vaddr="0x3000000" perms="r" />
    <irq irq="33" id="0" />
  </protection_domain>
  <protection_domain name="client" priority="100">
    <program_image path="client.elf" />
    <map mr="tx_data" vaddr="0x3000000" perms="rw" />
  </protection_domain>
  <channel>
    <end pd="driver" id="1" />
    <end pd="client" id="0" />
  </channel>
</system>`;

/** A one-register transmitter: writing DR sends the byte after 10 µs, then raises its IRQ. */
class TinyUart implements MmioDevice {
  readonly sent: number[] = [];
  private pending = false;
  constructor(private readonly host: DeviceHost) {}
  read(offset: number, _width: AccessWidth): number {
    return offset === 0x18 ? (this.pending ? 1 : 0) : 0;
  }
  write(offset: number, _width: AccessWidth, value: number): void {
    if (offset === 0x44) this.host.setIrqLevel(33, false);
    if (offset !== 0) return;
    this.pending = true;
    this.host.at(this.host.now() + 10_000, () => {
      this.sent.push(value);
      this.pending = false;
      this.host.trace("tx", { byte: value });
      this.host.setIrqLevel(33, true);
    });
  }
}

describe("System from a parsed SDF", () => {
  it("runs a driver, a client and a device from a real .system text", () => {
    const { system } = parseSystemDescription(SDF, { fileName: "tiny.system" });
    let uart: TinyUart | undefined;
    const sys = new System(system, {
      programs: {
        "client.elf": pdProgram({
          *init(pd) {
            const data = pd.memory("tx_data");
            const text = "hi!";
            for (let i = 0; i < text.length; i++) data.store8(i, text.charCodeAt(i));
            data.store32(0x100, text.length);
            yield work("copy", text.length);
            pd.notify(0);
          },
        }),
        "driver.elf": (() => {
          let next = 0;
          return pdProgram({
            *notified(ch, pd) {
              const regs = pd.mmio("uart");
              const data = pd.memory("tx_data");
              if (ch === 0) {
                regs.write(0x44, 4, 1);
                pd.deferredIrqAck(0);
              }
              if (regs.read(0x18, 4) === 0 && next < data.load32(0x100)) {
                regs.write(0, 4, data.load8(next++));
                yield work("mmio");
              }
            },
          });
        })(),
      },
      devices: {
        uart: (host) => {
          uart = new TinyUart(host);
          return uart;
        },
      },
    });
    expect(sys.runUntilIdle(1_000_000)).toBe(true);
    expect(String.fromCharCode(...uart!.sent)).toBe("hi!");
    // Each byte goes out 10 µs after the driver wrote it, and the driver writes the next one only
    // after the IRQ of the previous one.
    const times = sys.log.flatMap((e) => (e.type === "device" ? [e.t] : []));
    expect(times).toHaveLength(3);
    expect(times[1]! - times[0]!).toBeGreaterThan(10_000);
    expect(times[2]! - times[1]!).toBeGreaterThan(10_000);
    expect(sys.thread("driver").state).toBe("blocked-recv");
  });

  it("refuses a program image nobody registered, and a device on a region without phys_addr", () => {
    const { system } = parseSystemDescription(SDF, { fileName: "tiny.system" });
    const missing = () => new System(system, { programs: { "driver.elf": pdProgram({}) } });
    expect(missing).toThrow(RuntimeError);
    expect(missing).toThrow(
      "protection domain 'client': no program registered for program_image 'client.elf'",
    );
    const device = () =>
      new System(system, {
        programs: { "driver.elf": pdProgram({}), "client.elf": pdProgram({}) },
        devices: { tx_data: { read: () => 0, write: () => {} } },
      });
    expect(device).toThrow("device 'tx_data': memory region has no phys_addr");
  });

  it("surfaces a device driving an IRQ no PD owns as a RuntimeError, not as a PD fault", () => {
    const { system } = parseSystemDescription(SDF, { fileName: "tiny.system" });
    const sys = new System(system, {
      programs: {
        "client.elf": pdProgram({}),
        "driver.elf": pdProgram({
          *init(pd) {
            pd.mmio("uart").write(0, 4, 1);
          },
        }),
      },
      devices: {
        uart: (host) => ({ read: () => 0, write: () => host.setIrqLevel(99, true) }),
      },
    });
    expect(() => sys.runUntilIdle()).toThrow("irq 99 is not routed to any protection domain");
  });
});
