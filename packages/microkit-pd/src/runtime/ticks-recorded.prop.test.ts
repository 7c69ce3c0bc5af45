/**
 * Inert device ticks in a recorded run are exact (ticks.ts): over generated systems — an idle VM
 * (fast-forward leaps) or a PD that busy-waits on shared memory beside an optional round-robin
 * rival (busy-wait replays, work steps ended in place) — with one or two devices ticking in
 * trains on a coarse grid (ticks of both often due at one instant, and at the very instant a
 * step or turn ends), each tick writing trace records (testing/traced-ticks.ts), a run with inert
 * ticks gives the same whole event log (every record, in order), event count, clock, run times
 * and tick times as one where every tick is an ordinary event, with and without fast-forward
 * (with it, outside the collapsed `idle` runs of either); unrecorded, the same but the log. A
 * device that does not declare `tracesPassed` keeps its ticks ordinary. Passes do write records,
 * in leaps too, some for two devices' ticks due at one instant; planted variants that stamp a
 * passed record with the kernel's clock, drop one, order two devices' ticks due at one instant by
 * device, or let both of two ticks due at one timer expiry do its work are caught.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { PdProgram, RepeatableExit } from "../program.js";
import { work } from "../program.js";
import { describeSystem, type PlantedKernel, pdProgram } from "../testing/index.js";
import { comparableLogs } from "../testing/log-checks.js";
import { spinnerPd, steppedGuest } from "../testing/tick-programs.js";
import {
  type PlantedTickRecordBug,
  plantedTickRecords,
} from "../testing/ticks-recorded-planted.js";
import { tracedTicks } from "../testing/traced-ticks.js";
import { TrainTicker } from "../testing/train-ticker.js";
import type { RuntimeEvent } from "./event-log.js";
import { System } from "./system.js";
import { type PassedTicks, Ticks } from "./ticks.js";

const numRuns = Number(process.env.VMMUX_PROP_RUNS ?? 40);
const seed = 0x7ec0;
const IRQS = [77, 78];

interface TickerGen {
  readonly intervalNs: number;
  readonly train: number;
  readonly firstNs: number;
  /** The device declares `tracesPassed` (else its ticks stay ordinary while recording). */
  readonly declared: boolean;
}

interface Gen {
  readonly kind: "vm" | "spin";
  readonly passNs: number;
  readonly burstNs: number;
  readonly priority: number;
  readonly budgetUs: number | null;
  /** Without `budgetUs`: a round-robin slice (budget = period) this long. */
  readonly sliceUs: number;
  /** Spin: a PD of the spinner's priority working this long per round, or none. */
  readonly rivalNs: number | null;
  /** VM: bursts of guest work, each followed by an idle stretch with a deadline. */
  readonly steps: readonly { readonly burstUs: number; readonly gapUs: number }[];
  readonly tickers: readonly TickerGen[];
  readonly costs: readonly number[];
  readonly runUs: number;
}

const grid = (n: number) => fc.integer({ min: 1, max: n }).map((k) => k * 100);

const tickerArb: fc.Arbitrary<TickerGen> = fc.record({
  intervalNs: fc.oneof(grid(20), fc.integer({ min: 1_000, max: 9_000 })),
  train: fc.integer({ min: 2, max: 40 }),
  firstNs: grid(50),
  declared: fc.constantFrom(true, true, true, false),
});

const genArb: fc.Arbitrary<Gen> = fc.record({
  kind: fc.constantFrom("vm" as const, "spin" as const),
  passNs: grid(6),
  burstNs: fc.integer({ min: 0, max: 30 }).map((k) => k * 100),
  priority: fc.integer({ min: 40, max: 60 }),
  budgetUs: fc.option(fc.constantFrom(50, 200, 1000), { freq: 2 }),
  sliceUs: fc.constantFrom(1000, 100, 30),
  rivalNs: fc.option(grid(200), { freq: 2 }),
  steps: fc.array(
    fc.record({
      burstUs: fc.integer({ min: 0, max: 100 }),
      gapUs: fc.integer({ min: 0, max: 3000 }),
    }),
    { maxLength: 3 },
  ),
  tickers: fc.array(tickerArb, { minLength: 1, maxLength: 2 }),
  costs: fc.array(
    fc.integer({ min: 0, max: 6 }).map((k) => k * 100),
    { minLength: 5, maxLength: 5 },
  ),
  runUs: fc.integer({ min: 1_000, max: 6_000 }),
});

