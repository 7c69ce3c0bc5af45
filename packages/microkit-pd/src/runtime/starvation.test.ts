/**
 * The starvation mechanism of reference §3.4 and §4.3.6–7, measured in virtual time.
 */
import { describe, expect, it } from "vitest";
import type { FaultMessage, GuestProgram } from "../program.js";
import { work } from "../program.js";
import { describeSystem, type PdSpec, pdProgram } from "../testing/index.js";
import { System, zeroKernelCosts } from "./index.js";

const US = 1000;
const MS = 1_000_000;

const spinner = pdProgram({
  *init() {
    for (;;) yield work("us", 10);
  },
});

function spin(high: PdSpec, low: PdSpec, ms: number): System {
  const sys = new System(describeSystem({ pds: [high, low] }), {
    costModel: zeroKernelCosts,
    programs: { "spin.elf": spinner },
  });
  sys.runUntil(ms * MS);
  return sys;
}

describe("§4.3.6 round-robin SCs never throttle", () => {
  it("lets a busy higher-priority PD starve a lower one indefinitely with default budgets", () => {
    const sys = spin(
      { name: "hi", priority: 20, image: "spin.elf" },
      { name: "lo", priority: 10, image: "spin.elf" },
      100,
    );
    expect(sys.thread("hi").runTime).toBe(100 * MS);
    expect(sys.thread("lo").runTime).toBe(0);
    expect(sys.log.filter((e) => e.type === "budget" && e.action === "exhausted")).toHaveLength(
      100,
    );
  });

  it("shares the core between equal priorities in 1 ms slices", () => {
    const sys = spin(
      { name: "a", priority: 10, image: "spin.elf" },
      { name: "b", priority: 10, image: "spin.elf" },
      100,
    );
    expect(sys.thread("a").runTime).toBe(50 * MS);
    expect(sys.thread("b").runTime).toBe(50 * MS);
    const switches = sys.log.flatMap((e) =>
      e.type === "switch" && e.to !== "monitor" && e.from !== "monitor" ? [e.t] : [],
    );
    const gaps = switches.slice(1).map((t, i) => t - switches[i]!);
    expect(new Set(gaps)).toEqual(new Set([1 * MS]));
  });
});

describe("§4.3.7 sporadic SCs (budget < period)", () => {
  it("caps the higher PD at budget/period and lets the lower one run the rest", () => {
    const sys = spin(
      { name: "hi", priority: 20, budget: 200, period: 1000, image: "spin.elf" },
      { name: "lo", priority: 10, image: "spin.elf" },
      100,
    );
    expect(sys.thread("hi").runTime).toBe(20 * MS);
    expect(sys.thread("lo").runTime).toBe(80 * MS);
    const hiRuns = sys.log.flatMap((e) => (e.type === "switch" && e.to === "hi" ? [e.t] : []));
    expect(hiRuns.slice(0, 4)).toEqual([0, 1 * MS, 2 * MS, 3 * MS]);
  });

  it("lets a sporadic PD that blocks early keep its unused budget within the period", () => {
    const sys = new System(
      describeSystem({
        pds: [
          {
            name: "hi",
            priority: 20,
            budget: 300,
            period: 1000,
            irqs: [{ id: 0, irq: 90, trigger: "edge" }],
          },
          { name: "lo", priority: 10, image: "spin.elf" },
        ],
      }),
      {
        costModel: zeroKernelCosts,
        programs: {
          "spin.elf": spinner,
          "hi.elf": pdProgram({
            *notified(ch, pd) {
              for (let i = 0; i < 10; i++) yield work("us", 10);
              pd.irqAck(ch);
            },
          }),
        },
      },
    );
    // Three 100 µs jobs at 0.1, 0.25 and 0.4 ms fit the 300 µs budget. Their refills are due at
    // 1.1, 1.25 and 1.4 ms, but with at most two refills (§3.2 rule 2) the second is merged into
    // the tail refill, moving it to 1.15 ms (200 µs); the fourth job waits until then.
    for (const t of [100, 250, 400, 550]) {
      sys.at(t * US, () => {
        sys.setIrqLevel(90, true);
        sys.setIrqLevel(90, false);
      });
    }
    sys.runUntil(3 * MS);
    const jobs = sys.log.flatMap((e) =>
      e.type === "entry" && e.thread === "hi" && e.entry === "notified" ? [e.t] : [],
    );
    expect(jobs).toEqual([100 * US, 250 * US, 400 * US, 1150 * US]);
    expect(sys.thread("hi").runTime).toBe(400 * US);
  });
});

