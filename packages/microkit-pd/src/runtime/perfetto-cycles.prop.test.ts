/**
 * The folded Perfetto export is the same whether the kernel hands its cycle records to the
 * stream's own sink and the folder takes trap cycles whole (cycle-records.ts, perfetto-traps.ts),
 * or every record is made as an object and folded one by one (`groupTraps: false`): over
 * generated systems of VMMs whose guests compute, print through a UART-like device and
 * hypercalls, idle on trapped WFI until their deadlines or a virtual IRQ, and sometimes crash
 * (a vCPU's exception to its VMM, which restarts it), ticking PDs that signal the VMMs, at
 * generated priorities, budgets and costs, with and without fast-forward, the two files are
 * byte for byte the same. A listener that does not say it reads no cycle records still gets
 * every record. A stream whose sink forgets an entry point's consumed signals is caught.
 */
import { PassThrough } from "node:stream";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { GuestProgram, PdProgram } from "../program.js";
import { work } from "../program.js";
import { plantedFlowlessListener, plantedLeaplessListener } from "../testing/cycle-sink-planted.js";
import { describeSystem, type PdSpec, pdProgram, type SystemSpec } from "../testing/index.js";
import type { EventListener } from "./cycle-records.js";
import type { RuntimeEvent } from "./event-log.js";
import { PerfettoStream } from "./perfetto.js";
import { System } from "./system.js";

const numRuns = Number(process.env.VMMUX_PROP_RUNS ?? 40);
const seed = 0xc7c1e5;

interface VmGen {
  readonly vmmPriority: number;
  readonly vcpuPriority: number;
  readonly budgetUs: number;
  readonly periodUs: number;
  readonly passNs: number;
  /**
   * Bursts of work, each maybe polling a device register (trap cycles alike) and printing (bytes
   * through the UART), then an idle gap (µs).
   */
  readonly steps: readonly { burstUs: number; polls: number; bytes: number; gapUs: number }[];
  /** The guest throws after its steps (its VMM restarts it once). */
  readonly crash: boolean;
  readonly tickUs: number | null;
}

interface SystemGen {
  readonly vms: readonly VmGen[];
  readonly scale: readonly number[];
  readonly runUs: number;
  readonly fastForward: boolean;
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
        polls: fc.integer({ min: 0, max: 30 }),
        bytes: fc.integer({ min: 0, max: 40 }),
        gapUs: fc.integer({ min: 0, max: 3000 }),
      }),
      { maxLength: 4 },
    ),
    crash: fc.boolean(),
    tickUs: fc.option(fc.integer({ min: 300, max: 4000 }), { freq: 2 }),
  })
  .map((g) => ({
    vmmPriority: g.vmmPriority,
    vcpuPriority: g.vcpuPriority,
    periodUs: g.periodUs,
    budgetUs: g.rr ? g.periodUs : Math.max(10, Math.round((g.periodUs * g.share) / 100)),
    passNs: g.passNs,
    steps: g.steps,
    crash: g.crash,
    tickUs: g.tickUs,
  }));

const systemArb: fc.Arbitrary<SystemGen> = fc.record({
  vms: fc.array(vmArb, { minLength: 1, maxLength: 2 }),
  scale: fc.array(fc.integer({ min: 0, max: 20 }), { minLength: 5, maxLength: 5 }),
  runUs: fc.integer({ min: 2_000, max: 10_000 }),
  fastForward: fc.boolean(),
});

const UART = 0x900_0000;

/** A libvmm-like VMM: answers WFI at once, passes MMIO to the UART, restarts a crashed vCPU once. */
function vmmProgram(): PdProgram {
  let restarts = 0;
  const repeatable = { repeat() {} };
  return pdProgram({
    *init(pd) {
      pd.vcpuRestart(0);
    },
    *notified(_ch, pd) {
      pd.vcpuInjectIrq(0, 40);
      yield work("default", 1);
    },
    *fault(_child, msg, pd) {
      yield work("default", 1);
      if (msg.kind !== "vcpu") {
        if (restarts++ === 0) pd.vcpuRestart(0);
        return { resume: false };
      }
      const exit = msg.exit;
      if (exit.kind === "wfi") return { resume: true, repeatable };
      if (exit.kind === "mmio-write") pd.mmio("uart").write(0, 4, exit.value);
      return { resume: true, value: 0 };
    },
  });
}