interface VmmCounters {
  exits: number;
  wfi: number;
}

/** A libvmm-like VMM: starts vCPU 0, injects a virtual IRQ when notified, answers WFI at once. */
function vmm(counters: VmmCounters): PdProgram {
  const repeat: RepeatableExit = {
    repeat(times) {
      counters.exits += times;
      counters.wfi += times;
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
      counters.exits++;
      if (msg.kind !== "vcpu") return { resume: false };
      yield work("default", 1);
      if (msg.exit.kind === "wfi") {
        counters.wfi++;
        return { resume: true, repeatable: repeat };
      }
      if (msg.exit.kind === "hypercall") pd.debug(`hvc ${msg.exit.fn}`);
      return { resume: true, value: 0 };
    },
  });
}

function run(
  gen: Gen,
  inertTicks: boolean,
  fastForward: boolean,
  planted?: PlantedKernel,
  recordEvents = true,
) {
  const counters: VmmCounters = { exits: 0, wfi: 0 };
  const tickers: TrainTicker[] = [];
  const [budget, period] =
    gen.budgetUs === null ? [gen.sliceUs, gen.sliceUs] : [gen.budgetUs, 1000];
  const vm = gen.kind === "vm";
  const rival = vm ? null : gen.rivalNs;
  const irqs = gen.tickers.map((_, i) => ({ id: i, irq: IRQS[i]! }));
  const description = describeSystem({
    pds: [
      vm
        ? { name: "vmm", priority: 61, vm: { name: "vm", priority: gen.priority, budget, period } }
        : { name: "spinner", priority: gen.priority, budget, period, maps: [{ mr: "shared" }] },
      { name: "irq", priority: 62, irqs, maps: [{ mr: "shared" }] },
      ...(rival === null
        ? []
        : [{ name: "rival", priority: gen.priority, budget, period, maps: [{ mr: "shared" }] }]),
    ],
    channels: [
      [
        { pd: "irq", id: 10 },
        { pd: vm ? "vmm" : "spinner", id: 1 },
      ],
      ...(rival === null
        ? []
        : [
            [
              { pd: "irq", id: 11 },
              { pd: "rival", id: 1 },
            ] as const,
          ]),
    ],
    regions: [
      { name: "shared" },
      ...gen.tickers.map((_, i) => ({
        name: `ticker${i}`,
        size: 0x1000,
        physAddr: 0x9_000_000 + i * 0x1000,
      })),
    ],
  });
  const [a, b, c, d, e] = gen.costs;
  const devices = Object.fromEntries(
    gen.tickers.map((t, i) => [
      `ticker${i}`,
      (host: Parameters<typeof tracedTicks>[0]) => {
        const ticker = new TrainTicker(
          tracedTicks(host, `tick${i}`, t.declared),
          IRQS[i]!,
          t.intervalNs,
          t.train,
          t.firstNs,
        );
        tickers[i] = ticker;
        return ticker;
      },
    ]),
  );
  const sys = new System(
    description,
    {
      programs: {
        "vmm.elf": vmm(counters),
        "spinner.elf": spinnerPd(gen.burstNs),
        "irq.elf": pdProgram({
          *notified(ch, pd) {
            pd.irqAck(ch);
            const q = pd.memory("shared");
            q.store32(0, q.load32(0) + 1);
            pd.notify(10);
            if (rival !== null) pd.notify(11);
            yield work("default", 1);
          },
        }),
        "rival.elf": pdProgram({
          *notified() {
            yield work("ns", rival ?? 0);
          },
        }),
      },
      guests: { vm: steppedGuest(gen.passNs, gen.steps) },
      devices,
      fastForward,
      inertTicks,
      recordEvents,
      costModel: {
        work: { default: a!, mmio: 0, spin: gen.passNs, ns: 1 },
        faultIpc: b!,
        contextSwitch: c!,
        signal: d!,
        reply: e!,
      },
    },
    planted?.parts,
  );
  sys.runUntil(gen.runUs * 1000);
  return {
    log: sys.log,
    rest: {
      now: sys.now(),
      events: sys.eventsProcessed,
      threads: sys.threads(),
      counters,
      shared: Array.from(sys.memory("shared").slice(0, 12)),
      fired: tickers.map((t) => t.fired),
      pending: tickers.map((t) => t.pending),
    },
  };
}

