/**
 * The console device preempted inside the VMM (`devicePreemption`; reference virtio §6.1 item
 * 11, sddf-serial §3.2–§3.3). The VMM yields at the device's TX sites, so serial_tx can run
 * between libvmm's "queue full" check and its signal request. Under `reference` (no re-check)
 * some tick phase drains the queue inside that window: serial_tx sees no request and stays
 * silent, the device requests a signal afterwards and waits for good with the queue empty (the
 * lost wake-up, finding `txNoRecheck`). `hardened` re-checks and delivers everything under every
 * phase tried; without `devicePreemption` the window does not exist. With L13 (the ignored
 * TX-channel signal) switched off alone, the lost wake-up is the only way TX stays stranded.
 */
import type { Profile } from "@vmmux/virtio-core";
import { describe, expect, it } from "vitest";
import { VmRig } from "./testing/index.js";
import type { VmmConfig } from "./vmm-config.js";

const MS = 1_000_000;
const block = (c: string) => `${c.repeat(2999)}\n`;
const events = [
  { time: 0.003, text: block("a") },
  { time: 0.003, text: block("b") },
];
/** Tick periods of serial_tx tried: each puts its drains at other instants of the VMM's work. */
const PHASES = Array.from({ length: 40 }, (_, k) => 10_000 + k * 2_011);
/** A slow VMM step (10 µs per `default` unit), as a perturbed cost model would price it. */
const costModel = { work: { default: 10_000 } };
/**
 * serial_tx drains 1500 bytes a tick: after one tick 1500 of the first 3000-byte chain remain,
 * so the second chain does not fit, and the next tick empties the queue.
 */
const BYTES_PER_TICK = 1500;

function run(
  profile: Profile,
  tickNs: number,
  devicePreemption = true,
  consoleDefects?: VmmConfig["consoleDefects"],
) {
  const rig = new VmRig({
    vms: [
      {
        profile,
        queueSize: 0x1000,
        vmm: { devicePreemption, ...(consoleDefects === undefined ? {} : { consoleDefects }) },
        guest: { workload: { kind: "trace", events } },
      },
    ],
    txDrain: { bytesPerTick: BYTES_PER_TICK, tickNs, untilNs: 10 * MS },
    costModel,
  });
  rig.sys.runUntil(10 * MS);
  const m = rig.machine(0);
  const device = m.vmm.device!;
  return {
    drained: m.tx.bytes.length,
    lostWakeup: (device.findingCounts.get("txNoRecheck") ?? 0) > 0,
    signalIgnored: (device.findingCounts.get("txSignalIgnored") ?? 0) > 0,
    waiting: device.txWaiting(0),
  };
}

describe("the console device preempted inside the VMM", () => {
  it("reference: some schedule loses the wake-up, TX waits for good with the queue empty", () => {
    const lost = PHASES.map((tickNs) => ({ tickNs, ...run("reference", tickNs) })).filter(
      (r) => r.lostWakeup,
    );
    expect(lost.length).toBeGreaterThan(0);
    for (const r of lost) {
      expect(r.waiting).toBe(true);
      // Only the first chain got out; the second waits although the queue has room for it.
      expect(r.drained).toBe(3000);
    }
  });

  it("hardened: no schedule loses the wake-up and all output arrives", () => {
    for (const tickNs of PHASES) {
      const r = run("hardened", tickNs);
      expect(r.lostWakeup).toBe(false);
      expect(r.drained).toBe(6000);
    }
  });

  it("reference without devicePreemption: the window does not exist", () => {
    for (const tickNs of PHASES) expect(run("reference", tickNs, false).lostWakeup).toBe(false);
  });

  it("reference with L13 switched off alone: a phase delivers everything or is stranded by the missing re-check", () => {
    const runs = PHASES.map((tickNs) => ({
      tickNs,
      masked: run("reference", tickNs),
      alone: run("reference", tickNs, true, { txSignalIgnored: false }),
    }));
    // With L13 on, virt_tx's wake-up is ignored, so phases without the lost wake-up strand too.
    expect(
      runs.some((r) => !r.masked.lostWakeup && r.masked.signalIgnored && r.masked.waiting),
    ).toBe(true);
    for (const { alone } of runs) {
      expect(alone.signalIgnored).toBe(false);
      expect(alone.waiting).toBe(alone.lostWakeup);
      expect(alone.drained).toBe(alone.lostWakeup ? 3000 : 6000);
    }
    // The same phases lose the wake-up with or without L13: the switch leaves the re-check alone.
    expect(runs.filter((r) => r.alone.lostWakeup).map((r) => r.tickNs)).toEqual(
      runs.filter((r) => r.masked.lostWakeup).map((r) => r.tickNs),
    );
    expect(runs.some((r) => r.alone.lostWakeup)).toBe(true);
  });
});
