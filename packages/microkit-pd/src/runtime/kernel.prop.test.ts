/**
 * Properties of the kernel over random PD sets, priorities, budgets and notify patterns:
 * - no signal is lost (reference §2.3: every signal is followed by a `notified` for its channel,
 *   possibly coalesced with others);
 * - strict priority (§3.1): no thread holds the core while a higher-priority one is runnable,
 *   except between preemption points (within one instant of virtual time);
 * - determinism (DESIGN.md): the same system and seed give a byte-identical event log.
 * Each property is shown failing on a kernel with a planted scheduler bug.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type PdContext, type PdStep, work } from "../program.js";
import {
  bandwidthViolations,
  describeSystem,
  type EndSpec,
  leakyBootOrder,
  lostSignals,
  type PdSpec,
  type PlantedSchedulerBug,
  pdProgram,
  priorityViolations,
  systemWithPlantedBug,
} from "../testing/index.js";
import type { System } from "./index.js";

const numRuns = Number(process.env.VMMUX_PROP_RUNS ?? 40);
const seed = 0x5e14;

type Action =
  | { readonly kind: "work"; readonly us: number }
  | { readonly kind: "notify"; readonly pick: number }
  | { readonly kind: "random-notify" }
  | { readonly kind: "call"; readonly pick: number };

interface PdGen {
  readonly priority: number;
  readonly sporadicBudget: number | null;
  readonly passive: boolean;
  readonly init: readonly Action[];
  readonly react: readonly Action[];
  readonly reactLimit: number;
}

interface SystemGen {
  readonly pds: readonly PdGen[];
  /** PD pairs; with `pp`, the lower-priority end may call the other. */
  readonly channels: readonly (readonly [number, number, boolean])[];
  readonly irqs: readonly { readonly pd: number; readonly atUs: number }[];
  readonly seed: number;
}

const actionArb: fc.Arbitrary<Action> = fc.oneof(
  fc.record({ kind: fc.constant("work" as const), us: fc.integer({ min: 0, max: 400 }) }),
  fc.record({ kind: fc.constant("notify" as const), pick: fc.nat(20) }),
  fc.constant({ kind: "random-notify" as const }),
  fc.record({ kind: fc.constant("call" as const), pick: fc.nat(20) }),
);

const systemArb: fc.Arbitrary<SystemGen> = fc.integer({ min: 2, max: 6 }).chain((n) =>
  fc.record({
    pds: fc.array(
      fc.record({
        priority: fc.integer({ min: 1, max: 4 }),
        sporadicBudget: fc.option(fc.integer({ min: 50, max: 600 }), { freq: 3 }),
        passive: fc.boolean(),
        init: fc.array(actionArb, { maxLength: 6 }),
        react: fc.array(actionArb, { maxLength: 4 }),
        reactLimit: fc.integer({ min: 0, max: 4 }),
      }),
      { minLength: n, maxLength: n },
    ),
    channels: fc.array(fc.tuple(fc.nat(n - 1), fc.nat(n - 1), fc.boolean()), { maxLength: 10 }),
    irqs: fc.array(fc.record({ pd: fc.nat(n - 1), atUs: fc.integer({ min: 0, max: 3000 }) }), {
      maxLength: 4,
    }),
    seed: fc.nat(),
  }),
);

