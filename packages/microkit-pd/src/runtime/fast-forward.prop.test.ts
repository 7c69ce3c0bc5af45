/**
 * Fast-forward is exact (fast-forward.ts): over generated systems of VMMs and guests — guests
 * that compute, print through hypercalls and idle on trapped WFI until their own deadlines or an
 * IRQ, at generated priorities, round-robin and sporadic budgets, domain schedules, timer IRQs
 * and cost models — a run with `fastForward` and one without give the same clock, event count,
 * thread run times and states, VMM counters, guest output with its times, and event log outside
 * the collapsed `idle` runs. Lone spinners (a vCPU idling at the top priority for many slices,
 * its VMM above it, with or without a starved guest below) cover leaps across round-robin slice
 * boundaries; guests of one priority sharing the core cover leaps one measured period after a
 * hand-over, by a thread's memo. A planted variant that applies one period too many before a
 * slice boundary is caught, and so are one that counts one timer event too few for the
 * boundaries a leap crosses, one that applies a split of slice time measured right after a
 * hand-over, and one that leaves out the `budget` record of a slice running out at a leap's last
 * instant (lone spinners whose passes divide their slices, with no kernel costs, make those).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { GuestProgram, PdProgram, RepeatableExit } from "../program.js";
import { work } from "../program.js";
import { plantedResume, plantedSliceCrossing } from "../testing/fast-forward-planted.js";
import {
  describeSystem,
  type PdSpec,
  type PlantedKernel,
  pdProgram,
  plantedFastForward,
  type SystemSpec,
} from "../testing/index.js";
import { leapWindows, outsideLeaps } from "../testing/log-checks.js";
import { FastForward, type Leap } from "./fast-forward.js";
import type { Anchor } from "./fast-forward-arena.js";
import type { Kernel } from "./kernel.js";
import { System } from "./system.js";
import type { Thread } from "./tcb.js";

const numRuns = Number(process.env.VMMUX_PROP_RUNS ?? 40);
const seed = 0xff01;

interface GuestStepGen {
  readonly burstUs: number;
  readonly print: boolean;
  readonly gapUs: number;
}

interface VmGen {
  readonly vmmPriority: number;
  readonly vcpuPriority: number;
  /** µs; equal to `periodUs` for a round-robin SC. */
  readonly budgetUs: number;
  readonly periodUs: number;
  readonly passNs: number;
  readonly steps: readonly GuestStepGen[];
  /** A timer IRQ routed through a PD to this VMM, which injects a virtual IRQ (µs period). */
  readonly tickUs: number | null;
}

interface SystemGen {
  readonly vms: readonly VmGen[];
  readonly domains: readonly [number, number] | null;
  readonly scale: readonly number[];
  readonly runUs: number;
}

const vmArb: fc.Arbitrary<VmGen> = fc
  .record({
    vmmPriority: fc.integer({ min: 50, max: 52 }),
    vcpuPriority: fc.integer({ min: 48, max: 52 }),
    rr: fc.boolean(),
    periodUs: fc.constantFrom(100, 300, 1000),
    share: fc.integer({ min: 20, max: 80 }),
    passNs: fc.integer({ min: 1, max: 400 }),
    steps: fc.array(
      fc.record({
        burstUs: fc.integer({ min: 0, max: 300 }),
        print: fc.boolean(),
        gapUs: fc.integer({ min: 0, max: 4000 }),
      }),
      { maxLength: 4 },
    ),
    tickUs: fc.option(fc.integer({ min: 500, max: 5000 }), { freq: 3 }),
  })
  .map((g) => ({
    vmmPriority: g.vmmPriority,
    vcpuPriority: g.vcpuPriority,
    periodUs: g.periodUs,
    budgetUs: g.rr ? g.periodUs : Math.max(10, Math.round((g.periodUs * g.share) / 100)),
    passNs: g.passNs,
    steps: g.steps,
    tickUs: g.tickUs,
  }));

const mixedArb: fc.Arbitrary<SystemGen> = fc.record({
  vms: fc.array(vmArb, { minLength: 1, maxLength: 2 }),
  domains: fc.option(
    fc.tuple(fc.integer({ min: 200, max: 3000 }), fc.integer({ min: 200, max: 3000 })),
    { freq: 4 },
  ),
  scale: fc.array(fc.integer({ min: 0, max: 20 }), { minLength: 6, maxLength: 6 }),
  runUs: fc.integer({ min: 2_000, max: 12_000 }),
});

