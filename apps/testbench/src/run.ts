/**
 * Runs a scenario's system (built by `system/build.ts`) to its end and records what happened:
 * the wire, each guest's transcript, loss counters, the threads' end states and the producers
 * left waiting. The result is plain data the report and the oracles read; nothing here judges it.
 */

import { rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import {
  PerfettoStream,
  type PerfettoStreamOptions,
  type RuntimeEvent,
  type System,
  type TraceEvent,
} from "@vmmux/microkit-pd";
import { uartLossPoints, WIRE_CHARACTER } from "@vmmux/pl011-uart";
import { SerialQueue } from "@vmmux/sddf-queues";
import { COLOUR_OVERHEAD } from "@vmmux/sddf-serial";
import { outputText } from "./asciicast.js";
import { KeyLossWatch } from "./faults/line-errors.js";
import { faultsOf, withoutParents } from "./faults/restart.js";
import { FidelityWatch } from "./oracles/fidelity-watch.js";
import { starvationWatch } from "./oracles/starvation-run.js";
import type { PreparedGuests } from "./real/prepare.js";
import { runKeyboard, typeStrokes } from "./replay-typing.js";
import { syncFileStream } from "./report/perfetto-file.js";
import type { Scenario } from "./scenario.js";
import { RunDigest } from "./stream/digest.js";
import { type QuietStepsOption, quietSteps } from "./stream/quiet-steps.js";
import { FaultWatch, joined, regionOf, regionSize, unread } from "./stream/run-state.js";
import { attachStreamed } from "./stream/streamed.js";
import { type WireJudge, wireJudgeOf } from "./stream/wire-judge.js";
import { WireStats } from "./stream/wire-stats.js";
import { type WireRecord, WireStore } from "./stream/wire-store.js";
import { buildSystem, type RunVariants, type SystemBuildOptions } from "./system/build.js";

export { perturbedCosts, type SchedulePerturbation } from "./schedule-perturbation.js";
export type { PdFault } from "./stream/run-state.js";
export type { WireRecord } from "./stream/wire-store.js";
export type { RunVariants } from "./system/build.js";

import type { GuestRun, ProducerWait, RunResult } from "./run-result.js";
import { perturbedCosts, type SchedulePerturbation } from "./schedule-perturbation.js";

export type {
  GuestRun,
  KeyByte,
  ProducerWait,
  RunLoss,
  RunResult,
  ThreadEnd,
} from "./run-result.js";
export { scenarioSystem } from "./system/build.js";

export interface RunOptions {
  /**
   * The kernel records its events (default false): PD faults are then reported
   * ({@link RunResult.pdFaults}) and, unless `retainLog` is false, the whole log is kept for
   * {@link RunResult.perfetto}.
   */
  readonly recordEvents?: boolean;
  /**
   * With `recordEvents`: keep the whole log (default true). False keeps none (microkit-pd's
   * `retainEvents: false`): each event goes to `onEvent` and the Perfetto stream as it is
   * recorded, so memory stays flat however long the run.
   */
  readonly retainLog?: boolean;
  /** Each kernel event as it is recorded (with `recordEvents`). */
  readonly onEvent?: (event: RuntimeEvent) => void;
  /**
   * With `recordEvents`: write the Perfetto timeline to this file as the run goes (microkit-pd's
   * `streamPerfetto`; gzip when it ends in `.gz`), under a temporary name renamed once
   * {@link RunResult.streamed} resolves.
   */
  readonly perfettoFile?: string;
  /**
   * Fold repeating cycles and device runs in `perfettoFile` (microkit-pd's `fold`, what
   * `--out` writes); default false, every record as the kept log gives it.
   */
  readonly perfettoFold?: boolean;
  /** Each trace event `perfettoFile` gets, as it is written (microkit-pd's `tap`). */
  readonly perfettoTap?: (event: TraceEvent) => void;
  /**
   * Write only this window of virtual time to `perfettoFile` (microkit-pd's `window`); the tap
   * still gets the whole run.
   */
  readonly perfettoWindow?: PerfettoStreamOptions["window"];
  /**
   * Keep the wire in the result (default true). False keeps only its numbers and digest:
   * `wire` is then empty and the wire oracles cannot judge the run (`wireKept` is false).
   */
  readonly keepWire?: boolean;
  /**
   * Judge integrity and interleaving as the wire goes (`stream/wire-judge.ts`; default false):
   * the wire oracles then judge the run without its kept wire, with the same verdicts. When a
   * guest cannot show what it has written so far (a real guest), the run keeps its wire instead.
   */
  readonly judgeWire?: boolean;
  /** Each character as it leaves the TX wire (the muxed terminal as a sink). */
  readonly onWire?: (byte: number, tag: number, start: number, end: number) => void;
  /**
   * Let the kernel advance idle trapped-WFI loops by arithmetic (microkit-pd's `fastForward`,
   * default the scenario's knob, else on). Off simulates every trap; results are identical.
   */
  readonly fastForward?: boolean;
  /** End work steps in place when nothing can come first (microkit-pd's `inlineSteps`, default on). */
  readonly inlineSteps?: boolean;
  /**
   * The UART's state machine at every transmitted character's end (pl011-uart's
   * `exactCharacterEvents`; absent leaves the device's default). Results are identical.
   */
  readonly exactCharacterEvents?: boolean;
  /** Called every `progressStepNs` of virtual time (once after a stretch of `quietSteps`). */
  readonly onProgress?: (now: number, limit: number) => void;
  readonly progressStepNs?: number;
  /**
   * Pass over progress steps where no verdict can change, not cutting fast-forward leaps there
   * (`stream/quiet-steps.ts`; default true; false samples every step, same results).
   */
  readonly quietSteps?: QuietStepsOption;
  readonly variants?: RunVariants;
  readonly schedule?: SchedulePerturbation;
  /** The started emulators of the scenario's real guests (`prepareGuests`; one set per run). */
  readonly prepared?: PreparedGuests;
  /** Builds each guest instead of the scenario's own builder (`SystemBuildOptions.guest`). */
  readonly guest?: SystemBuildOptions["guest"];
  /** The scenario's system, knobs applied, parsed once by the caller (`SystemBuildOptions`). */
  readonly system?: SystemBuildOptions["description"];
}

/** Build, run and record one scenario. */
export function runScenario(scenario: Scenario, options: RunOptions = {}): RunResult {
  const knobs = scenario.knobs;
  const recordEvents = options.recordEvents ?? false;
  const retainLog = recordEvents && (options.retainLog ?? true);
  let judge: WireJudge | null = null;
  let keepWire = options.keepWire ?? true;
  let store = keepWire ? new WireStore() : null;
  const digest = new RunDigest();
  const onWire = options.onWire;
  let stats: WireStats | undefined;
  const fidelity = FidelityWatch.of(scenario);
  const built = buildSystem(scenario, {
    recordEvents,
    retainEvents: retainLog,
    // Thread states are most of the records and nothing of a run uses them (the Perfetto
    // export shows states as slices): recorded only for a caller's own `onEvent`.
    recordStates: options.onEvent !== undefined,
    // Without a timeline, a kept log or a caller's `onEvent`, the run's own checks read only a
    // PD's faults and the UART's loss records: the per-cycle scheduling records are not made.
    recordCycles: options.onEvent !== undefined || options.perfettoFile !== undefined || retainLog,
    fastForward: options.fastForward ?? knobs.fastForward,
    inlineSteps: options.inlineSteps,
    exactCharacterEvents: options.exactCharacterEvents,
    transmitSink: (byte, tag, start, end, kind) => {
      if (kind !== WIRE_CHARACTER) return;
      store?.push(byte, tag, start, end);
      judge?.push(byte, tag);
      digest.wire(byte, tag, start, end);
      stats!.push(tag, end);
      fidelity.push(byte, tag);
      onWire?.(byte, tag, start, end);
    },
    ...(options.variants === undefined ? {} : { variants: options.variants }),
    ...(options.prepared === undefined ? {} : { prepared: options.prepared }),
    ...(options.guest === undefined ? {} : { guest: options.guest }),
    ...(options.system === undefined ? {} : { description: options.system }),
    ...(options.schedule === undefined ? {} : { costModel: perturbedCosts(options.schedule) }),
  });
  const { sys, device, driver, virtTx, virtRx, description: desc } = built;
  const { wiring, virtTx: txConfig, virtRx: rxConfig } = built.configs;
  const enqueueTimeAt = built.guests.map((b) => b.enqueueTimeAt);
  if (options.judgeWire === true) {
    judge = wireJudgeOf(scenario, built.guests);
    if (judge === null && store === null) {
      keepWire = true;
      store = new WireStore();
    }
  }
  stats = new WireStats(
    scenario.guests.map((_, k) => k + 1),
    (origin, seq) => enqueueTimeAt[origin - 1]?.(seq),
  );
  const pdNames = new Set(
    sys
      .threads()
      .filter((t) => t.kind === "pd")
      .map((t) => t.name),
  );
  const faults = new FaultWatch(pdNames);
  const keysLost = new KeyLossWatch();
  const onEvent = options.onEvent;
  if (recordEvents && !retainLog) {
    const check = (e: RuntimeEvent) => {
      faults.check(e);
      keysLost.check(e);
      onEvent?.(e);
    };
    // The checks read no cycle records: a Perfetto stream may take those alone (cycle-records.ts).
    sys.onEvent(onEvent === undefined ? PerfettoStream.readsNoCycles(check) : check);
  }
  const trace =
    recordEvents && options.perfettoFile !== undefined
      ? openTrace(sys, options.perfettoFile, {
          fold: options.perfettoFold ?? false,
          ...(options.perfettoTap === undefined ? {} : { tap: options.perfettoTap }),
          ...(options.perfettoWindow === undefined ? {} : { window: options.perfettoWindow }),
        })
      : null;

  const typed = runKeyboard(
    scenario,
    { ...rxConfig, numClients: rxConfig.clients.length },
    wiring.guests.map((w) => w.index),
    options.variants?.typing,
  );
  const keyboard = typeStrokes(typed.strokes, built.keyboard);

  const limit = Math.round(knobs.durationLimit * 1e9);
  const step = options.progressStepNs ?? 100_000_000;
  const starvation = starvationWatch(scenario, wiring, sys, stats);
  const quiet = quietSteps(options.quietSteps ?? true, built, {
    step,
    limit,
    dueFrom: starvation.dueFrom,
    typedAt: keyboard.map((k) => k.at),
    wireCount: () => stats.total,
  });
  let idle = false;
  while (!idle && sys.now() < limit) {
    idle = sys.runUntilIdle(quiet?.next(sys.now()) ?? Math.min(sys.now() + step, limit));
    quiet?.reached();
    starvation.sample();
    options.onProgress?.(sys.now(), limit);
  }
  device.settle();
  if (retainLog) {
    for (const e of sys.log) {
      faults.check(e);
      keysLost.check(e);
      onEvent?.(e);
    }
  }

  // No closure the result keeps may name `sys`, `built` or `device` (V8 would keep the whole
  // system, a real guest's RAM with it, for as long as the result lives): they are read here.
  const queue = queueOf.bind(undefined, sys, wiring);
  const guests: GuestRun[] = [];
  const clientTx: SerialQueue[] = [];
  for (const [k, g] of scenario.guests.entries()) {
    guests.push(
      joined(
        { name: g.name, kind: g.kind, pd: g.pd, index: k, origin: k + 1 },
        built.guests[k]!.collect(),
        {
          rxPending: unread(queue("rx", k)),
          txCapacity: regionSize(desc, wiring.guests[k]!.txData),
          // Made when read: the whole trace's text is not kept with every run.
          get traceText() {
            return outputText(g.trace);
          },
        },
      ),
    );
    clientTx.push(queue("tx", k));
  }
  const txFifoLevel = device.txFifoLevel;
  const VIRT_TX_PD = wiring.virtTx.pd;
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
      need: queue("tx", k).lengthConsumer() + (knobs.colour ? COLOUR_OVERHEAD : 0),
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
    const q = queue("tx", k);
    const t = threadOf(g.pd);
    waits.push({
      producer: `${g.pd}'s console`,
      waiter: g.pd,
      waiterState: t?.state ?? "unknown",
      waiterBusy: (t?.entry ?? null) !== null,
      queue: wiring.guests[k]!.txData,
      // Its chain may be larger, but any free byte lets a hardened console move a part.
      need: 1,
      capacity: q.capacity,
      length: q.lengthConsumer(),
      free: q.free(),
      signalRequested: q.producerSignalled === 0,
    });
  }
  const loss = {
    virtTx: { ...virtTx.loss },
    virtRx: { ...virtRx.loss },
    uart: uartLossPoints(device, driver),
  };
  const virtualTime = sys.now();
  const events = sys.eventsProcessed;
  let materialised: WireRecord[] | undefined;
  const done: RunResult = {
    scenarioFile: scenario.file,
    seed: knobs.seed,
    profile: knobs.profile,
    colour: knobs.colour,
    lineAtomic: knobs.lineAtomic,
    driverTxCapacity: regionSize(desc, txConfig.driver.data),
    virtualTime,
    events,
    idle,
    /** Materialised from the store on first read. */
    get wire(): readonly WireRecord[] {
      materialised ??= store === null ? [] : store.records();
      return materialised;
    },
    wireKept: keepWire,
    keyboard,
    guests,
    loss,
    peerFaults: {
      virtTx: virtTx.corruptPeers,
      virtRx: virtRx.corruptPeers,
      driver: driver.counters.peerFaults,
    },
    keyboardLost: recordEvents ? keysLost.lost : null,
    keyboardInFlight:
      device.wireBacklog + device.rxFifoLevel + queue("rx", "driver").lengthConsumer(),
    switchChar: rxConfig.switchChar,
    terminateNumChar: rxConfig.terminateNumChar,
    threads: threadInfo.map((t) => ({
      name: t.name,
      kind: t.kind,
      state: t.state,
      runTime: t.runTime,
    })),
    starvation: starvation.finish(knobs.starvedAfter, virtualTime),
    fidelity: fidelity.finish(),
    ...faultsOf(recordEvents ? faults.found : null, built.restartParents),
    waits,
    txQueued: () => {
      const n = Math.min(txFifoLevel + 1, driverQueue.head);
      const head = driverQueue.head;
      return {
        uart: Uint32Array.from({ length: n }, (_, i) => driverQueue.tagAt(head - n + i)),
        driver: Uint32Array.from(unread(driverQueue), (b) => b.tag),
        clients: clientTx.map((q) => Uint32Array.from(unread(q), (b) => b.tag)),
      };
    },
    schedule: options.schedule ?? null,
    digest: digest.finish({ virtualTime, events, idle, guests, loss }),
    idlePds: withoutParents([...wiring.roles.idle, ...wiring.unplaced], built.restartParents),
    perfetto: retainLog ? sys.toPerfetto.bind(sys) : () => undefined,
    streamed: trace === null ? Promise.resolve() : trace.close(sys.now()),
  };
  return attachStreamed(done, { store, stats, judge });
}

