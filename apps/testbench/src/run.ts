/**
 * Runs a scenario's system (built by `system/build.ts`) to its end and records what happened:
 * the wire, each guest's transcript, loss counters, the threads' end states and the producers
 * left waiting. The result is plain data the report and the oracles read; nothing here judges it.
 */
import { createHash } from "node:crypto";
import {
  type CostModelOverride,
  defaultCostModel,
  type PerfettoTrace,
  type System,
  type SystemDescription,
} from "@vmmux/microkit-pd";
import { type UartLossPoints, uartLossPoints } from "@vmmux/pl011-uart";
import { ORIGIN_KEYBOARD, provenanceTag, SerialQueue } from "@vmmux/sddf-queues";
import { COLOUR_OVERHEAD, type VirtRxLoss, type VirtTxLoss } from "@vmmux/sddf-serial";
import { outputText } from "./asciicast.js";
import type { GuestTranscript } from "./guests.js";
import type { Scenario } from "./scenario.js";
import { buildSystem, type RunVariants } from "./system/build.js";
import { connectionRegions, VIRT_TX_PD } from "./wiring.js";

export type { RunVariants } from "./system/build.js";
export { scenarioSystem } from "./system/build.js";

/** A character that left the UART's TX line. */
export interface WireRecord {
  readonly byte: number;
  readonly tag: number;
  /** Start-bit and stop-bit-end times, ns. */
  readonly start: number;
  readonly end: number;
}

/** A keyboard byte as sent towards the UART. */
export interface KeyByte {
  readonly byte: number;
  readonly tag: number;
  /** Requested start time, ns. */
  readonly at: number;
}

/** What one guest did in a run. */
export interface GuestRun extends GuestTranscript {
  readonly name: string;
  readonly pd: string;
  /** Client index in both virtualisers. */
  readonly index: number;
  /** Provenance origin of its bytes (`index + 1`). */
  readonly origin: number;
  readonly kind: "sddf-client" | "vm";
  /** Bytes virt_rx delivered to its RX queue that it had not read when the run stopped. */
  readonly rxPending: readonly { readonly byte: number; readonly tag: number }[];
  /** Capacity of its TX ring (bytes). */
  readonly txCapacity: number;
  /** The trace's output as a terminal showed it when recorded. */
  readonly traceText: string;
}

/**
 * A producer that waits for its consumer's signal when the run stopped (sddf-serial §3.1,
 * §3.2): virt_tx for a client it put on its pending list (the driver TX queue), or a VMM's
 * console whose transmit waits for space in its client TX queue. Read by the no-lost-wake-up
 * oracle (DESIGN.md oracle 7).
 */
export interface ProducerWait {
  /** Who waits, in words: `serial_virt_tx for guest1`, `vmm_guest2's console`. */
  readonly producer: string;
  /** The PD that a signal would wake. */
  readonly waiter: string;
  /** Its kernel state at the end (`running`, `runnable`, `blocked-recv`, ...). */
  readonly waiterState: string;
  /** The PD is inside an entry point at the end (its decision may not be final). */
  readonly waiterBusy: boolean;
  /** The byte ring it waits on. */
  readonly queue: string;
  /** Free bytes the producer needs before it moves again. */
  readonly need: number;
  readonly capacity: number;
  /** Unread bytes in the ring (what the consumer will still drain). */
  readonly length: number;
  readonly free: number;
  /** `producer_signalled == 0`: the consumer will signal after its next dequeue. */
  readonly signalRequested: boolean;
}

/** A thread at the end of the run. */
export interface ThreadEnd {
  readonly name: string;
  readonly kind: string;
  readonly state: string;
}

/** A fault IPC raised by a PD (not a vCPU exit), from the event log. */
export interface PdFault {
  readonly t: number;
  readonly thread: string;
  readonly handler: string;
  readonly what: string;
}

export interface RunLoss {
  readonly virtTx: VirtTxLoss;
  readonly virtRx: VirtRxLoss;
  readonly uart: UartLossPoints;
}

export interface RunResult {
  readonly scenarioFile: string;
  readonly seed: number;
  readonly profile: "reference" | "hardened";
  readonly colour: boolean;
  readonly lineAtomic: boolean;
  /** Capacity of the driver TX ring (bytes). */
  readonly driverTxCapacity: number;
  /** Virtual ns when the run stopped. */
  readonly virtualTime: number;
  /** Kernel events processed. */
  readonly events: number;
  /** True if nothing could happen any more; false if the duration limit stopped it. */
  readonly idle: boolean;
  readonly wire: readonly WireRecord[];
  readonly keyboard: readonly KeyByte[];
  readonly guests: readonly GuestRun[];
  readonly loss: RunLoss;
  /** Typed bytes not yet past the driver when the run stopped (line, RX FIFO, driver RX queue). */
  readonly keyboardInFlight: number;
  readonly switchChar: number;
  readonly terminateNumChar: number;
  /** Every PD and vCPU thread and its state at the end. */
  readonly threads: readonly ThreadEnd[];
  /** Faults PDs raised, from the event log; null when the run kept no log. */
  readonly pdFaults: readonly PdFault[] | null;
  /** Producers waiting for a signal at the end. */
  readonly waits: readonly ProducerWait[];
  /** The schedule perturbation applied (`RunOptions.schedule`), if any. */
  readonly schedule: SchedulePerturbation | null;
  /** SHA-256 over everything observable (wire, deliveries, time, event count, log). */
  readonly digest: string;
  /** The event timeline (only when the run recorded events). */
  perfetto(): PerfettoTrace | undefined;
}