/** Build the generated system; PD programs follow their scripts, choosing with the run's PRNG. */
function buildSystem(gen: SystemGen, bug: PlantedSchedulerBug | undefined): System {
  const names = gen.pds.map((_, i) => `pd${i}`);
  const nextId = names.map(() => 0);
  const myChannels: number[][] = names.map(() => []);
  const myCalls: number[][] = names.map(() => []);
  const ends: (readonly [EndSpec, EndSpec])[] = [];
  for (const [a, rawB, pp] of gen.channels) {
    const b = a === rawB ? (a + 1) % names.length : rawB;
    if (nextId[a]! >= 40 || nextId[b]! >= 40) continue;
    const ida = nextId[a]!++;
    const idb = nextId[b]!++;
    const canCall = pp && gen.pds[a]!.priority < gen.pds[b]!.priority;
    myChannels[a]!.push(ida);
    myChannels[b]!.push(idb);
    if (canCall) myCalls[a]!.push(ida);
    ends.push([
      { pd: names[a]!, id: ida, pp: canCall },
      { pd: names[b]!, id: idb },
    ]);
  }
  const irqChannel = names.map(() => -1);
  const pds: PdSpec[] = gen.pds.map((pd, i) => {
    const hasIrq = gen.irqs.some((irq) => irq.pd === i);
    if (hasIrq) irqChannel[i] = nextId[i]!++;
    return {
      name: names[i]!,
      priority: pd.priority,
      passive: pd.passive,
      image: `${names[i]}.elf`,
      ...(pd.sporadicBudget === null ? {} : { budget: pd.sporadicBudget, period: 1000 }),
      ...(hasIrq ? { irqs: [{ id: irqChannel[i]!, irq: 100 + i, trigger: "edge" as const }] } : {}),
    };
  });
  const programs = Object.fromEntries(
    gen.pds.map((pd, i) => {
      const channels = myChannels[i]!;
      const calls = myCalls[i]!;
      function* script(ctx: PdContext, actions: readonly Action[]): PdStep {
        for (const action of actions) {
          if (action.kind === "work") yield work("us", action.us);
          else if (action.kind === "call") {
            if (calls.length > 0)
              yield* ctx.ppcall(calls[action.pick % calls.length]!, { label: 0, count: 0 });
          } else if (channels.length > 0) {
            const pick = action.kind === "notify" ? action.pick : Math.floor(ctx.random() * 1000);
            ctx.notify(channels[pick % channels.length]!);
            yield work("ns", 0);
          }
        }
      }
      let reactions = 0;
      return [
        `${names[i]}.elf`,
        pdProgram({
          *init(ctx) {
            yield* script(ctx, pd.init);
          },
          *notified(ch, ctx) {
            if (ch === irqChannel[i]) {
              ctx.irqAck(ch);
              return;
            }
            if (reactions++ < pd.reactLimit) yield* script(ctx, pd.react);
            else yield work("us", 1);
          },
          *protected(_ch, _msg, ctx) {
            yield* script(ctx, pd.react);
            return { label: 0, count: 0 };
          },
        }),
      ];
    }),
  );
  const sys = systemWithPlantedBug(
    describeSystem({ pds, channels: ends }),
    { programs, seed: gen.seed },
    bug,
  );
  for (const irq of gen.irqs) {
    sys.at(irq.atUs * 1000, () => {
      sys.setIrqLevel(100 + irq.pd, true);
      sys.setIrqLevel(100 + irq.pd, false);
    });
  }
  return sys;
}

function runToIdle(gen: SystemGen, bug: PlantedSchedulerBug | undefined): System {
  const sys = buildSystem(gen, bug);
  if (!sys.runUntilIdle(10_000_000_000)) throw new Error("generated system did not go idle");
  return sys;
}

const noSignalLost = (bug?: PlantedSchedulerBug) =>
  fc.property(systemArb, (gen) => {
    const sys = runToIdle(gen, bug);
    expect(lostSignals(sys.log)).toEqual([]);
  });

const strictPriority = (bug?: PlantedSchedulerBug) =>
  fc.property(systemArb, (gen) => {
    const sys = runToIdle(gen, bug);
    const priorities = new Map(sys.threads().map((t) => [t.name, t.priority]));
    expect(priorityViolations(sys.log, priorities)).toEqual([]);
  });

const deterministic = (bug?: PlantedSchedulerBug) =>
  fc.property(systemArb, (gen) => {
    const first = JSON.stringify(runToIdle(gen, bug).log);
    const second = JSON.stringify(runToIdle(gen, bug).log);
    expect(second).toBe(first);
  });

const boundedBandwidth = (bug?: PlantedSchedulerBug) =>
  fc.property(systemArb, (generated) => {
    // Donation would charge a server's run to its caller's SC: keep every PD active here.
    const gen = { ...generated, pds: generated.pds.map((pd) => ({ ...pd, passive: false })) };
    const sys = runToIdle(gen, bug);
    const servers = new Map(
      sys
        .threads()
        .filter((t) => t.kind === "pd" && t.budget < t.period)
        .map((t) => [t.name, { budget: t.budget, period: t.period }]),
    );
    expect(bandwidthViolations(sys.log, servers, sys.now())).toEqual([]);
  });