function guestProgram(vm: VmGen): GuestProgram {
  return {
    *run(vcpu) {
      const pass = work("ns", vm.passNs);
      for (const step of vm.steps) {
        yield work("us", step.burstUs);
        for (let i = 0; i < step.polls; i++) yield* vcpu.mmioRead(UART + 0x18, 4);
        for (let i = 0; i < step.bytes; i++) yield* vcpu.mmioWrite(UART, 4, 0x61 + i);
        if (step.bytes > 0) yield* vcpu.hypercall(0x100);
        const due = vcpu.now() + step.gapUs * 1000;
        while (vcpu.now() < due) {
          yield* vcpu.idle({ pass, until: (now) => now >= due });
          for (let irq = vcpu.takeIrq(); irq !== undefined; irq = vcpu.takeIrq())
            yield* vcpu.eoi(irq);
        }
      }
      if (vm.crash) throw new Error("guest crashed");
      for (;;) {
        yield* vcpu.idle({ pass });
        for (let irq = vcpu.takeIrq(); irq !== undefined; irq = vcpu.takeIrq())
          yield* vcpu.eoi(irq);
      }
    },
  };
}

/** How fast-forward runs, when a test sets it instead of the generated system. */
interface Leaping {
  readonly fastForward: boolean;
  readonly resumeLeaps: boolean;
}