/**
 * Perturb the schedule without changing any program: every price of the cost model (the
 * preemption-point kinds PDs use and the kernel operations) is scaled by its own factor drawn
 * uniformly from `[1 - spread, 1 + spread]` by a PRNG seeded with `seed`. Durations given in
 * time units (`ns`, `us`, `compute`: traces, boot bursts) are left as they are.
 */
export interface SchedulePerturbation {
  readonly seed: number;
  /** Default 0.9: prices from a tenth to nearly twice their nominal value. */
  readonly spread?: number;
}

export interface RunOptions {
  /** Keep the kernel event log (for Perfetto and the digest); default false. */
  readonly recordEvents?: boolean;
  /** Called every `progressStepNs` of virtual time. */
  readonly onProgress?: (now: number, limit: number) => void;
  readonly progressStepNs?: number;
  readonly variants?: RunVariants;
  readonly schedule?: SchedulePerturbation;
}

/** Price kinds that are not durations: the ones a perturbation scales. */
const PRICE_KINDS = ["default", "op", "poll", "init", "queue", "copy", "mmio", "memory"];

/** mulberry32: a small, well-mixed 32-bit PRNG; enough to draw cost factors. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b_79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** The cost model of a perturbed schedule. */
export function perturbedCosts(p: SchedulePerturbation): CostModelOverride {
  const spread = p.spread ?? 0.9;
  if (!(spread >= 0 && spread < 1))
    throw new RangeError(`schedule spread ${spread} is not in [0, 1)`);
  const next = prng(p.seed);
  const scale = (ns: number) => Math.max(1, Math.round(ns * (1 - spread + 2 * spread * next())));
  const base = defaultCostModel;
  const work: Record<string, number> = {};
  for (const kind of PRICE_KINDS) work[kind] = scale(base.work[kind] ?? base.work.default ?? 100);
  return {
    work,
    signal: scale(base.signal),
    call: scale(base.call),
    reply: scale(base.reply),
    recv: scale(base.recv),
    irqAck: scale(base.irqAck),
    faultIpc: scale(base.faultIpc),
    irqEntry: scale(base.irqEntry),
    contextSwitch: scale(base.contextSwitch),
  };
}

const encoder = new TextEncoder();

