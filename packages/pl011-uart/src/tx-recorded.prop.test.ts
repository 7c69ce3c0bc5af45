/**
 * A draining PL011's character ends passed as inert ticks in a recorded run (tx.ts `skip`,
 * microkit-pd's runtime/ticks.ts) write exactly the records firing them would: over generated
 * systems of one or two UARTs, each fed by the real driver from a virt_tx stand-in, beside an
 * idle VM (fast-forward leaps past the character ends) and a PD computing in short steps (work
 * steps ended in place past them), with kernel costs or none (two UARTs then end characters at
 * the same instants), the whole event log, the wire, the event count, the clock and every run
 * time are identical with `inertTicks` on and off, with and without fast-forward (with it, outside
 * the collapsed `idle` runs of either). Character ends are passed, in leaps too; planted devices
 * that stamp a passed character's record with the time of the pass, or write none, are caught.
 */
import {
  type DeviceHost,
  type GuestProgram,
  type MmioDevice,
  type PdContext,
  type PdProgram,
  type PdStep,
  type RepeatableExit,
  System,
  work,
} from "@vmmux/microkit-pd";
import { comparableLogs, describeSystem, leapWindows, pdProgram } from "@vmmux/microkit-pd/testing";
import { SerialQueue } from "@vmmux/sddf-queues";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Pl011Device } from "./device.js";
import { Pl011Driver } from "./driver.js";
import { type PlantedPassedTraceBug, plantedPassedTraces } from "./testing/tx-recorded-planted.js";

const numRuns = Number(process.env.VMMUX_PROP_RUNS ?? 30);
const seed = 0x7e11;
const HOG_IRQ = 40;

interface Gen {
  readonly profile: "reference" | "hardened";
  readonly txBytes: readonly number[];
  readonly driverPriority: number;
  readonly vcpuPriority: number;
  readonly sliceUs: number;
  readonly passNs: number;
  readonly idleUs: readonly number[];
  readonly hogPriority: number;
  readonly hogBusyUs: number;
  readonly hogStartUs: number;
  readonly hogStepUs: number;
  readonly costs: boolean;
  readonly runMs: number;
}

const genArb: fc.Arbitrary<Gen> = fc.record({
  profile: fc.constantFrom("reference" as const, "hardened" as const),
  txBytes: fc.array(fc.integer({ min: 0, max: 120 }), { minLength: 1, maxLength: 2 }),
  driverPriority: fc.constantFrom(100, 200),
  vcpuPriority: fc.integer({ min: 40, max: 60 }),
  sliceUs: fc.constantFrom(1000, 100, 30),
  passNs: fc.integer({ min: 1, max: 6 }).map((k) => k * 100),
  idleUs: fc.array(fc.integer({ min: 0, max: 3000 }), { maxLength: 3 }),
  hogPriority: fc.constantFrom(50, 150),
  hogBusyUs: fc.integer({ min: 0, max: 2_000 }),
  hogStartUs: fc.integer({ min: 0, max: 8_000 }),
  hogStepUs: fc.constantFrom(1, 7, 250),
  costs: fc.boolean(),
  runMs: fc.integer({ min: 2, max: 8 }),
});

/** A libvmm-like VMM: starts vCPU 0 and answers WFI at once (repeatably). */
function vmm(counters: { wfi: number }): PdProgram {
  const repeat: RepeatableExit = {
    repeat(times) {
      counters.wfi += times;
    },
  };
  return pdProgram({
    *init(pd) {
      yield work("us", 1);
      pd.vcpuRestart(0);
    },
    *fault(_child, msg) {
      if (msg.kind !== "vcpu") return { resume: false };
      yield work("default", 1);
      if (msg.exit.kind !== "wfi") return { resume: true, value: 0 };
      counters.wfi++;
      return { resume: true, repeatable: repeat };
    },
  });
}

function guest(gen: Gen): GuestProgram {
  return {
    *run(vcpu) {
      const pass = work("ns", gen.passNs);
      for (const us of gen.idleUs) {
        yield work("us", 5);
        const due = vcpu.now() + us * 1000;
        yield* vcpu.idle({ pass, until: (now) => now >= due });
      }
      for (;;) yield* vcpu.idle({ pass });
    },
  };
}

