/**
 * Builds the Microkit System a scenario describes and runs it to the end: the PL011 device
 * and sDDF PL011 driver, both virtualisers, each guest (an sDDF client PD with its trace
 * timer, or a VMM PD with its Linux guest, `guests.ts`), and the keyboard as frames arriving
 * on the UART's RX line. The result is plain
 * data the report and the oracles read; nothing here judges it.
 */
import { createHash } from "node:crypto";
import {
  type DeviceHost,
  type GuestEntry,
  loadSystemFile,
  type MmioDevice,
  type PdProgram,
  type PerfettoTrace,
  System,
  type SystemDescription,
} from "@vmmux/microkit-pd";
import { Pl011Device, Pl011Driver, type UartLossPoints, uartLossPoints } from "@vmmux/pl011-uart";
import { ORIGIN_KEYBOARD, provenanceTag, SerialQueue } from "@vmmux/sddf-queues";
import {
  VirtRx,
  type VirtRxConfig,
  type VirtRxLoss,
  VirtTx,
  type VirtTxConfig,
  type VirtTxLoss,
  virtRxConfig,
  virtTxConfig,
} from "@vmmux/sddf-serial";
import { outputText } from "./asciicast.js";
import { buildGuest, type GuestTranscript } from "./guests.js";
import type { Scenario } from "./scenario.js";
import { applyKnobs, connectionRegions, serialWiring } from "./wiring.js";

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
  /** SHA-256 over everything observable (wire, deliveries, time, event count, log). */
  readonly digest: string;
  /** The event timeline (only when the run recorded events). */
  perfetto(): PerfettoTrace | undefined;
}

/** Virtualiser classes to run instead of the real ones (planted-bug variants in tests). */
export interface RunVariants {
  readonly virtTx?: new (config: VirtTxConfig) => VirtTx;
  readonly virtRx?: new (config: VirtRxConfig) => VirtRx;
}

export interface RunOptions {
  /** Keep the kernel event log (for Perfetto and the digest); default false. */
  readonly recordEvents?: boolean;
  /** Called every `progressStepNs` of virtual time. */
  readonly onProgress?: (now: number, limit: number) => void;
  readonly progressStepNs?: number;
  readonly variants?: RunVariants;
}

const encoder = new TextEncoder();

/** The system the scenario runs on, knobs applied. */
export function scenarioSystem(scenario: Scenario): SystemDescription {
  return applyKnobs(loadSystemFile(scenario.systemPath).system, scenario);
}

/** Build, run and record one scenario. */
export function runScenario(scenario: Scenario, options: RunOptions = {}): RunResult {
  const knobs = scenario.knobs;
  const desc = scenarioSystem(scenario);
  const wiring = serialWiring(desc, scenario.guests);
  const driverTx = connectionRegions("tx", "driver");
  const driverRx = connectionRegions("rx", "driver");
  const driver = new Pl011Driver({
    profile: knobs.profile,
    mmioRegion: wiring.driver.uartRegion,
    irqChannel: wiring.driver.irqChannel,
    tx: {
      channel: wiring.driver.txChannel,
      queueRegion: driverTx.queue,
      dataRegion: driverTx.data,
    },
    rx: {
      channel: wiring.driver.rxChannel,
      queueRegion: driverRx.queue,
      dataRegion: driverRx.data,
    },
    defaultBaud: knobs.baud,
  });
  const txConfig = virtTxConfig({
    profile: knobs.profile,
    enableColour: knobs.colour,
    lineAtomic: knobs.lineAtomic,
    driver: { ...driverTx, channel: wiring.virtTx.driverChannel },
    clients: wiring.guests.map((g, k) => ({
      conn: { queue: g.txQueue, data: g.txData, channel: wiring.virtTx.clientChannels[k]! },
      name: g.pd,
    })),
  });
  const rxConfig = virtRxConfig({
    profile: knobs.profile,
    driver: { ...driverRx, channel: wiring.virtRx.driverChannel },
    clients: wiring.guests.map((g, k) => ({
      queue: g.rxQueue,
      data: g.rxData,
      channel: wiring.virtRx.clientChannels[k]!,
    })),
  });
  const virtTx = new (options.variants?.virtTx ?? VirtTx)(txConfig);
  const virtRx = new (options.variants?.virtRx ?? VirtRx)(rxConfig);
  const built = scenario.guests.map((g, k) =>
    buildGuest(g, wiring.guests[k]!, { profile: knobs.profile }),
  );
  const programs: Record<string, PdProgram> = {
    [wiring.driver.programImage]: driver,
    [wiring.virtTx.programImage]: virtTx,
    [wiring.virtRx.programImage]: virtRx,
  };
  const guestPrograms: Record<string, GuestEntry> = {};
  for (const b of built) {
    Object.assign(programs, b.programs);
    Object.assign(guestPrograms, b.vms);
  }
  let uart: Pl011Device | undefined;
  const devices: Record<string, (host: DeviceHost) => MmioDevice> = {
    [wiring.driver.uartRegion]: (host) => {
      uart = new Pl011Device({ host, irq: wiring.driver.irq, variant: knobs.uart });
      return uart;
    },
  };
  for (const b of built) Object.assign(devices, b.devices);
  const recordEvents = options.recordEvents ?? false;
  const sys = new System(desc, {
    seed: knobs.seed,
    recordEvents,
    programs,
    devices,
    guests: guestPrograms,
  });
  const device = uart as Pl011Device | undefined;
  if (device === undefined) throw new Error(`${scenario.file}: the UART device was not created`);

  const keyboard: KeyByte[] = [];
  for (const stroke of scenario.keyboard) {
    const at = Math.round(stroke.at * 1e9);
    for (const byte of encoder.encode(stroke.text)) {
      const tag = provenanceTag(ORIGIN_KEYBOARD, keyboard.length);
      keyboard.push({ byte, tag, at });
      device.send(byte, { at, tag });
    }
  }

  const limit = Math.round(knobs.durationLimit * 1e9);
  const step = options.progressStepNs ?? 100_000_000;
  let idle = false;
  while (!idle && sys.now() < limit) {
    idle = sys.runUntilIdle(Math.min(sys.now() + step, limit));
    options.onProgress?.(sys.now(), limit);
  }

  const wire: WireRecord[] = device.transmitted
    .filter((w) => w.kind === "byte")
    .map((w) => ({ byte: w.byte, tag: w.tag, start: w.start, end: w.end }));
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
    ...built[k]!.collect(),
    rxPending: unread(queue("rx", g.pd)),
    txCapacity: regionSize(desc, wiring.guests[k]!.txData),
    traceText: outputText(g.trace),
  }));
  const result = {
    scenarioFile: scenario.file,
    seed: knobs.seed,
    profile: knobs.profile,
    colour: knobs.colour,
    lineAtomic: knobs.lineAtomic,
    driverTxCapacity: regionSize(desc, driverTx.data),
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
  };
  const digest = digestOf(result, recordEvents ? sys.log : []);
  return {
    ...result,
    digest,
    perfetto: () => (recordEvents ? sys.toPerfetto() : undefined),
  };
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