/** Build, run and record one scenario. */
export function runScenario(scenario: Scenario, options: RunOptions = {}): RunResult {
  const knobs = scenario.knobs;
  const recordEvents = options.recordEvents ?? false;
  const built = buildSystem(scenario, {
    recordEvents,
    ...(options.variants === undefined ? {} : { variants: options.variants }),
    ...(options.schedule === undefined ? {} : { costModel: perturbedCosts(options.schedule) }),
  });
  const { sys, device, driver, virtTx, virtRx, description: desc } = built;
  const { wiring, virtTx: txConfig, virtRx: rxConfig } = built.configs;
  const wire: WireRecord[] = [];
  device.onTransmit((w) => {
    if (w.kind === "byte") wire.push({ byte: w.byte, tag: w.tag, start: w.start, end: w.end });
  });

  const keyboard: KeyByte[] = [];
  for (const stroke of scenario.keyboard) {
    const at = Math.round(stroke.at * 1e9);
    const bytes = encoder.encode(stroke.text);
    const first = built.keyboard.send(bytes, at);
    bytes.forEach((byte, i) => {
      keyboard.push({ byte, tag: provenanceTag(ORIGIN_KEYBOARD, first + i), at });
    });
  }

  const limit = Math.round(knobs.durationLimit * 1e9);
  const step = options.progressStepNs ?? 100_000_000;
  let idle = false;
  while (!idle && sys.now() < limit) {
    idle = sys.runUntilIdle(Math.min(sys.now() + step, limit));
    options.onProgress?.(sys.now(), limit);
  }

  const queue = (kind: "tx" | "rx", owner: string) => {
    const regions = connectionRegions(kind, owner);
    return SerialQueue.fromRegions(regionOf(sys, regions.queue), regionOf(sys, regions.data));
  };
  const guests: GuestRun[] = scenario.guests.map((g, k) => ({
    name: g.name,
    kind: g.kind,
    pd: g.pd,
    index: k,
    origin: k + 1,
    ...built.guests[k]!.collect(),
    rxPending: unread(queue("rx", g.pd)),
    txCapacity: regionSize(desc, wiring.guests[k]!.txData),
    traceText: outputText(g.trace),
  }));
  const threadInfo = sys.threads();
  const threadOf = (name: string) => threadInfo.find((t) => t.name === name);
  const waits: ProducerWait[] = [];
  const driverQueue = queue("tx", "driver");
  const virtTxThread = threadOf(VIRT_TX_PD);
  for (const k of virtTx.pending.toArray()) {
    const g = scenario.guests[k];
    if (g === undefined) continue;
    waits.push({
      producer: `${VIRT_TX_PD} for ${g.name}`,
      waiter: VIRT_TX_PD,
      waiterState: virtTxThread?.state ?? "unknown",
      waiterBusy: (virtTxThread?.entry ?? null) !== null,
      queue: txConfig.driver.data,
      need: queue("tx", g.pd).lengthConsumer() + (knobs.colour ? COLOUR_OVERHEAD : 0),
      capacity: driverQueue.capacity,
      length: driverQueue.lengthConsumer(),
      free: driverQueue.free(),
      signalRequested: driverQueue.producerSignalled === 0,
    });
  }
  for (const [k, g] of scenario.guests.entries()) {
    if (g.kind !== "vm") continue;
    const vmm = guests[k]?.vmm;
    if (vmm == null || !vmm.txWaiting) continue;
    const q = queue("tx", g.pd);
    const t = threadOf(g.pd);
    waits.push({
      producer: `${g.pd}'s console`,
      waiter: g.pd,
      waiterState: t?.state ?? "unknown",
      waiterBusy: (t?.entry ?? null) !== null,
      queue: connectionRegions("tx", g.pd).data,
      // Its chain may be larger, but any free byte lets a hardened console move a part.
      need: 1,
      capacity: q.capacity,
      length: q.lengthConsumer(),
      free: q.free(),
      signalRequested: q.producerSignalled === 0,
    });
  }
  const result = {
    scenarioFile: scenario.file,
    seed: knobs.seed,
    profile: knobs.profile,
    colour: knobs.colour,
    lineAtomic: knobs.lineAtomic,
    driverTxCapacity: regionSize(desc, txConfig.driver.data),
    virtualTime: sys.now(),
    events: sys.eventsProcessed,
    idle,
    wire,
    keyboard,
    guests,
    loss: {
      virtTx: { ...virtTx.loss },
      virtRx: { ...virtRx.loss },
      uart: uartLossPoints(device, driver),
    },
    keyboardInFlight:
      device.wireBacklog + device.rxFifoLevel + queue("rx", "driver").lengthConsumer(),
    switchChar: rxConfig.switchChar,
    terminateNumChar: rxConfig.terminateNumChar,
    threads: threadInfo.map((t) => ({ name: t.name, kind: t.kind, state: t.state })),
    pdFaults: recordEvents ? pdFaultsOf(sys, threadInfo) : null,
    waits,
    schedule: options.schedule ?? null,
  };
  const digest = digestOf(result, recordEvents ? sys.log : []);
  return {
    ...result,
    digest,
    perfetto: () => (recordEvents ? sys.toPerfetto() : undefined),
  };
}

/** Fault IPCs raised by PD threads (vCPU exits are faults too, and are not counted). */
function pdFaultsOf(sys: System, threads: readonly { name: string; kind: string }[]): PdFault[] {
  const pds = new Set(threads.filter((t) => t.kind === "pd").map((t) => t.name));
  const out: PdFault[] = [];
  for (const e of sys.log) {
    if (e.type !== "fault" || !pds.has(e.thread)) continue;
    out.push({ t: e.t, thread: e.thread, handler: e.handler, what: JSON.stringify(e.fault) });
  }
  return out;
}

/** A region's backing memory as the queue library takes it (provenance shadow included). */
function regionOf(sys: System, name: string) {
  const bytes = sys.memory(name);
  return { buffer: bytes.buffer, byteOffset: bytes.byteOffset, size: bytes.byteLength };
}

/** The bytes between a queue's head and tail, with their tags. */
function unread(q: SerialQueue): { byte: number; tag: number }[] {
  const out: { byte: number; tag: number }[] = [];
  for (let i = q.head; i !== q.tail; i = (i + 1) >>> 0)
    out.push({ byte: q.byteAt(i), tag: q.tagAt(i) });
  return out;
}

function regionSize(desc: SystemDescription, name: string): number {
  return Number(desc.memoryRegions.find((r) => r.name === name)?.size ?? 0);
}

function digestOf(run: Omit<RunResult, "digest" | "perfetto">, log: readonly unknown[]): string {
  const hash = createHash("sha256");
  hash.update(`${run.virtualTime} ${run.events} ${run.idle}\n`);
  const wire = new Float64Array(run.wire.length * 4);
  for (const [i, w] of run.wire.entries()) wire.set([w.byte, w.tag, w.start, w.end], i * 4);
  hash.update(new Uint8Array(wire.buffer));
  for (const g of run.guests) {
    hash.update(g.enqueued);
    hash.update(
      new Uint8Array(g.enqueueTimes.buffer, g.enqueueTimes.byteOffset, g.enqueueTimes.byteLength),
    );
    hash.update(JSON.stringify([g.received, g.loss, g.unpublished]));
  }
  hash.update(JSON.stringify(run.loss));
  for (const event of log) hash.update(JSON.stringify(event));
  return hash.digest("hex");
}
