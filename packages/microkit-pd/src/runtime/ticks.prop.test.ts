/**
 * Fast-forward past inert device ticks is exact (ticks.ts): over generated systems of an idle
 * VM beside a device that ticks in trains (each tick inert but the train's last, which pulses
 * an IRQ a PD forwards to the VMM, which injects a virtual IRQ), with costs and tick intervals
 * on a coarse grid so that ticks often fall on the very instant a work step ends, a run with
 * `fastForward` and inert ticks gives the same clock, event count, thread run times and states,
 * VMM counters, guest output and tick times as one without fast-forward and one with every
 * tick an ordinary event. Leaps do pass ticks, some of them tied with a timer expiry, some
 * crossing round-robin slice ends, some at the very instant a slice runs out; planted variants
 * that count a tied tick as an event of its own, or miss a slice end's tie, are caught.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { PdProgram, RepeatableExit } from "../program.js";
import { work } from "../program.js";
import { describeSystem, type PlantedKernel, pdProgram } from "../testing/index.js";
import { steppedGuest } from "../testing/tick-programs.js";
import { plantedInertTicks } from "../testing/ticks-planted.js";
import { TrainTicker } from "../testing/train-ticker.js";
import { System } from "./system.js";
import { Ticks } from "./ticks.js";

const numRuns = Number(process.env.VMMUX_PROP_RUNS ?? 40);
const seed = 0x71c5;
const IRQ = 77;

interface Gen {
  readonly passNs: number;
  readonly costs: readonly number[];
  readonly intervalNs: number;
  readonly train: number;
  readonly firstNs: number;
  readonly vcpuPriority: number;
  readonly budgetUs: number | null;
  /** Without `budgetUs`: a round-robin slice (budget = period) this long. */
  readonly sliceUs: number;
  readonly steps: readonly { readonly burstUs: number; readonly gapUs: number }[];
  readonly runUs: number;
}

const grid = (n: number) => fc.integer({ min: 1, max: n }).map((k) => k * 100);

const genArb: fc.Arbitrary<Gen> = fc.record({
  passNs: grid(6),
  costs: fc.array(
    fc.integer({ min: 0, max: 6 }).map((k) => k * 100),
    {
      minLength: 5,
      maxLength: 5,
    },
  ),
  intervalNs: fc.oneof(grid(40), fc.integer({ min: 1_000, max: 9_000 })),
  train: fc.integer({ min: 2, max: 40 }),
  firstNs: grid(50),
  vcpuPriority: fc.integer({ min: 40, max: 60 }),
  budgetUs: fc.option(fc.constantFrom(50, 200, 1000), { freq: 2 }),
  sliceUs: fc.constantFrom(1000, 100, 30),
  steps: fc.array(
    fc.record({
      burstUs: fc.integer({ min: 0, max: 100 }),
      gapUs: fc.integer({ min: 0, max: 3000 }),
    }),
    { maxLength: 3 },
  ),
  runUs: fc.integer({ min: 1_000, max: 8_000 }),
});

interface Record_ {
  exits: number;
  wfi: number;
  readonly written: number[];
}

function vmm(record: Record_): PdProgram {
  const repeat: RepeatableExit = {
    repeat(times) {
      record.exits += times;
      record.wfi += times;
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
      record.exits++;
      if (msg.kind !== "vcpu") return { resume: false };
      yield work("default", 1);
      if (msg.exit.kind === "wfi") {
        record.wfi++;
        return { resume: true, repeatable: repeat };
      }
      if (msg.exit.kind === "hypercall") record.written.push(pd.now(), msg.exit.fn);
      return { resume: true, value: 0 };
    },
  });
}

