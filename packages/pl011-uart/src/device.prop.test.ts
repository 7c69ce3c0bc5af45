/**
 * FIFO and interrupt invariants of the device over random register/wire scripts
 * (pl011 reference §3.3, §3.8, §6–§7; see `src/testing/ops.ts` for the exact list):
 * no character reordered, characters lost only on overrun or with the receiver off and
 * then counted, the interrupt line always equal to `MIS != 0`. Each planted defect in
 * `src/testing/planted.ts` must make the property fail.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Pl011Device } from "./device.js";
import { Int } from "./registers.js";
import { FakeDeviceHost } from "./testing/fake-host.js";
import { checkUartScenario, type UartScenario, uartScenarioArb } from "./testing/ops.js";
import { PLANTED_DEVICE_BUGS, type PlantedDeviceBug, plantedDevice } from "./testing/planted.js";
import { programUart } from "./testing/setup.js";

const numRuns = Number(process.env.VMMUX_PROP_RUNS ?? 150);
const seed = 0x5011;

function property(bug?: PlantedDeviceBug) {
  return fc.property(uartScenarioArb, (scenario: UartScenario) => {
    const host = new FakeDeviceHost();
    host.recordTraces = false;
    const options = { host, irq: 33, variant: scenario.variant, revision: scenario.revision };
    const uart = bug ? plantedDevice(bug, options) : new Pl011Device(options);
    programUart(uart, { ifls: 0x12, imsc: Int.RX | Int.RT | Int.TX | Int.OE });
    checkUartScenario(uart, host, scenario);
  });
}

describe("device FIFO and interrupt invariants (property)", () => {
  it("hold for random register and wire scripts", () => {
    fc.assert(property(), { numRuns, seed });
  });

  it.each(PLANTED_DEVICE_BUGS)("fail for the planted defect '%s'", (bug) => {
    const result = fc.check(property(bug), { numRuns: Math.max(numRuns, 300), seed });
    expect(result.failed).toBe(true);
  });

  it("reach both outcomes of an overrun: stored after draining, lost when full", () => {
    // The property is not vacuous: the generator produces overruns and clean reads.
    const stats = { overruns: 0, stored: 0 };
    fc.assert(
      fc.property(uartScenarioArb, (scenario) => {
        const host = new FakeDeviceHost();
        const uart = new Pl011Device({
          host,
          irq: 33,
          variant: "hardware",
          revision: scenario.revision,
        });
        programUart(uart);
        checkUartScenario(uart, host, { ...scenario, variant: "hardware" });
        stats.overruns += uart.counters.rxOverrun;
        stats.stored += uart.counters.rxStored;
      }),
      { numRuns: 30, seed },
    );
    expect(stats.overruns).toBeGreaterThan(0);
    expect(stats.stored).toBeGreaterThan(0);
  });
});