/** A vCPU at the top priority on a round-robin SC, its VMM above it: a burst, then idle for good. */
function loneSpinner(g: { periodUs: number; passNs: number; burstUs: number }): VmGen {
  return {
    vmmPriority: 62,
    vcpuPriority: 61,
    budgetUs: g.periodUs,
    periodUs: g.periodUs,
    passNs: g.passNs,
    steps: [{ burstUs: g.burstUs, print: true, gapUs: 0 }],
    tickUs: null,
  };
}

/**
 * The write-up's starvation case in small: a vCPU alone at the top priority, round-robin, that
 * idles on trapped WFI for many slices (its VMM just above it), with or without a lower-priority
 * guest that has work and output due and never gets the core.
 */
const spinnerArb: fc.Arbitrary<SystemGen> = fc
  .record({
    periodUs: fc.constantFrom(20, 50, 100, 300, 1000),
    passNs: fc.integer({ min: 1, max: 3000 }),
    burstUs: fc.integer({ min: 0, max: 200 }),
    starved: fc.option(vmArb, { freq: 2 }),
    scale: fc.array(fc.integer({ min: 0, max: 20 }), { minLength: 6, maxLength: 6 }),
    runUs: fc.integer({ min: 5_000, max: 30_000 }),
  })
  .map((g) => {
    const spinner = loneSpinner(g);
    return {
      vms: g.starved === null ? [spinner] : [spinner, g.starved],
      domains: null,
      scale: g.scale,
      runUs: g.runUs,
    };
  });

/**
 * A lone spinner with no kernel costs whose pass divides its slice: each slice runs out at the
 * instant a pass ends, where the idle period (two slices or more) and so a leap ends too.
 */
const alignedSpinnerArb: fc.Arbitrary<SystemGen> = fc
  .record({
    periodUs: fc.constantFrom(20, 30, 100),
    passNs: fc.constantFrom(100, 250, 500, 1000),
    burstUs: fc.integer({ min: 0, max: 200 }),
    runUs: fc.integer({ min: 2_000, max: 10_000 }),
  })
  .map((g) => ({
    vms: [loneSpinner(g)],
    domains: null,
    scale: [0, 0, 0, 0, 0, 0],
    runUs: g.runUs,
  }));

const systemArb: fc.Arbitrary<SystemGen> = fc.oneof(mixedArb, spinnerArb, alignedSpinnerArb);

interface VmRecord {
  readonly counters: { exits: number; wfi: number };
  readonly written: number[];
}

/** A libvmm-like VMM: starts vCPU 0, answers WFI at once (repeatably), records hypercall output. */
function vmmProgram(record: VmRecord): PdProgram {
  const repeat: RepeatableExit = {
    repeat(times) {
      record.counters.exits += times;
      record.counters.wfi += times;
    },
  };
  return pdProgram({
    *init(pd) {
      yield work("us", 1);
      pd.vcpuRestart(0);
    },
    *notified(_ch, pd) {
      pd.vcpuInjectIrq(0, 40);
      yield work("default", 1);
    },
    *fault(_child, msg, pd) {
      record.counters.exits++;
      if (msg.kind !== "vcpu") return { resume: false };
      const exit = msg.exit;
      yield work("default", 1);
      if (exit.kind === "wfi") {
        record.counters.wfi++;
        return { resume: true, repeatable: repeat };
      }
      if (exit.kind === "hypercall") record.written.push(pd.now(), exit.fn);
      return { resume: true, value: 0 };
    },
  });
}

/** A guest that computes, prints, and idles until its deadline, then idles for good. */
function guestProgram(vm: VmGen): GuestProgram {
  return {
    *run(vcpu) {
      const pass = work("ns", vm.passNs);
      let n = 0;
      for (const step of vm.steps) {
        yield work("us", step.burstUs);
        if (step.print) yield* vcpu.hypercall(0x100 + n++);
        const due = vcpu.now() + step.gapUs * 1000;
        while (vcpu.now() < due) {
          yield* vcpu.idle({ pass, until: (now) => now >= due });
          for (let irq = vcpu.takeIrq(); irq !== undefined; irq = vcpu.takeIrq())
            yield* vcpu.eoi(irq);
        }
      }
      for (;;) {
        yield* vcpu.idle({ pass });
        for (let irq = vcpu.takeIrq(); irq !== undefined; irq = vcpu.takeIrq())
          yield* vcpu.eoi(irq);
      }
    },
  };
}