function run(
  gen: Gen,
  inertTicks: boolean,
  fastForward: boolean,
  Device: typeof Pl011Device = Pl011Device,
) {
  const ports = gen.txBytes.length;
  const wire: number[] = [];
  const counters = { wfi: 0 };
  const pds = [];
  const channels = [];
  const regions = [];
  const programs: Record<string, PdProgram> = {};
  const devices: Record<string, (host: DeviceHost) => MmioDevice> = {};
  const uarts: Pl011Device[] = [];
  let passed = 0;
  for (let i = 0; i < ports; i++) {
    const [uart, txq, txd, rxq, rxd] = ["uart", "tx_queue", "tx_data", "rx_queue", "rx_data"].map(
      (r) => `${r}${i}`,
    ) as [string, string, string, string, string];
    regions.push(
      { name: uart, physAddr: 0x900_0000 + i * 0x1000 },
      { name: txq },
      { name: txd, size: 0x10000 },
      { name: rxq },
      { name: rxd, size: 0x10000 },
    );
    pds.push(
      {
        name: `driver${i}`,
        priority: gen.driverPriority,
        irqs: [{ id: 0, irq: 33 + i }],
        maps: [uart, txq, txd, rxq, rxd].map((mr) => ({ mr })),
      },
      { name: `virt_tx${i}`, priority: 199, maps: [{ mr: txq }, { mr: txd }] },
      { name: `virt_rx${i}`, priority: 199, maps: [{ mr: rxq }, { mr: rxd }] },
    );
    channels.push(
      [
        { pd: `driver${i}`, id: 1 },
        { pd: `virt_tx${i}`, id: 0 },
      ] as const,
      [
        { pd: `driver${i}`, id: 2 },
        { pd: `virt_rx${i}`, id: 0 },
      ] as const,
    );
    programs[`driver${i}.elf`] = new Pl011Driver({
      profile: gen.profile,
      mmioRegion: uart,
      irqChannel: 0,
      tx: { channel: 1, queueRegion: txq, dataRegion: txd },
      rx: { channel: 2, queueRegion: rxq, dataRegion: rxd },
      uartClockHz: 24_000_000,
    });
    const bytes = gen.txBytes[i]!;
    programs[`virt_tx${i}.elf`] = pdProgram({
      *init(pd: PdContext): PdStep {
        if (bytes === 0) return;
        const q = SerialQueue.fromRegions(pd.memory(txq), pd.memory(txd));
        for (let b = 0; b < bytes; b++) q.enqueue((0x41 + b + i) & 0xff, b + 1);
        yield work("copy", bytes);
        pd.notify(0);
      },
    });
    programs[`virt_rx${i}.elf`] = pdProgram({
      *notified(): PdStep {
        yield work("queue");
      },
    });
    devices[uart] = (host) => {
      // Counts the records of passed character ends (the host's own `traceAt` writes them).
      const counted: DeviceHost = Object.create(host);
      const traceAt = host.traceAt;
      if (traceAt !== undefined)
        Object.assign(counted, {
          traceAt: (...args: Parameters<typeof traceAt>) => {
            passed++;
            traceAt.apply(host, args);
          },
        });
      const device = new Device({
        host: counted,
        irq: 33 + i,
        uartClockHz: 24_000_000,
        transmitSink: (byte, tag, start, end) => wire.push(i, byte, tag, start, end),
      });
      uarts[i] = device;
      return device;
    };
  }
  const description = describeSystem({
    pds: [
      ...pds,
      {
        name: "vmm",
        priority: 61,
        vm: { name: "vm", priority: gen.vcpuPriority, budget: gen.sliceUs, period: gen.sliceUs },
      },
      { name: "hog", priority: gen.hogPriority, irqs: [{ id: 0, irq: HOG_IRQ }] },
    ],
    channels,
    regions,
  });
  const zero = { signal: 0, call: 0, reply: 0, recv: 0, irqAck: 0, faultIpc: 0, irqEntry: 0 };
  const sys = new System(description, {
    seed: 5,
    programs: {
      ...programs,
      "vmm.elf": vmm(counters),
      "hog.elf": pdProgram({
        *notified(): PdStep {
          for (let us = 0; us < gen.hogBusyUs; us += gen.hogStepUs) yield work("us", gen.hogStepUs);
        },
      }),
    },
    guests: { vm: guest(gen) },
    devices,
    fastForward,
    inertTicks,
    recordEvents: true,
    costModel: gen.costs
      ? {}
      : { ...zero, contextSwitch: 0, work: { default: 0, copy: 0, mmio: 0, memory: 0 } },
  });
  sys.at(gen.hogStartUs * 1000, () => sys.setIrqLevel(HOG_IRQ, true));
  sys.runUntil(gen.runMs * 1_000_000);
  for (const uart of uarts) uart.settle();
  return {
    log: sys.log,
    passed,
    rest: {
      wire,
      now: sys.now(),
      events: sys.eventsProcessed,
      threads: sys.threads().map((t) => [t.name, t.runTime, t.state]),
      counters,
      uarts: uarts.map((u) => ({ ...u.counters })),
    },
  };
}

const equivalent = (fastForward: boolean, Device?: typeof Pl011Device) =>
  fc.property(genArb, (gen) => {
    const inert = run(gen, true, fastForward, Device);
    const plain = run(gen, false, fastForward);
    expect(inert.rest).toEqual(plain.rest);
    const [a, b] = comparableLogs(inert.log, plain.log, fastForward);
    expect(a).toEqual(b);
  });

describe("a draining PL011's character ends passed in a recorded run", () => {
  it.each([false, true])(
    "are passed with their records, in leaps too (fastForward %s; not vacuous)",
    (fastForward) => {
      let passed = 0;
      let leapt = 0; // device records inside a collapsed run: only a leap writes them
      for (const gen of fc.sample(genArb, { seed, numRuns })) {
        const r = run(gen, true, fastForward);
        passed += r.passed;
        const windows = leapWindows(r.log);
        leapt += r.log.filter(
          (e) => e.type === "device" && windows.some(([s, u]) => e.t > s && e.t < u),
        ).length;
      }
      expect(passed).toBeGreaterThan(500);
      if (fastForward) expect(leapt).toBeGreaterThan(100);
    },
  );

  it.each([false, true])(
    "give the same event log, wire, events, clock and run times as firing each (fastForward %s)",
    (fastForward) => {
      fc.assert(equivalent(fastForward), { seed, numRuns });
    },
  );

  // A record stamped with the time of the pass matches none of the passed ticks' times: the
  // kernel refuses it (RT_INTERNAL) before the log is compared.
  it.each([
    ["passed-next-character", /AssertionError/],
    ["passed-untraced", /AssertionError/],
    ["passed-at-pass-time", /RuntimeError: a device traced a passed tick at/],
  ] as [PlantedPassedTraceBug, RegExp][])("catch a planted device: %s", (bug, error) => {
    const result = fc.check(equivalent(false, plantedPassedTraces(bug)), {
      seed,
      numRuns: 100,
      endOnFailure: true,
    });
    expect(result.failed).toBe(true);
    expect(String(result.errorInstance)).toMatch(error);
  });
});
