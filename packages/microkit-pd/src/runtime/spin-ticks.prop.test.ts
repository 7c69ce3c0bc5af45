/**
 * Busy-wait replays and work steps ended in place past inert device ticks are exact
 * (inline-steps.ts `spinReplay` and `endsPastTicks`, ticks.ts `inTurns`): over generated systems of a PD that busy-waits on shared memory (spin.ts) while a
 * device ticks in trains (each tick inert but the train's last, which pulses an IRQ whose PD
 * writes the word the spinner polls and notifies it), beside an optional PD of the spinner's
 * priority that takes round-robin turns, with costs and tick intervals on a coarse grid so that
 * ticks often fall on the very instant a turn ends, a run that replays turns past the ticks
 * gives the same clock, event count, thread run times and states, turn counts, shared memory
 * and tick times as one where every tick is an ordinary event and one that resumes the code for
 * every turn. Replays and steps do pass ticks, some at a turn's end; planted variants that count
 * a tied tick as an event of its own or leave a replay's or a step's passed ticks out of the
 * event count are caught.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { work } from "../program.js";
import { describeSystem, type PlantedKernel, pdProgram } from "../testing/index.js";
import { plantedSpinTicks, plantedStepTicks } from "../testing/spin-planted.js";
import { spinnerPd } from "../testing/tick-programs.js";
import { plantedInertTicks } from "../testing/ticks-planted.js";
import { TrainTicker } from "../testing/train-ticker.js";
import { StepInliner } from "./inline-steps.js";
import { System } from "./system.js";
import type { TickRun } from "./ticks.js";

const numRuns = Number(process.env.VMMUX_PROP_RUNS ?? 40);
const seed = 0x5b17;
const IRQ = 78;

interface Gen {
  /** One busy-wait turn's cost (the `spin` work kind). */
  readonly turnNs: number;
  /** Work after each wake before the spinner waits again. */
  readonly burstNs: number;
  readonly intervalNs: number;
  readonly train: number;
  readonly firstNs: number;
  readonly spinnerPriority: number;
  readonly budgetUs: number | null;
  /** Without `budgetUs`: a round-robin slice (budget = period) this long. */
  readonly sliceUs: number;
  /** A PD of the spinner's priority working this long per round, or none. */
  readonly rivalNs: number | null;
  readonly costs: readonly number[];
  readonly runUs: number;
}

const grid = (n: number) => fc.integer({ min: 1, max: n }).map((k) => k * 100);

const genArb: fc.Arbitrary<Gen> = fc.record({
  turnNs: grid(8),
  burstNs: fc.integer({ min: 0, max: 30 }).map((k) => k * 100),
  intervalNs: fc.oneof(grid(40), fc.integer({ min: 1_000, max: 9_000 })),
  train: fc.integer({ min: 2, max: 40 }),
  firstNs: grid(50),
  spinnerPriority: fc.integer({ min: 40, max: 60 }),
  budgetUs: fc.option(fc.constantFrom(50, 200, 1000), { freq: 2 }),
  sliceUs: fc.constantFrom(1000, 100, 30),
  rivalNs: fc.option(grid(200), { freq: 2 }),
  costs: fc.array(
    fc.integer({ min: 0, max: 6 }).map((k) => k * 100),
    { minLength: 4, maxLength: 4 },
  ),
  runUs: fc.integer({ min: 1_000, max: 8_000 }),
});