function build(gen: SystemGen, fastForward: boolean, planted?: PlantedKernel) {
  const pds: PdSpec[] = [];
  const channels: NonNullable<SystemSpec["channels"]>[number][] = [];
  const records: VmRecord[] = [];
  const programs: Record<string, PdProgram> = {};
  const guests: Record<string, GuestProgram> = {};
  const ticks: { irq: number; us: number }[] = [];
  gen.vms.forEach((vm, i) => {
    const record: VmRecord = { counters: { exits: 0, wfi: 0 }, written: [] };
    records.push(record);
    pds.push({
      name: `vmm${i}`,
      priority: vm.vmmPriority,
      ...(gen.domains ? { domain: i === 0 ? "d0" : "d1" } : {}),
      vm: {
        name: `vm${i}`,
        priority: vm.vcpuPriority,
        budget: vm.budgetUs,
        period: vm.periodUs,
      },
    });
    programs[`vmm${i}.elf`] = vmmProgram(record);
    guests[`vm${i}`] = guestProgram(vm);
    if (vm.tickUs !== null) {
      const irq = 100 + i;
      pds.push({
        name: `tick${i}`,
        priority: 60,
        ...(gen.domains ? { domain: i === 0 ? "d0" : "d1" } : {}),
        irqs: [{ id: 0, irq }],
      });
      channels.push([
        { pd: `tick${i}`, id: 1 },
        { pd: `vmm${i}`, id: 1 },
      ]);
      programs[`tick${i}.elf`] = pdProgram({
        *notified(ch, pd) {
          pd.irqAck(ch);
          pd.notify(1);
          yield work("default", 1);
        },
      });
      ticks.push({ irq, us: vm.tickUs });
    }
  });
  const [a, b, c, d, e, f] = gen.scale.map((s) => s / 10);
  const spec: SystemSpec = {
    pds,
    channels,
    ...(gen.domains
      ? {
          domains: {
            domains: ["d0", "d1"],
            schedule: [
              { domain: "d0", us: gen.domains[0] },
              { domain: "d1", us: gen.domains[1] },
            ],
          },
        }
      : {}),
  };
  const sys = new System(
    describeSystem(spec),
    {
      programs,
      guests,
      fastForward,
      vcpuDomain: "vmm",
      costModel: {
        work: { default: Math.round(100 * a!), mmio: Math.round(40 * b!) },
        faultIpc: Math.round(800 * c!),
        contextSwitch: Math.round(300 * d!),
        recv: Math.round(200 * e!),
        reply: Math.round(400 * f!),
      },
    },
    planted?.parts,
  );
  for (const tick of ticks) {
    const fire = (t: number) =>
      sys.at(t, () => {
        sys.setIrqLevel(tick.irq, true);
        sys.setIrqLevel(tick.irq, false);
        fire(t + tick.us * 1000);
      });
    fire(tick.us * 1000);
  }
  return { sys, records };
}

function observe(gen: SystemGen, planted?: PlantedKernel) {
  const run = (ff: boolean) => {
    const { sys, records } = build(gen, ff, ff ? planted : undefined);
    sys.runUntil(gen.runUs * 1000);
    return { sys, records };
  };
  const on = run(true);
  const off = run(false);
  const windows = leapWindows(on.sys.log);
  const view = (r: ReturnType<typeof run>) => ({
    now: r.sys.now(),
    events: r.sys.eventsProcessed,
    threads: r.sys.threads(),
    records: r.records,
    log: outsideLeaps(r.sys.log, windows),
  });
  const budgets = (r: ReturnType<typeof run>) =>
    r.sys.log.filter((e) => e.type === "budget").length;
  // Slice boundaries inside collapsed runs: logged only when every trap is simulated.
  const crossed = budgets(off) - budgets(on);
  return { on: view(on), off: view(off), collapsed: windows.length, crossed };
}

