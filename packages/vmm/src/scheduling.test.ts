/**
 * Two VMMs with their guests on one core (reference microkit §3.4): at equal priority the
 * round-robin timeslice shares the core; at unequal priority the higher guest's idle WFI loop
 * (answered at once by libvmm, §2.10) keeps the core and the lower guest never boots, unless
 * WFI blocks (the "proper WFI" fix; here the kernel's `trapWfi: false`).
 */
import { work } from "@vmmux/microkit-pd";
import { describe, expect, it } from "vitest";
import { VmRig } from "./testing/index.js";
import { VmmProgram } from "./vmm.js";

const MS = 1_000_000;
const BURST = 5 * MS;

function twoGuests(high: number, low: number, trapWfi = true): VmRig {
  const guest = { bootBursts: [BURST], workload: { kind: "idle" as const } };
  return new VmRig({
    trapWfi,
    vms: [
      { vmmPriority: high, guest },
      { vmmPriority: low, guest },
    ],
  });
}

describe("two guests sharing the core", () => {
  it("at equal priority both boot, each in about twice its own boot time", () => {
    const rig = twoGuests(100, 100);
    rig.sys.runUntil(30 * MS);
    const up = [0, 1].map((i) => rig.machine(i).guest()?.consoleUpAt);
    for (const t of up) {
      expect(t).toBeDefined();
      expect(t!).toBeGreaterThan(1.6 * BURST);
      expect(t!).toBeLessThan(3 * BURST);
    }
  });

  it("at unequal priority the idle higher guest's WFI loop starves the lower one completely", () => {
    const rig = twoGuests(150, 100);
    rig.sys.runUntil(30 * MS);
    const high = rig.machine(0).guest();
    expect(high?.consoleUpAt).toBeLessThan(1.5 * BURST);
    expect(rig.machine(0).vmm.counters.wfiExits).toBeGreaterThan(1000);
    expect(rig.machine(1).guest()).toBeUndefined();
    expect(rig.sys.thread("guest1:vcpu0").runTime).toBe(0);
  });

  it("with blocking WFI the lower guest boots once the higher one is idle", () => {
    const rig = twoGuests(150, 100, false);
    rig.sys.runUntil(30 * MS);
    const high = rig.machine(0).guest()?.consoleUpAt;
    const low = rig.machine(1).guest()?.consoleUpAt;
    expect(high).toBeLessThan(1.5 * BURST);
    expect(low).toBeDefined();
    expect(low!).toBeGreaterThan(high!);
    expect(low!).toBeLessThan(high! + 1.5 * BURST);
  });

  it("with the higher VMM's own blocking WFI (wfi: block) the lower guest boots too", () => {
    const guest = { bootBursts: [BURST], workload: { kind: "idle" as const } };
    const rig = new VmRig({
      vms: [
        {
          vmmPriority: 150,
          guest,
          makeVmm: (config) => new VmmProgram({ ...config, wfi: "block" }),
        },
        { vmmPriority: 100, guest },
      ],
    });
    rig.sys.runUntil(30 * MS);
    const high = rig.machine(0).guest()?.consoleUpAt;
    const low = rig.machine(1).guest()?.consoleUpAt;
    expect(high).toBeLessThan(1.5 * BURST);
    expect(low).toBeDefined();
    expect(low!).toBeLessThan(high! + 1.5 * BURST);
    expect(rig.machine(0).vmm.counters.wfiExits).toBeLessThan(100);
    expect(rig.machine(0).vmm.counters.unanswered).toBe(0);
    // The lower VMM still answers at once: its idle guest loops on WFI once booted.
    expect(rig.machine(1).vmm.counters.wfiExits).toBeGreaterThan(1000);
  });

  it("a descheduled guest falls behind its trace's timestamps", () => {
    const events = [{ time: 0.003, text: "tick\r\n" }];
    const lowGuest = { bootBursts: [MS], workload: { kind: "trace" as const, events } };
    const lagOf = (rig: VmRig, i: number) => {
      const g = rig.machine(i).guest()!;
      return g.eventTimes[0]! - g.startedAt - 3 * MS;
    };
    const alone = new VmRig({ vms: [{ vmmPriority: 200, vcpuPriority: 100, guest: lowGuest }] });
    alone.sys.runUntil(20 * MS);
    expect(lagOf(alone, 0)).toBeLessThan(0.1 * MS);
    // Same guest, its vCPU started at once by a high-priority VMM, but a higher guest computes
    // for 8 ms (and then halts) while the first event falls due.
    const shared = new VmRig({
      vms: [
        { vmmPriority: 200, vcpuPriority: 100, guest: lowGuest },
        {
          vmmPriority: 150,
          customGuest: () => ({
            *run() {
              yield work("ns", 8 * MS);
            },
          }),
        },
      ],
    });
    shared.sys.runUntil(20 * MS);
    expect(shared.machine(0).guest()!.startedAt).toBeLessThan(0.1 * MS);
    expect(lagOf(shared, 0)).toBeGreaterThan(5 * MS);
  });
});