describe("kernel properties", () => {
  it("loses no signal: every signal is followed by a notified for its channel", () => {
    fc.assert(noSignalLost(), { seed, numRuns });
  });

  it("never runs a thread while a higher-priority one is runnable, between instants", () => {
    fc.assert(strictPriority(), { seed, numRuns });
  });

  it("gives a byte-identical event log for the same system and seed", () => {
    fc.assert(deterministic(), { seed, numRuns });
  });

  it("keeps a sporadic PD within budget in every window of one period", () => {
    fc.assert(boundedBandwidth(), { seed, numRuns });
  });
});

describe("the generator reaches the branches the properties are about", () => {
  it("produces coalesced signals, signals to waiting PDs, preemptions, throttling and seed-dependent runs", () => {
    const seen = {
      coalesced: 0,
      woken: 0,
      preempted: 0,
      throttled: 0,
      ppcalls: 0,
      passive: 0,
      seedMatters: 0,
    };
    for (const gen of fc.sample(systemArb, { seed, numRuns })) {
      const sys = runToIdle(gen, undefined);
      const runnable = new Set<string>();
      for (const e of sys.log) {
        if (e.type === "signal" && e.outcome === "coalesced") seen.coalesced++;
        if (e.type === "signal" && e.outcome === "woken") seen.woken++;
        if (e.type === "budget" && e.action === "throttled") seen.throttled++;
        if (e.type === "ppcall") seen.ppcalls++;
        if (e.type === "debug" && e.message.endsWith("is now passive")) seen.passive++;
        if (e.type === "state") {
          if (e.state === "runnable") runnable.add(e.thread);
          else runnable.delete(e.thread);
        }
        if (e.type === "switch" && e.from !== null && runnable.has(e.from)) seen.preempted++;
      }
      const other = JSON.stringify(runToIdle({ ...gen, seed: gen.seed + 1 }, undefined).log);
      if (other !== JSON.stringify(sys.log)) seen.seedMatters++;
    }
    expect(seen.coalesced).toBeGreaterThan(0);
    expect(seen.woken).toBeGreaterThan(0);
    expect(seen.preempted).toBeGreaterThan(0);
    expect(seen.throttled).toBeGreaterThan(0);
    expect(seen.ppcalls).toBeGreaterThan(0);
    expect(seen.passive).toBeGreaterThan(0);
    expect(seen.seedMatters).toBeGreaterThan(0);
  });
});

/**
 * What the failing property reported: the violations list of its log check, so a planted bug is
 * shown to break the property itself, not to make the run throw.
 */
function violation(result: { errorInstance: unknown }): string {
  return JSON.stringify((result.errorInstance as { actual?: unknown } | null)?.actual ?? null);
}

describe("the properties catch planted scheduler bugs", () => {
  it("no-signal-lost fails when signals to a ready PD are dropped", () => {
    const result = fc.check(noSignalLost("drop-signal-to-ready"), { seed, numRuns: 200 });
    expect(result.failed).toBe(true);
    expect(violation(result)).toMatch(/never notified/);
  });

  it("strict-priority fails when a woken higher-priority thread does not preempt", () => {
    const result = fc.check(strictPriority("no-preempt-on-wake"), { seed, numRuns: 200 });
    expect(result.failed).toBe(true);
    expect(violation(result)).toMatch(/runs while '.*' \(priority \d+\) is runnable/);
  });

  it("bounded-bandwidth fails when an exhausted sporadic SC is refilled at once", () => {
    const result = fc.check(boundedBandwidth("sporadic-refill-at-once"), { seed, numRuns: 200 });
    expect(result.failed).toBe(true);
    expect(violation(result)).toMatch(/ran \d+ ns in \[\d+, \d+\) > budget/);
  });

  it("determinism fails when boot order depends on state outside the run", () => {
    const result = fc.check(deterministic(leakyBootOrder()), { seed, numRuns: 200 });
    expect(result.failed).toBe(true);
    expect(String(result.errorInstance)).toMatch(/AssertionError: expected .* to be /);
  });
});