function run(gen: Gen, inertTicks: boolean, inlineSteps: boolean, planted?: PlantedKernel) {
  let ticker!: TrainTicker;
  const [budget, period] =
    gen.budgetUs === null ? [gen.sliceUs, gen.sliceUs] : [gen.budgetUs, 1000];
  const rival = gen.rivalNs;
  const description = describeSystem({
    pds: [
      {
        name: "spinner",
        priority: gen.spinnerPriority,
        budget,
        period,
        maps: [{ mr: "shared" }],
      },
      { name: "irq", priority: 62, irqs: [{ id: 0, irq: IRQ }], maps: [{ mr: "shared" }] },
      ...(rival === null
        ? []
        : [
            {
              name: "rival",
              priority: gen.spinnerPriority,
              budget,
              period,
              maps: [{ mr: "shared" }],
            },
          ]),
    ],
    channels: [
      [
        { pd: "irq", id: 1 },
        { pd: "spinner", id: 1 },
      ],
      ...(rival === null
        ? []
        : [
            [
              { pd: "irq", id: 2 },
              { pd: "rival", id: 1 },
            ] as const,
          ]),
    ],
    regions: [{ name: "shared" }, { name: "ticker", size: 0x1000, physAddr: 0x9_000_000 }],
  });
  const [a, b, c, d] = gen.costs;
  const sys = new System(
    description,
    {
      programs: {
        "spinner.elf": spinnerPd(gen.burstNs),
        "irq.elf": pdProgram({
          *notified(ch, pd) {
            pd.irqAck(ch);
            const q = pd.memory("shared");
            q.store32(0, q.load32(0) + 1);
            pd.notify(1);
            if (rival !== null) pd.notify(2);
            yield work("default", 1);
          },
        }),
        "rival.elf": pdProgram({
          *notified(_ch, pd) {
            const q = pd.memory("shared");
            q.store32(12, q.load32(12) + 1);
            yield work("ns", rival ?? 0);
          },
        }),
      },
      devices: {
        ticker: (host) =>
          (ticker = new TrainTicker(host, IRQ, gen.intervalNs, gen.train, gen.firstNs)),
      },
      inertTicks,
      inlineSteps,
      recordEvents: false,
      costModel: {
        work: { default: a!, spin: gen.turnNs, ns: 1 },
        signal: b!,
        contextSwitch: c!,
        irqEntry: d!,
      },
    },
    planted?.parts,
  );
  sys.runUntil(gen.runUs * 1000);
  return {
    now: sys.now(),
    events: sys.eventsProcessed,
    threads: sys.threads(),
    shared: Array.from(sys.memory("shared").slice(0, 16)),
    fired: ticker.fired,
    pending: ticker.pending,
  };
}

const equivalent = (planted?: PlantedKernel) =>
  fc.property(genArb, (gen) => {
    const on = run(gen, true, true, planted);
    expect(on).toEqual(run(gen, false, true));
    expect(on).toEqual(run(gen, true, false));
  });

/** Counts the ticks replays and steps pass, and those due as a turn or step ends. */
class Counting extends StepInliner {
  static passed = 0;
  static tied = 0;
  static byStep = 0;
  override spinReplay(...args: Parameters<StepInliner["spinReplay"]>) {
    const r = super.spinReplay(...args);
    Counting.count(r.ticks);
    return r;
  }
  override endsPastTicks(end: number) {
    const ticks = super.endsPastTicks(end);
    if (ticks !== null) Counting.byStep += Counting.count(ticks);
    return ticks;
  }
  private static count(ticks: TickRun): number {
    const n = ticks.sources.reduce((sum, s) => sum + s.n, 0);
    Counting.passed += n;
    Counting.tied += n - ticks.untied;
    return n;
  }
}

describe("busy-wait replays past inert device ticks", () => {
  it("give the same clock, events, run times, turns, memory and tick times as firing every tick", () => {
    fc.assert(equivalent(), { seed, numRuns });
  });

  it("pass ticks in replays and steps, some as a turn ends (the property is not vacuous)", () => {
    Counting.passed = 0;
    Counting.tied = 0;
    Counting.byStep = 0;
    for (const gen of fc.sample(genArb, { seed, numRuns }))
      run(gen, true, true, { parts: { inlineSteps: (k) => new Counting(k) } });
    expect(Counting.passed - Counting.byStep).toBeGreaterThan(100);
    expect(Counting.byStep).toBeGreaterThan(10);
    expect(Counting.tied).toBeGreaterThan(0);
  });

  it.each([
    [
      "a tick due as a turn ends counted as an event of its own",
      plantedInertTicks("tie-counted-twice"),
    ],
    ["a replay's passed ticks left out of the event count", plantedSpinTicks()],
    ["a step's passed ticks left out of the event count", plantedStepTicks()],
  ] as const)("catch a planted replay: %s", (_name, planted) => {
    const result = fc.check(equivalent(planted), { seed, numRuns: 100, endOnFailure: true });
    expect(result.failed).toBe(true);
    expect(String(result.errorInstance)).toMatch(/AssertionError/);
  });
});