function build(gen: SystemGen, leaping?: Leaping): System {
  const pds: PdSpec[] = [];
  const channels: NonNullable<SystemSpec["channels"]>[number][] = [];
  const programs: Record<string, PdProgram> = {};
  const guests: Record<string, GuestProgram> = {};
  const ticks: { irq: number; us: number }[] = [];
  gen.vms.forEach((vm, i) => {
    pds.push({
      name: `vmm${i}`,
      priority: vm.vmmPriority,
      maps: [{ mr: "uart" }],
      vm: { name: `vm${i}`, priority: vm.vcpuPriority, budget: vm.budgetUs, period: vm.periodUs },
    });
    programs[`vmm${i}.elf`] = vmmProgram();
    guests[`vm${i}`] = guestProgram(vm);
    if (vm.tickUs !== null) {
      const irq = 100 + i;
      pds.push({ name: `tick${i}`, priority: 60, irqs: [{ id: 0, irq }] });
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
  const [a, b, c, d, e] = gen.scale.map((s) => s / 10);
  const sys = new System(
    describeSystem({
      pds,
      channels,
      regions: [{ name: "uart", size: 0x1000, physAddr: UART }],
    }),
    {
      programs,
      guests,
      fastForward: leaping?.fastForward ?? gen.fastForward,
      resumeLeaps: leaping?.resumeLeaps ?? true,
      retainEvents: false,
      vcpuDomain: "vmm",
      devices: {
        // A byte per line time (one or two of 8.7 µs by the byte), traced as it goes out.
        uart: (host) => {
          let free = 0;
          return {
            read: () => 0,
            write: (_offset, _width, value) => {
              free = Math.max(free, host.now()) + 8_700 * (1 + (value % 2));
              host.at(free, () => host.trace("tx", { byte: value, kind: "byte" }));
            },
          };
        },
      },
      costModel: {
        work: { default: Math.round(100 * a!), mmio: Math.round(40 * b!) },
        faultIpc: Math.round(800 * c!),
        contextSwitch: Math.round(300 * d!),
        reply: Math.round(400 * e!),
      },
    },
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
  return sys;
}

/**
 * How a run's trace is taken: the stream's own sink (as testbench runs do), objects only, or
 * through a planted sink (one forgetting consumed signals, one forgetting what leaps ran).
 */
type Mode = "sink" | "objects" | "planted" | "planted-leaps";

async function trace(gen: SystemGen, mode: Mode, leaping?: Leaping) {
  const sys = build(gen, leaping);
  const chunks: Buffer[] = [];
  const out = new PassThrough();
  out.on("data", (chunk: Buffer) => chunks.push(chunk));
  const stream = new PerfettoStream(out, sys.threads(), {
    fold: true,
    groupTraps: mode !== "objects",
  });
  let seen = 0;
  const other = PerfettoStream.readsNoCycles(() => void seen++);
  sys.onEvent(other);
  sys.onEvent(
    mode === "planted"
      ? plantedFlowlessListener(stream)
      : mode === "planted-leaps"
        ? plantedLeaplessListener(stream)
        : stream.listener,
  );
  sys.runUntil(gen.runUs * 1000);
  await stream.close(sys.now());
  return { bytes: Buffer.concat(chunks).toString("utf8"), seen, sys };
}

const equivalent = (planted: boolean) =>
  fc.asyncProperty(systemArb, async (gen) => {
    const lean = await trace(gen, planted ? "planted" : "sink");
    const full = await trace(gen, "objects");
    expect(lean.bytes).toBe(full.bytes);
    expect(lean.sys.eventsProcessed).toBe(full.sys.eventsProcessed);
  });

describe("folded export through the kernel's cycle sink", () => {
  it("writes the same trace as folding every record made as an object", async () => {
    await fc.assert(equivalent(false), { seed, numRuns });
  });

  it("folds trap cycles and idle loops in most generated systems (not vacuous)", async () => {
    let folded = 0;
    let idle = 0;
    for (const gen of fc.sample(systemArb, { seed, numRuns: 10 })) {
      const { bytes } = await trace(gen, "sink");
      if (/vmm\d ⇄ vm\d:vcpu0 ×\d+|vm\d:vcpu0 ⇄ vmm\d ×\d+/.test(bytes)) folded++;
      if (/"name":"idle: [^"]*vm\d:vcpu0/.test(bytes)) idle++;
    }
    expect(folded).toBeGreaterThanOrEqual(5);
    expect(idle).toBeGreaterThanOrEqual(5);
  });

  it("catches a sink that forgets the signals an entry point consumes", async () => {
    await expect(fc.assert(equivalent(true), { seed, numRuns })).rejects.toThrow();
  });

  it("gives every record to a listener that does not say it reads no cycle records", async () => {
    const gen = fc.sample(systemArb, { seed, numRuns: 1 })[0]!;
    const log = (withStream: boolean) => {
      const sys = build(gen);
      const records: RuntimeEvent[] = [];
      const mine: EventListener = (e) => records.push(e);
      sys.onEvent(mine);
      if (withStream)
        sys.onEvent(new PerfettoStream(new PassThrough(), [], { fold: true }).listener);
      sys.runUntil(gen.runUs * 1000);
      return records;
    };
    const alone = log(false);
    expect(alone.some((e) => e.type === "switch")).toBe(true);
    expect(log(true)).toEqual(alone);
  });
});

/** The same system's folded trace with fast-forward off, on, and on without resume leaps. */
const leapFree = (mode: Mode) =>
  fc.asyncProperty(systemArb, async (gen) => {
    const simulated = await trace(gen, mode, { fastForward: false, resumeLeaps: true });
    const leapt = await trace(gen, mode, { fastForward: true, resumeLeaps: true });
    const measured = await trace(gen, "objects", { fastForward: true, resumeLeaps: false });
    expect(leapt.bytes).toBe(simulated.bytes);
    expect(measured.bytes).toBe(simulated.bytes);
  });

describe("folded export of idle loops (perfetto-idle-loops.ts)", () => {
  it("is the same trace whether fast-forward leaps, and however it leaps", async () => {
    await fc.assert(leapFree("sink"), { seed, numRuns });
  });

  it("leaps in most generated systems (the property is not vacuous)", () => {
    let leapt = 0;
    for (const gen of fc.sample(systemArb, { seed, numRuns: 10 })) {
      const sys = build(gen, { fastForward: true, resumeLeaps: true });
      let leaps = 0;
      sys.onEvent((e) => void (e.type === "idle" && leaps++));
      sys.runUntil(gen.runUs * 1000);
      if (leaps > 0) leapt++;
    }
    expect(leapt).toBeGreaterThanOrEqual(5);
  });

  it("catches an export that leaves out what a leap ran", async () => {
    await expect(fc.assert(leapFree("planted-leaps"), { seed, numRuns })).rejects.toThrow();
  });
});
