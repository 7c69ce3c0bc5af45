/**
 * The two driver defect switches that bound loops (sddf-serial §7.2 step 1, §7.4): under
 * `reference` the driver polls and loops as the C code does, without a bound; under
 * `hardened` it gives up after a fixed number of passes. A register stub that reports
 * work for a set number of reads makes both outcomes visible.
 */
import type { AccessWidth, MmioDevice, PdStep } from "@vmmux/microkit-pd";
import { ManualPd } from "@vmmux/microkit-pd/testing";
import type { Profile } from "@vmmux/profiles";
import { describe, expect, it } from "vitest";
import { Pl011Driver } from "./driver.js";
import { BUSY_SPIN_LIMIT } from "./driver-defects.js";
import { Fr, Int, Reg } from "./registers.js";

/** FR reads BUSY and MIS reads TX for the first `busyReads` / `misReads` reads, then idle. */
class StubUart implements MmioDevice {
  frReads = 0;
  misReads = 0;
  constructor(
    private readonly busyReads: number,
    private readonly misReads0: number,
  ) {}
  read(offset: number, _width: AccessWidth): number {
    if (offset === Reg.FR) return this.frReads++ < this.busyReads ? Fr.BUSY | Fr.TXFF : Fr.TXFF;
    if (offset === Reg.MIS) return this.misReads++ < this.misReads0 ? Int.TX : 0;
    return 0;
  }
  write(): void {}
}

function driverOn(profile: Profile, uart: StubUart, maxIrqPasses?: number) {
  const pd = new ManualPd("uart_driver", {
    memory: { tx_queue: { size: 0x1000 }, tx_data: { size: 64 } },
    mmio: { uart },
  });
  const driver = new Pl011Driver({
    profile,
    mmioRegion: "uart",
    irqChannel: 0,
    tx: { channel: 1, queueRegion: "tx_queue", dataRegion: "tx_data" },
    ...(maxIrqPasses === undefined ? {} : { maxIrqPasses }),
  });
  return { pd, driver };
}

/** Run an entry point to completion without keeping its preemption points. */
function finish(step: PdStep): void {
  while (!step.next().done) {}
}

describe("driver loop bounds (defect switches busySpinUnbounded, irqLoopUnbounded)", () => {
  it("polls BUSY for as long as it reads set under reference, at most the bound under hardened", () => {
    const busy = BUSY_SPIN_LIMIT + 10;
    const reference = new StubUart(busy, 0);
    const r = driverOn("reference", reference);
    finish(r.driver.init(r.pd));
    const hardened = new StubUart(busy, 0);
    const h = driverOn("hardened", hardened);
    finish(h.driver.init(h.pd));
    // The init loop's own reads; later FR reads (none in init) would add to both alike.
    expect(reference.frReads).toBe(busy + 1);
    expect(hardened.frReads).toBe(BUSY_SPIN_LIMIT + 1);
  });

  it("loops while MIS shows work under reference, returns after maxIrqPasses under hardened", () => {
    const reference = new StubUart(0, 50);
    const r = driverOn("reference", reference, 8);
    finish(r.driver.init(r.pd));
    finish(r.driver.notified(0, r.pd));
    expect(reference.misReads).toBe(51);
    expect(r.driver.counters.irqLoopCuts).toBe(0);

    const hardened = new StubUart(0, 50);
    const h = driverOn("hardened", hardened, 8);
    finish(h.driver.init(h.pd));
    finish(h.driver.notified(0, h.pd));
    expect(hardened.misReads).toBe(9);
    expect(h.driver.counters.irqLoopCuts).toBe(1);
    // Both ack the line, so a still-asserted level fires again (sddf-serial §1.1).
    expect(r.pd.calls.filter((c) => c.op === "deferredIrqAck")).toHaveLength(1);
    expect(h.pd.calls.filter((c) => c.op === "deferredIrqAck")).toHaveLength(1);
  });

  it("lets a single switch override its profile's default", () => {
    const uart = new StubUart(0, 50);
    const pd = new ManualPd("uart_driver", {
      memory: { tx_queue: { size: 0x1000 }, tx_data: { size: 64 } },
      mmio: { uart },
    });
    const driver = new Pl011Driver({
      profile: "hardened",
      defects: { irqLoopUnbounded: true },
      mmioRegion: "uart",
      irqChannel: 0,
      tx: { channel: 1, queueRegion: "tx_queue", dataRegion: "tx_data" },
      maxIrqPasses: 8,
    });
    finish(driver.init(pd));
    finish(driver.notified(0, pd));
    expect(uart.misReads).toBe(51);
    expect(driver.config.defects.noIcrWrites).toBe(false);
  });
});