function run(gen: Gen, fastForward: boolean, inertTicks: boolean, planted?: PlantedKernel) {
  const record: Record_ = { exits: 0, wfi: 0, written: [] };
  let ticker!: TrainTicker;
  const [budget, period] =
    gen.budgetUs === null ? [gen.sliceUs, gen.sliceUs] : [gen.budgetUs, 1000];
  const description = describeSystem({
    pds: [
      {
        name: "vmm",
        priority: 61,
        vm: { name: "vm", priority: gen.vcpuPriority, budget, period },
      },
      { name: "irq", priority: 62, irqs: [{ id: 0, irq: IRQ }] },
    ],
    channels: [
      [
        { pd: "irq", id: 1 },
        { pd: "vmm", id: 1 },
      ],
    ],
    regions: [{ name: "ticker", size: 0x1000, physAddr: 0x9_000_000 }],
  });
  const [a, b, c, d, e] = gen.costs;
  const sys = new System(
    description,
    {
      programs: {
        "vmm.elf": vmm(record),
        "irq.elf": pdProgram({
          *notified(ch, pd) {
            pd.irqAck(ch);
            pd.notify(1);
            yield work("default", 1);
          },
        }),
      },
      guests: { vm: steppedGuest(gen.passNs, gen.steps) },
      devices: {
        ticker: (host) =>
          (ticker = new TrainTicker(host, IRQ, gen.intervalNs, gen.train, gen.firstNs)),
      },
      fastForward,
      inertTicks,
      recordEvents: false,
      costModel: {
        work: { default: a!, mmio: 0 },
        faultIpc: b!,
        contextSwitch: c!,
        recv: d!,
        reply: e!,
      },
    },
    planted?.parts,
  );
  sys.runUntil(gen.runUs * 1000);
  return {
    now: sys.now(),
    events: sys.eventsProcessed,
    threads: sys.threads(),
    record,
    fired: ticker.fired,
    pending: ticker.pending,
  };
}

const equivalent = (planted?: PlantedKernel) =>
  fc.property(genArb, (gen) => {
    const on = run(gen, true, true, planted);
    const off = run(gen, false, true);
    const plain = run(gen, true, false);
    expect(on).toEqual(off);
    expect(plain).toEqual(off);
  });

/** A kernel part that counts the ticks leaps pass, tied or not, and leaps that cross slice ends. */
class Counting extends Ticks {
  static passed = 0;
  static tied = 0;
  static atSliceEnds = 0;
  static crossing = 0;
  protected override eventsOf(tied: boolean): number {
    Counting.passed++;
    if (tied) Counting.tied++;
    return super.eventsOf(tied);
  }
  protected override atSliceEnd(t: number, sliceEnds: Set<number>): boolean {
    const tied = super.atSliceEnd(t, sliceEnds);
    if (tied) Counting.atSliceEnds++;
    return tied;
  }
  override bound(...args: Parameters<Ticks["bound"]>): ReturnType<Ticks["bound"]> {
    const fit = super.bound(...args);
    if (fit.run.sources.length > 0 && args[3](fit.count).length > 0) Counting.crossing++;
    return fit;
  }
}

describe("inert device ticks in fast-forward", () => {
  it("gives the same clock, events, run times, counters, output and tick times as firing every tick", () => {
    fc.assert(equivalent(), { seed, numRuns });
  });

  it("passes ticks in leaps, some at a timer's expiry, some across slice ends (the property is not vacuous)", () => {
    Counting.passed = 0;
    Counting.tied = 0;
    Counting.atSliceEnds = 0;
    Counting.crossing = 0;
    for (const gen of fc.sample(genArb, { seed, numRuns }))
      run(gen, true, true, { parts: { ticks: (k, on) => new Counting(k, on) } });
    expect(Counting.passed).toBeGreaterThan(100);
    expect(Counting.tied).toBeGreaterThan(0);
    expect(Counting.crossing).toBeGreaterThan(0);
    expect(Counting.atSliceEnds).toBeGreaterThan(0);
  });

  it.each(["tie-counted-twice", "slice-end-missed"] as const)(
    "catches a planted leap with an inert-tick defect: %s",
    (bug) => {
      const result = fc.check(equivalent(plantedInertTicks(bug)), {
        seed,
        numRuns: 100,
        endOnFailure: true,
      });
      expect(result.failed).toBe(true);
      expect(String(result.errorInstance)).toMatch(/AssertionError/);
    },
  );
});
