import type { DeviceHost, TimerHandle } from "@vmmux/microkit-pd";
import { describe, expect, test } from "vitest";
import { guestMetrics } from "./metrics.js";
import { integrity } from "./oracles.js";
import { runScenario } from "./run.js";
import { printEvents } from "./serial-client.js";
import { syntheticCast, syntheticScenario } from "./testing/synthetic.js";
import { TIMER_CTL_ENABLE, TIMER_CTL_ISTATUS, TimerReg, TraceTimer } from "./trace-timer.js";

const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

describe("printEvents", () => {
  test("undoes the tty's CR LF, also across two events, and keeps a lone CR", () => {
    const events = printEvents(
      syntheticCast([
        [0.5, "a\r\nb\r"],
        [1, "\nc\rd"],
        [1.25, "\r"],
      ]),
    );
    expect(events.map((e) => [e.at, decode(e.bytes)])).toEqual([
      [500_000_000, "a\nb"],
      [1_000_000_000, "\nc\rd"],
      [1_250_000_000, "\r"],
    ]);
  });
});

describe("the putchar client (sddf-serial §8)", () => {
  test("an output time beyond 2^53 ns is never reached, whether the guest idles or computes", () => {
    for (const cpu of ["idle", "busy"] as const) {
      const run = runScenario(
        syntheticScenario({
          guests: [
            {
              output: [
                [0.001, "early\r\n"],
                [1e10, "never\r\n"],
              ],
              cpu,
            },
            { output: [] },
          ],
          knobs: { durationLimit: 1 },
        }),
      );
      expect(decode(run.guests[0]!.enqueued)).toBe("early\r\n");
      expect(run.guests[0]!.tracePrinted).toBe(1);
    }
  });

  test("with its queue full it drops bytes silently (T1), and integrity still holds", () => {
    const scenario = syntheticScenario({
      guests: [{ output: [[0.001, "x".repeat(12_000)]] }, { output: [] }],
      knobs: { colour: false, queueSizes: { client: 0x1000, driver: 0x1000 } },
    });
    const run = runScenario(scenario);
    const g = run.guests[0]!;
    expect(g.loss.T1).toBeGreaterThan(0);
    expect(g.loss.T1 + g.enqueued.length).toBe(12_000);
    expect(guestMetrics(run, g).bytesOnWire).toBe(g.enqueued.length);
    expect(integrity(run).ok).toBe(true);
  });

  test("text after the last newline stays unpublished (T3) and is reported, not a violation", () => {
    const scenario = syntheticScenario({
      guests: [{ output: [[0.001, "ready\r\n/ # "]] }, { output: [[0.001, "hi\r\n"]] }],
    });
    const run = runScenario(scenario);
    const g = run.guests[0]!;
    expect(g.unpublished).toBe(4);
    expect(guestMetrics(run, g).bytesOnWire).toBe(7);
    const v = integrity(run);
    expect(v.ok).toBe(true);
    expect(v.notes).toContain("guest1: 4 byte(s) never flushed by the putchar library (T3)");
  });

  test("echoes typed input unbuffered, which also publishes a pending partial line", () => {
    const scenario = syntheticScenario({
      guests: [{ output: [[0.001, "/ # "]], input: "echo" }, { output: [] }],
      keyboard: [{ at: 0.01, text: "ls\r" }],
    });
    const run = runScenario(scenario);
    const g = run.guests[0]!;
    expect(decode(g.enqueued)).toBe("/ # ls\r\n");
    expect(g.unpublished).toBe(0);
    expect(guestMetrics(run, g).complete).toBe(true);
  });
});

/** A device host with a manual clock. */
class ManualHost implements DeviceHost {
  time = 0;
  level = false;
  private readonly timers = new Map<number, { at: number; action: () => void }>();
  private nextId = 0;
  now(): number {
    return this.time;
  }
  at(time: number, action: () => void): TimerHandle {
    const id = this.nextId++;
    this.timers.set(id, { at: time, action });
    return { id };
  }
  cancel(handle: TimerHandle): void {
    this.timers.delete(handle.id);
  }
  setIrqLevel(_irq: number, asserted: boolean): void {
    this.level = asserted;
  }
  pulseIrq(): void {}
  trace(): void {}
  advance(to: number): void {
    this.time = to;
    for (const [id, t] of [...this.timers]) {
      if (t.at <= to) {
        this.timers.delete(id);
        t.action();
      }
    }
  }
}

describe("TraceTimer", () => {
  test("asserts its level IRQ at the compare time and drops it when disabled", () => {
    const host = new ManualHost();
    const timer = new TraceTimer(host, 80);
    const at = 5 * 2 ** 32 + 7;
    timer.write(TimerReg.CVAL_HI, 4, 5);
    timer.write(TimerReg.CVAL_LO, 4, 7);
    timer.write(TimerReg.CTL, 4, TIMER_CTL_ENABLE);
    expect(host.level).toBe(false);
    host.advance(at - 1);
    expect(host.level).toBe(false);
    host.advance(at);
    expect(host.level).toBe(true);
    expect(timer.read(TimerReg.CTL, 4)).toBe(TIMER_CTL_ENABLE | TIMER_CTL_ISTATUS);
    expect([timer.read(TimerReg.NOW_LO, 4), timer.read(TimerReg.NOW_HI, 4)]).toEqual([7, 5]);
    timer.write(TimerReg.CTL, 4, 0);
    expect(host.level).toBe(false);
  });

  test("counts guest accesses outside its registers instead of throwing", () => {
    const timer = new TraceTimer(new ManualHost(), 80);
    expect(timer.read(0x40, 4)).toBe(0);
    timer.write(TimerReg.CTL, 1, 1);
    expect(timer.badAccesses).toBe(2);
  });
});