describe("MIN_BUDGET (reference §3.2, §4.4)", () => {
  const chunky = pdProgram({
    *init() {
      for (;;) yield work("us", 30);
    },
  });

  it("ends a slice at the first kernel entry where less than MIN_BUDGET would remain", () => {
    const sys = new System(
      describeSystem({
        pds: [
          { name: "a", priority: 10, budget: 100, image: "chunky.elf" },
          { name: "b", priority: 10, budget: 100, image: "chunky.elf" },
        ],
      }),
      { costModel: zeroKernelCosts, programs: { "chunky.elf": chunky }, minBudgetUs: 20 },
    );
    sys.runUntil(1 * MS);
    const exhausted = sys.log.flatMap((e) => (e.type === "budget" ? [e.t / US] : []));
    // Entries at 30, 60, 90 µs: at 90 only 10 µs (< 20) would remain, so the slice ends there.
    expect(exhausted.slice(0, 3)).toEqual([90, 180, 270]);
  });

  it("rejects a budget below MIN_BUDGET at load", () => {
    const attempt = () =>
      new System(describeSystem({ pds: [{ name: "a", budget: 10, image: "chunky.elf" }] }), {
        programs: { "chunky.elf": chunky },
        minBudgetUs: 20,
      });
    expect(attempt).toThrow("thread 'a': budget 10000 ns is below MIN_BUDGET 20000 ns");
  });
});

describe("§3.5 T5: two VMM/guest pairs", () => {
  /** A Linux-like guest: compute-bound, with a trap every 20 µs of work (timer, console, WFI). */
  const guest = (progress: { work: number }): GuestProgram => ({
    *run(vcpu) {
      for (;;) {
        yield work("us", 20);
        progress.work += 20;
        yield* vcpu.wfi();
      }
    },
  });
  const vmmProgram = pdProgram({
    *init(pd) {
      pd.vcpuRestart(0);
    },
    *fault(_child, _msg: FaultMessage) {
      yield work("us", 5);
      return { resume: true };
    },
  });

  function pair(name: string, priority: number, vmm: Partial<PdSpec> = {}): PdSpec {
    return { name, priority, image: "vmm.elf", ...vmm, vm: { name: `${name}_guest`, priority } };
  }

  function run(h: PdSpec, l: PdSpec) {
    const high = { work: 0 };
    const low = { work: 0 };
    const sys = new System(describeSystem({ pds: [h, l] }), {
      programs: { "vmm.elf": vmmProgram },
      guests: { [`${h.name}_guest`]: guest(high), [`${l.name}_guest`]: guest(low) },
    });
    sys.runUntil(20 * MS);
    return { sys, high: high.work, low: low.work };
  }

  it("starves guest L completely when VMM-H and vCPU-H have round-robin SCs", () => {
    const { sys, low, high } = run(pair("vmm_h", 200), pair("vmm_l", 100));
    expect(low).toBe(0);
    expect(sys.thread("vmm_l_guest:vcpu0").runTime).toBe(0);
    expect(high).toBeGreaterThan(10_000);
  });

  it("runs guest L only while VMM-H is throttled with a fault pending (budget 100 / period 400 µs)", () => {
    const { sys, low, high } = run(
      pair("vmm_h", 200, { budget: 100, period: 400 }),
      pair("vmm_l", 100),
    );
    expect(low).toBeGreaterThan(0);
    expect(high).toBeGreaterThan(low);
    // Every stretch in which the low pair holds the core starts when VMM-H is throttled and ends
    // when its refill releases it.
    const throttled = new Set(
      sys.log.flatMap((e) =>
        e.type === "budget" && e.thread === "vmm_h" && e.action === "throttled" ? [e.t] : [],
      ),
    );
    const released = new Set(
      sys.log.flatMap((e) =>
        e.type === "budget" && e.thread === "vmm_h" && e.action === "released" ? [e.t] : [],
      ),
    );
    const lowPair = new Set(["vmm_l", "vmm_l_guest:vcpu0"]);
    let windows = 0;
    for (const e of sys.log) {
      if (e.type !== "switch") continue;
      const fromLow = e.from !== null && lowPair.has(e.from);
      const toLow = e.to !== null && lowPair.has(e.to);
      if (toLow && !fromLow) {
        windows++;
        expect(throttled.has(e.t)).toBe(true);
      }
      if (fromLow && !toLow && e.to !== "monitor") expect(released.has(e.t)).toBe(true);
    }
    expect(windows).toBeGreaterThan(10);
  });

  it("alternates the guests in ~1 ms slices at equal priority", () => {
    const { high, low } = run(pair("vmm_h", 100), pair("vmm_l", 100));
    expect(low).toBeGreaterThan(0);
    expect(Math.abs(high - low) / (high + low)).toBeLessThan(0.1);
  });
});
