/**
 * Fast-forward of idle guests under the real VMM and Linux guest model (microkit-pd README
 * "Fast-forward"): with `fastForward` on and off, the clock, event count, thread run times,
 * VMM counters, what each guest wrote and when serial_tx drained it come out the same, for
 * guests that print recorded output between idle stretches at equal and unequal priorities, on
 * round-robin and sporadic vCPU budgets, under both profiles, with keyboard input.
 */
import { describe, expect, it } from "vitest";
import type { RigVm } from "./testing/index.js";
import { VmRig } from "./testing/index.js";

const trace = (offset: number) => ({
  workload: {
    kind: "trace" as const,
    events: [
      { time: 0.004 + offset, text: "[    0.000000] Booting Linux\r\n" },
      { time: 0.011 + offset, text: "login: " },
      { time: 0.027 + offset, text: "\r\nWelcome\r\n" },
    ],
    thenShell: true,
  },
});

function observe(vms: readonly RigVm[], fastForward: boolean, typed: boolean) {
  const rig = new VmRig({ fastForward, vms });
  if (typed) rig.type(0, 18_000_000, "ls\r");
  rig.sys.runUntil(40_000_000);
  return {
    now: rig.sys.now(),
    events: rig.sys.eventsProcessed,
    threads: rig.sys.threads(),
    machines: rig.machines.map((m) => ({
      counters: { ...m.vmm.counters },
      tx: m.tx,
      written: m.guest()?.written,
      eventTimes: m.guest()?.eventTimes,
    })),
    collapsed: rig.sys.log.filter((e) => e.type === "idle").length,
  };
}

/** `collapses`: whether idle runs are applied (sporadic SCs that run keep a period from it). */
const cases: { name: string; vms: RigVm[]; typed: boolean; collapses: boolean }[] = [
  {
    name: "equal priorities",
    vms: [{ guest: trace(0) }, { guest: trace(0.002) }],
    typed: true,
    collapses: true,
  },
  {
    name: "one guest above the other",
    vms: [{ vmmPriority: 111, vcpuPriority: 110, guest: trace(0) }, { guest: trace(0.001) }],
    typed: false,
    collapses: true,
  },
  {
    name: "sporadic vCPU budgets, reference profile",
    vms: [
      { profile: "reference", vcpuBudgetUs: 300, vcpuPeriodUs: 1000, guest: trace(0) },
      { vcpuBudgetUs: 500, vcpuPeriodUs: 700, guest: trace(0.003) },
    ],
    typed: true,
    collapses: false,
  },
];

describe("fast-forward under the VMM", () => {
  for (const c of cases) {
    it(`changes nothing observable: ${c.name}`, () => {
      const on = observe(c.vms, true, c.typed);
      const off = observe(c.vms, false, c.typed);
      expect(on.collapsed > 0).toBe(c.collapses);
      expect(off.collapsed).toBe(0);
      const { collapsed: _a, ...rest } = on;
      const { collapsed: _b, ...restOff } = off;
      expect(rest).toEqual(restOff);
    });
  }
});