const equivalent = (fastForward: boolean, planted?: PlantedKernel, recordEvents = true) =>
  fc.property(genArb, (gen) => {
    const inert = run(gen, true, fastForward, planted, recordEvents);
    const plain = run(gen, false, fastForward, undefined, recordEvents);
    expect(inert.rest).toEqual(plain.rest);
    const [a, b] = comparableLogs(inert.log, plain.log, fastForward);
    expect(a).toEqual(b);
  });

/** Counts the records passes write, ticks of two devices due at one instant, ticks leaps pass. */
class Counting extends Ticks {
  static written = 0;
  static ties = 0;
  protected override write(record: RuntimeEvent): void {
    Counting.written++;
    super.write(record);
  }
  static leapt = 0;
  override bound(...args: Parameters<Ticks["bound"]>): ReturnType<Ticks["bound"]> {
    const fit = super.bound(...args);
    for (const s of fit.run.sources) Counting.leapt += s.n;
    return fit;
  }
  protected override firesBefore(a: PassedTicks, b: PassedTicks): boolean {
    if (a.times[a.next] === b.times[b.next]) Counting.ties++;
    return super.firesBefore(a, b);
  }
}

describe("inert device ticks in a recorded run", () => {
  it.each([false, true])(
    "give the same event log, events, clock, run times and tick times as firing every tick (fastForward %s)",
    (fastForward) => {
      fc.assert(equivalent(fastForward), { seed, numRuns });
    },
  );

  // Two devices' ticks due at one timer expiry: the first does its work, the second is an event.
  it.each([false, true])(
    "give the same events, clock, run times and tick times unrecorded too (fastForward %s)",
    (fastForward) => {
      fc.assert(equivalent(fastForward, undefined, false), { seed, numRuns });
    },
  );

  it.each([false, true])(
    "write the passed ticks' records, some for two devices at one instant, some in leaps (fastForward %s; not vacuous)",
    (fastForward) => {
      Counting.written = 0;
      Counting.ties = 0;
      Counting.leapt = 0;
      let idle = 0;
      for (const gen of fc.sample(genArb, { seed, numRuns }))
        idle += run(gen, true, fastForward, {
          parts: { ticks: (k, on) => new Counting(k, on) },
        }).log.filter((e) => e.type === "idle").length;
      expect(Counting.written).toBeGreaterThan(500);
      expect(Counting.ties).toBeGreaterThan(10);
      if (fastForward) {
        expect(idle).toBeGreaterThan(100);
        expect(Counting.leapt).toBeGreaterThan(100);
      }
    },
  );

  it.each([
    ["kernel-clock", false, true],
    ["first-dropped", false, true],
    ["push-order-ignored", false, true],
    ["kernel-clock", true, true],
    ["expiry-tied-twice", false, false],
    ["expiry-tied-twice", true, false],
  ] as [PlantedTickRecordBug, boolean, boolean][])(
    "catch a planted defect: %s (fastForward %s, recorded %s)",
    (bug, fastForward, recorded) => {
      const result = fc.check(equivalent(fastForward, plantedTickRecords(bug), recorded), {
        seed,
        numRuns: 100,
        endOnFailure: true,
      });
      expect(result.failed).toBe(true);
      expect(String(result.errorInstance)).toMatch(/AssertionError/);
    },
  );
});
