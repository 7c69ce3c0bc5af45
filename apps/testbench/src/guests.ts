/**
 * The guests of a scenario as the runtime needs them (PD programs, devices, guest programs)
 * and what each did, collected after the run in one shape for both kinds: an sDDF serial
 * client PD (`serial-client.ts`) or a Linux guest on a VMM's vCPU (`@vmmux/vmm`).
 */
import type { DeviceHost, GuestEntry, MmioDevice, PdProgram } from "@vmmux/microkit-pd";
import { provenanceTag } from "@vmmux/sddf-queues";
import { type OutputEvent, virtualMachine } from "@vmmux/vmm";
import type { ScenarioGuest } from "./scenario.js";
import {
  type ClientLoss,
  printEvents,
  type ReceivedByte,
  SerialClientGuest,
} from "./serial-client.js";
import { TraceTimer } from "./trace-timer.js";
import type { GuestWiring } from "./wiring.js";

/** What one guest wrote and received, whatever its kind. */
export interface GuestTranscript {
  /** Every byte the guest handed to its console path, in order. */
  readonly enqueued: Uint8Array;
  /** The provenance tag of each of those bytes. */
  readonly enqueuedTags: Uint32Array;
  /** When each byte entered the serial TX queue, ns (empty when the guest kind cannot say). */
  readonly enqueueTimes: Float64Array;
  readonly attempted: number;
  readonly tracePrinted: number;
  readonly traceEvents: number;
  /** Virtual ns at which the trace asks for its first output (null: never). */
  readonly traceStart: number | null;
  readonly loss: ClientLoss;
  /**
   * R8: typed bytes the guest's console discarded (RX virtqueue not ready, or the hardened
   * pre-ready buffer full); 0 for a client PD, whose input path cannot drop.
   */
  readonly inputDropped: number;
  readonly unpublished: number;
  readonly received: readonly ReceivedByte[];
  /** What the VMM reported (guest-reachable misuse, defects hit); empty for a client PD. */
  readonly findings: readonly string[];
}

export interface BuiltGuest {
  readonly programs: Readonly<Record<string, PdProgram>>;
  readonly devices: Readonly<Record<string, (host: DeviceHost) => MmioDevice>>;
  readonly vms: Readonly<Record<string, GuestEntry>>;
  collect(): GuestTranscript;
}

export interface GuestBuildOptions {
  readonly profile: "reference" | "hardened";
}

function clientGuest(g: ScenarioGuest & { kind: "sddf-client" }, w: GuestWiring): BuiltGuest {
  if (w.kind !== "sddf-client") throw new Error(`wiring of ${g.name} is not a client PD`);
  const client = new SerialClientGuest({
    wiring: w,
    events: printEvents(g.trace),
    cpu: g.cpu,
    input: g.input,
  });
  const origin = w.index + 1;
  return {
    programs: { [w.programImage]: client },
    devices: { [w.timerRegion]: (host) => new TraceTimer(host, w.timerIrq) },
    vms: {},
    collect: () => ({
      enqueued: client.enqueued.slice(),
      enqueuedTags: Uint32Array.from(client.enqueued, (_, i) => provenanceTag(origin, i)),
      enqueueTimes: client.enqueueTimes.slice(),
      attempted: client.attempted,
      tracePrinted: client.printed,
      traceEvents: client.options.events.length,
      traceStart: client.options.events[0]?.at ?? null,
      loss: { ...client.loss },
      inputDropped: 0,
      unpublished: client.unpublished,
      received: [...client.received],
      findings: [],
    }),
  };
}

function vmGuest(
  g: ScenarioGuest & { kind: "vm" },
  w: GuestWiring,
  options: GuestBuildOptions,
): BuiltGuest {
  if (w.kind !== "vm") throw new Error(`wiring of ${g.name} is not a VMM PD`);
  const events: OutputEvent[] = g.trace.events
    .filter((e) => e.code === "o")
    .map((e) => ({ time: e.time, text: e.data }));
  const vm = virtualMachine(
    {
      profile: options.profile,
      ram: { region: w.ramRegion, guestBase: w.guestBase },
      serial: {
        tx: { channel: w.txChannel, queueRegion: w.txQueue, dataRegion: w.txData },
        rx: { channel: w.rxChannel, queueRegion: w.rxQueue, dataRegion: w.rxData },
      },
    },
    {
      origin: w.index + 1,
      bootBursts: [Math.round(g.boot * 1e9)],
      workload: { kind: "trace", events, thenShell: g.thenShell },
      echo: g.input === "echo",
      loopCostNs: g.loopCostUs * 1000,
    },
  );
  return {
    programs: { [w.programImage]: vm.vmm },
    devices: {},
    vms: { [w.vmName]: vm.guest },
    collect: () => {
      const guest = vm.current();
      const console = vm.vmm.device?.counters(0);
      const written = guest?.written ?? { bytes: [], tags: [] };
      const received = guest?.received ?? { bytes: [], tags: [] };
      const first = events[0];
      return {
        enqueued: Uint8Array.from(written.bytes),
        enqueuedTags: Uint32Array.from(written.tags),
        enqueueTimes: new Float64Array(0),
        attempted: written.bytes.length,
        tracePrinted: guest?.eventTimes.length ?? 0,
        traceEvents: events.length,
        traceStart:
          guest === undefined || first === undefined
            ? null
            : guest.startedAt + Math.round(first.time * 1e9),
        loss: { T1: 0, T2: 0 },
        inputDropped:
          console === undefined ? 0 : console.rxDiscardedNotReady + console.rxOverflowBeforeReady,
        unpublished: 0,
        received: received.bytes.map((byte, i) => ({
          byte,
          tag: received.tags[i] ?? 0,
          at: Number.NaN,
        })),
        findings: vm.vmm.findings.map((f) => `${(f.t / 1e9).toFixed(6)} s: ${f.message}`),
      };
    },
  };
}

/** Build one scenario guest on its wiring. */
export function buildGuest(
  g: ScenarioGuest,
  w: GuestWiring,
  options: GuestBuildOptions,
): BuiltGuest {
  return g.kind === "vm" ? vmGuest(g, w, options) : clientGuest(g, w);
}
