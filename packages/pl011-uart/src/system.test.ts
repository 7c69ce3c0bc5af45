/**
 * Device + driver under the real Microkit runtime (scheduler, IRQ masking until the
 * deferred ack, cost model): timing through the driver and overrun when the driver
 * cannot drain the FIFO because a higher-priority PD holds the core (sddf-serial §10 R1).
 */
import { describe, expect, it } from "vitest";
import type { Pl011Device } from "./device.js";
import { uartSystem as build } from "./testing/system.js";

function sendAt115200(uart: Pl011Device, count: number, at: number): number[] {
  const tags = Array.from({ length: count }, (_, i) => 100_000 + i);
  for (const tag of tags) uart.send(tag & 0xff, { at, tag });
  return tags;
}

describe("device + driver under the Microkit runtime", () => {
  it("sends 10,000 bytes at 115200 8N1 in 10,000 × 86.8 µs ± one character", () => {
    const t = build({ txBytes: 10_000, uartClockHz: 7_372_800 });
    t.sys.runUntil(1_000_000_000);
    const out = t.uart.transmitted;
    expect(out).toHaveLength(10_000);
    expect(out.map((b) => b.tag)).toEqual(Array.from({ length: 10_000 }, (_, i) => i + 1));
    const elapsed = out[9_999]!.end - out[0]!.start;
    expect(Math.abs(elapsed - 10_000 * 86_806)).toBeLessThanOrEqual(86_806);
  });

  it("sends 11-bit frames at 115384.6 baud through the reference driver (8O1, truncated divisor)", () => {
    const t = build({ txBytes: 2_000, profile: "reference" });
    t.sys.runUntil(1_000_000_000);
    const out = t.uart.transmitted;
    const charNs = (11 * 16 * 13 * 1e9) / 24e6;
    expect(out).toHaveLength(2_000);
    expect(Math.abs(out[1_999]!.end - out[0]!.start - 2_000 * charNs)).toBeLessThanOrEqual(charNs);
  });

  it("overruns the FIFO while a higher-priority PD holds the core; loss = sent − received", () => {
    const t = build({ driverPriority: 100, hogPriority: 150, hogBusyUs: 20_000 });
    t.sys.runUntil(500_000); // driver initialised
    const sent = sendAt115200(t.uart, 600, 600_000);
    t.sys.runUntil(200_000_000);
    const lost = t.uart.counters.rxOverrun;
    // Bytes that arrive during the 20 ms the driver cannot run, less the 32 the FIFO holds.
    const charNs = (10 * 1e9) / t.uart.baud;
    expect(Math.abs(lost - (20e6 / charNs - 32))).toBeLessThanOrEqual(3);
    expect(sent.length - t.received.length).toBe(lost);
    // What arrived is in order and a subsequence of what was sent.
    const tags = t.received.map((r) => r.tag);
    expect(tags.every((tag, i) => i === 0 || tag > tags[i - 1]!)).toBe(true);
    expect(t.received.every((r) => r.byte === (r.tag & 0xff))).toBe(true);
  });

  it("loses nothing when the driver outranks the busy PD", () => {
    const t = build({ driverPriority: 200, hogPriority: 150, hogBusyUs: 20_000 });
    t.sys.runUntil(500_000);
    const sent = sendAt115200(t.uart, 600, 600_000);
    t.sys.runUntil(200_000_000);
    expect(t.uart.counters.rxOverrun).toBe(0);
    expect(t.received.map((r) => r.tag)).toEqual(sent);
  });
});
