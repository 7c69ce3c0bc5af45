/**
 * Inlined work steps are exact (inline-steps.ts): over generated systems — PDs exchanging
 * notifications and counts through a shared queue region, a device timer that pulses an IRQ, an
 * external IRQ line, generated priorities, round-robin and sporadic budgets, domain schedules and
 * perturbed cost models, PDs that busy-wait on the shared region (spin.ts), run by time limits
 * and by event counts — a run with `inlineSteps` (steps ended in place, busy-wait turns
 * replayed) and one without give the same clock, event count, thread run times and states,
 * program observations (busy-wait turn counts included) and event log. A planted rule that ends
 * a step before an event due at its very end is caught, and so is a replay whose last turn ends
 * on an event's instant.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { DeviceHost, PdProgram } from "../program.js";
import { work } from "../program.js";
import {
  describeSystem,
  type PdSpec,
  type PlantedKernel,
  pdProgram,
  plantedInlineSteps,
  type SystemSpec,
} from "../testing/index.js";
import { plantedSpinReplay } from "../testing/spin-planted.js";
import { spinUntil } from "./spin.js";
import { System } from "./system.js";

const numRuns = Number(process.env.VMMUX_PROP_RUNS ?? 40);
const seed = 0x1e57;

interface PdGen {
  readonly priority: number;
  readonly budgetUs: number;
  readonly periodUs: number;
  /** Work per notification: `us` units then `ns` units. */
  readonly bursts: readonly (readonly [number, number])[];
  readonly forward: boolean;
  readonly domain: number;
  /** Busy-wait (spin.ts) after each notification until the previous PD's out count moves. */
  readonly spin: boolean;
}

type RunStep = { readonly until: number } | { readonly events: number };

interface SystemGen {
  readonly pds: readonly PdGen[];
  readonly domains: readonly [number, number] | null;
  readonly timerUs: number | null;
  readonly tickUs: number | null;
  readonly scale: readonly number[];
  readonly plan: readonly RunStep[];
}

const pdArb: fc.Arbitrary<PdGen> = fc
  .record({
    priority: fc.integer({ min: 10, max: 12 }),
    rr: fc.boolean(),
    periodUs: fc.constantFrom(50, 200, 1000),
    share: fc.integer({ min: 20, max: 90 }),
    bursts: fc.array(fc.tuple(fc.integer({ min: 0, max: 60 }), fc.integer({ min: 0, max: 900 })), {
      minLength: 1,
      maxLength: 4,
    }),
    forward: fc.boolean(),
    domain: fc.integer({ min: 0, max: 1 }),
    spin: fc.boolean(),
  })
  .map((g) => ({
    priority: g.priority,
    periodUs: g.periodUs,
    budgetUs: g.rr ? g.periodUs : Math.max(10, Math.round((g.periodUs * g.share) / 100)),
    bursts: g.bursts,
    forward: g.forward,
    domain: g.domain,
    spin: g.spin,
  }));

const systemArb: fc.Arbitrary<SystemGen> = fc.record({
  pds: fc.array(pdArb, { minLength: 2, maxLength: 4 }),
  domains: fc.option(
    fc.tuple(fc.integer({ min: 100, max: 2000 }), fc.integer({ min: 100, max: 2000 })),
    { freq: 4 },
  ),
  timerUs: fc.option(fc.integer({ min: 5, max: 300 }), { freq: 2 }),
  tickUs: fc.option(fc.integer({ min: 20, max: 700 }), { freq: 2 }),
  // Multiples of whole µs now and then, so step ends meet event times exactly.
  scale: fc.array(fc.constantFrom(0, 5, 10, 10, 20, 13), { minLength: 6, maxLength: 6 }),
  plan: fc.array(
    fc.oneof(
      fc.record({ until: fc.integer({ min: 1, max: 3000 }) }),
      fc.record({ events: fc.integer({ min: 1, max: 400 }) }),
    ),
    { minLength: 1, maxLength: 5 },
  ),
});