/** A queue by role (the k-th guest's connections or the driver's), never by region name. */
function queueOf(
  sys: System,
  wiring: ReturnType<typeof buildSystem>["configs"]["wiring"],
  kind: "tx" | "rx",
  k: number | "driver",
): SerialQueue {
  const w = k === "driver" ? undefined : wiring.guests[k]!;
  const regions =
    w === undefined
      ? kind === "tx"
        ? wiring.driverTx
        : wiring.driverRx
      : kind === "tx"
        ? { queue: w.txQueue, data: w.txData }
        : { queue: w.rxQueue, data: w.rxData };
  return SerialQueue.fromRegions(regionOf(sys, regions.queue), regionOf(sys, regions.data));
}

/** The run's Perfetto trace streamed to `path` under a temporary name, renamed when closed. */
function openTrace(sys: System, path: string, options: PerfettoStreamOptions) {
  const temporary = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  // Written as the run goes (gzip too: microkit-pd's compresses synchronously), so a missing
  // directory fails here, before the run.
  const file = syncFileStream(temporary);
  const stream = new PerfettoStream(file, sys.threads(), {
    ...options,
    gzip: path.endsWith(".gz"),
  });
  sys.onEvent(stream.listener);
  return {
    close: async (end: number) => {
      try {
        await stream.close(end);
        await rename(temporary, path);
      } catch (error) {
        await rm(temporary, { force: true });
        throw error;
      }
    },
  };
}