/** Counts leaps a thread's memo made possible, after one measured period or none (fast-forward-resume.ts). */
class CountingResumes extends FastForward {
  static resumed = 0;
  static unmeasured = 0;
  protected override resumeLeap(anchor: Anchor, n: number, t: Thread): Leap | null {
    const leap = super.resumeLeap(anchor, n, t);
    if (leap !== null) CountingResumes.resumed++;
    return leap;
  }
  protected override memoLeap(anchor: Anchor, t: Thread): Leap | null {
    const leap = super.memoLeap(anchor, t);
    if (leap !== null) CountingResumes.unmeasured++;
    return leap;
  }
}

/** Leaps from a memo alone left out: every leap after a hand-over measures one period first. */
class MeasuredResumes extends CountingResumes {
  protected override memoLeap(): null {
    return null;
  }
}
const measuredResumes = {
  parts: { fastForward: (k: Kernel, on: boolean) => new MeasuredResumes(k, on) },
};

const equivalent = (planted?: PlantedKernel, arb = systemArb) =>
  fc.property(arb, (gen) => {
    const { on, off } = observe(gen, planted);
    expect(on.now).toBe(off.now);
    expect(on.events).toBe(off.events);
    expect(on.threads).toEqual(off.threads);
    expect(on.records).toEqual(off.records);
    expect(on.log).toEqual(off.log);
  });

describe("fast-forward", () => {
  it("gives the same clock, events, run times, counters, output and log as simulating every trap", () => {
    fc.assert(equivalent(), { seed, numRuns });
  });

  it("collapses idle runs in most generated systems (the property is not vacuous)", () => {
    let collapsed = 0;
    for (const gen of fc.sample(systemArb, { seed, numRuns: 20 })) {
      if (observe(gen).collapsed > 0) collapsed++;
    }
    expect(collapsed).toBeGreaterThanOrEqual(5);
  });

  it("crosses round-robin slice boundaries in most lone-spinner systems (not vacuous either)", () => {
    let crossing = 0;
    for (const gen of fc.sample(spinnerArb, { seed, numRuns: 12 })) {
      if (observe(gen).crossed > 0) crossing++;
    }
    expect(crossing).toBeGreaterThanOrEqual(6);
  });

  it("gives the same with leaps from a memo alone left out (one period measured after a hand-over)", () => {
    fc.assert(equivalent(measuredResumes), { seed, numRuns: 20 });
  });

  it("leaps after a hand-over or a taint by a thread's memo, with one measured period or none (not vacuous either)", () => {
    const systems = (parts: PlantedKernel, counter: () => number) => {
      let n = 0;
      for (const gen of fc.sample(systemArb, { seed, numRuns: 20 })) {
        const before = counter();
        observe(gen, parts);
        if (counter() > before) n++;
      }
      return n;
    };
    const counting = {
      parts: { fastForward: (k: Kernel, on: boolean) => new CountingResumes(k, on) },
    };
    expect(systems(counting, () => CountingResumes.unmeasured)).toBeGreaterThanOrEqual(3);
    expect(systems(measuredResumes, () => CountingResumes.resumed)).toBeGreaterThanOrEqual(3);
  });

  it("catches a planted leap that applies a split of slice time measured right after a hand-over", () => {
    const result = fc.check(equivalent(plantedResume("split-as-measured"), mixedArb), {
      seed,
      numRuns: 100,
      endOnFailure: true,
    });
    expect(result.failed).toBe(true);
    // Either an observable differs, or the kernel trips its own check (a slice overdrawn).
    expect(String(result.errorInstance)).toMatch(/AssertionError|armed a timer of -/);
  });

  it.each([
    ["boundary-event-short", "counts one timer event too few"],
    ["end-record-dropped", "leaves out the budget record of a slice ending at the leap's end"],
  ] as const)("catches a planted slice crossing (%s) that %s", (bug, _what) => {
    const result = fc.check(equivalent(plantedSliceCrossing(bug)), {
      seed,
      numRuns: 100,
      endOnFailure: true,
    });
    expect(result.failed).toBe(true);
    expect(String(result.errorInstance)).toMatch(/AssertionError/);
  });

  it("catches a planted fast-forward that applies one period too many before a slice boundary", () => {
    const result = fc.check(equivalent(plantedFastForward("period-past-slice")), {
      seed,
      numRuns: 100,
      endOnFailure: true,
    });
    expect(result.failed).toBe(true);
    // Either an observable differs, or the kernel trips its own check (a slice overdrawn).
    expect(String(result.errorInstance)).toMatch(/AssertionError|armed a timer of -/);
  });
});