/** A one-shot timer: a write of `delay` (ns) pulses IRQ 30 that much later. */
function timerDevice(host: DeviceHost) {
  return {
    read: () => 0,
    write: (_offset: number, _width: number, delay: number) => {
      host.at(host.now() + delay, () => host.pulseIrq(30));
    },
  };
}

function build(gen: SystemGen, inlineSteps: boolean, planted?: PlantedKernel) {
  const n = gen.pds.length;
  const seen: string[] = [];
  const pds: PdSpec[] = gen.pds.map((p, i) => ({
    name: `p${i}`,
    priority: p.priority,
    budget: p.budgetUs,
    period: p.periodUs,
    ...(gen.domains ? { domain: `d${p.domain}` } : {}),
    maps: [{ mr: "queue" }, ...(i === 0 && gen.timerUs !== null ? [{ mr: "timer" }] : [])],
    irqs: [
      ...(i === 0 && gen.timerUs !== null ? [{ id: 10, irq: 30 }] : []),
      ...(i === 1 && gen.tickUs !== null ? [{ id: 11, irq: 31 }] : []),
    ],
  }));
  // A ring: channel 1 of p(i) is channel 2 of p(i+1).
  const channels: NonNullable<SystemSpec["channels"]>[number][] = [];
  for (let i = 0; i < (n === 2 ? 1 : n); i++) {
    channels.push([
      { pd: `p${i}`, id: 1 },
      { pd: `p${(i + 1) % n}`, id: 2 },
    ]);
  }
  const programs: Record<string, PdProgram> = {};
  gen.pds.forEach((p, i) => {
    let round = 0;
    programs[`p${i}.elf`] = pdProgram({
      *init(pd) {
        yield work("us", 1);
        if (i === 0 && gen.timerUs !== null) pd.mmio("timer").write(0, 4, gen.timerUs * 1000);
        pd.notify(1);
      },
      *notified(ch, pd) {
        seen.push(`${pd.now()} p${i} ${ch}`);
        const q = pd.memory("queue");
        if (ch === 10) {
          pd.irqAck(ch);
          pd.mmio("timer").write(0, 4, (gen.timerUs ?? 1) * 1000);
        } else if (ch === 11) pd.deferredIrqAck(ch);
        const [us, ns] = p.bursts[round++ % p.bursts.length]!;
        yield work("us", us);
        q.store32(4 * i, q.load32(4 * i) + 1);
        yield work("ns", ns);
        yield work("default", 1);
        if (p.spin) {
          // Wait for the previous PD to send once more (or give up at the end of the run).
          const other = 64 + 4 * ((i + n - 1) % n);
          const from = q.load32(other);
          const turns = 128 + 4 * i;
          yield* spinUntil({
            pass: work("default", 1),
            poll: () => (q.load32(other) !== from ? true : undefined),
            passed: (k) => q.store32(turns, q.load32(turns) + k),
          });
        }
        const out = p.forward || ch !== 2 ? 1 : 2;
        q.store32(64 + 4 * i, q.load32(64 + 4 * i) + out);
        pd.notify(out);
      },
    });
  });
  const spec: SystemSpec = {
    pds,
    channels,
    regions: [{ name: "queue" }, { name: "timer", physAddr: 0x9_000_000 }],
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
  const [a, b, c, d, e, f] = gen.scale.map((s) => s / 10);
  const sys = new System(
    describeSystem(spec),
    {
      programs,
      devices: gen.timerUs !== null ? { timer: timerDevice } : {},
      inlineSteps,
      costModel: {
        work: { default: Math.round(1000 * a!), ns: b! },
        signal: Math.round(250 * c!),
        irqEntry: Math.round(300 * d!),
        contextSwitch: Math.round(300 * e!),
        recv: Math.round(200 * f!),
      },
    },
    planted?.parts,
  );
  const tickUs = gen.tickUs;
  if (tickUs !== null) {
    const fire = (t: number) =>
      sys.at(t, () => {
        sys.setIrqLevel(31, true);
        sys.setIrqLevel(31, false);
        fire(t + tickUs * 1000);
      });
    fire(tickUs * 1000);
  }
  return { sys, seen };
}

function observe(gen: SystemGen, inline: boolean, planted?: PlantedKernel) {
  const { sys, seen } = build(gen, inline, planted);
  const counts: number[] = [];
  for (const step of gen.plan) {
    if ("until" in step) sys.runFor(step.until * 1000);
    else counts.push(sys.runEvents(step.events));
  }
  return {
    now: sys.now(),
    events: sys.eventsProcessed,
    counts,
    threads: sys.threads(),
    seen,
    queue: Array.from(sys.memory("queue").slice(0, 192)),
    log: sys.log,
  };
}

const equivalent = (planted?: PlantedKernel) =>
  fc.property(systemArb, (gen) => {
    const on = observe(gen, true, planted);
    const off = observe(gen, false);
    expect(on.now).toBe(off.now);
    expect(on.events).toBe(off.events);
    expect(on.counts).toEqual(off.counts);
    expect(on.threads).toEqual(off.threads);
    expect(on.seen).toEqual(off.seen);
    expect(on.queue).toEqual(off.queue);
    expect(on.log).toEqual(off.log);
  });

describe("inlined work steps", () => {
  it("give the same clock, events, run times, observations and log as the heap round trip", () => {
    fc.assert(equivalent(), { seed, numRuns });
  });

  it("inline most of the steps in generated systems (the property is not vacuous)", () => {
    let inlined = 0;
    for (const gen of fc.sample(systemArb, { seed, numRuns: 20 })) {
      const { sys } = build(gen, true);
      const heapPops = countHeapPops(sys, gen);
      if (heapPops < sys.eventsProcessed) inlined++;
    }
    expect(inlined).toBeGreaterThanOrEqual(15);
  });

  it("replay busy-wait turns in generated systems (the spin half is not vacuous)", () => {
    let replayed = 0;
    for (const gen of fc.sample(systemArb, { seed, numRuns: 40 })) {
      const { sys } = build(gen, true);
      const kernel = (sys as unknown as { kernel: { replaySpin(t: unknown): boolean } }).kernel;
      const replay = kernel.replaySpin.bind(kernel);
      let hits = 0;
      kernel.replaySpin = (t) => {
        const r = replay(t);
        if (r) hits++;
        return r;
      };
      for (const step of gen.plan) {
        if ("until" in step) sys.runFor(step.until * 1000);
        else sys.runEvents(step.events);
      }
      if (hits > 0) replayed++;
    }
    expect(replayed).toBeGreaterThanOrEqual(5);
  });

  it("catch a planted replay whose last busy-wait turn ends on an event's instant", () => {
    const result = fc.check(equivalent(plantedSpinReplay()), {
      seed,
      numRuns: 200,
      endOnFailure: true,
    });
    expect(result.failed).toBe(true);
    expect(String(result.errorInstance)).toMatch(/AssertionError/);
  });

  it("catch a planted rule that ends a step before an event due at its very end", () => {
    const result = fc.check(equivalent(plantedInlineSteps("end-before-tied-event")), {
      seed,
      numRuns: 200,
      endOnFailure: true,
    });
    expect(result.failed).toBe(true);
    // An observable differs (not an error of the run itself).
    expect(String(result.errorInstance)).toMatch(/AssertionError/);
  });
});

/** Heap events actually popped over the plan (the rest of `eventsProcessed` was inlined). */
function countHeapPops(sys: System, gen: SystemGen): number {
  const kernel = (sys as unknown as { kernel: { events: { pop(): unknown } } }).kernel;
  const queue = kernel.events;
  const pop = queue.pop.bind(queue);
  let pops = 0;
  queue.pop = () => {
    const event = pop();
    if (event !== undefined) pops++;
    return event;
  };
  for (const step of gen.plan) {
    if ("until" in step) sys.runFor(step.until * 1000);
    else sys.runEvents(step.events);
  }
  return pops;
}
