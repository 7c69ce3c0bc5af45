/**
 * The guests of a scenario as the runtime needs them (PD programs, devices, guest programs)
 * and what each did, collected after the run in one shape for both kinds: an sDDF serial
 * client PD (`serial-client.ts`) or a Linux guest on a VMM's vCPU (`@vmmux/vmm`).
 */
import type { DeviceHost, GuestEntry, MmioDevice, PdProgram } from "@vmmux/microkit-pd";
import { provenanceTag } from "@vmmux/sddf-queues";
import type { VirtioMmioTransport } from "@vmmux/virtio-core";
import {
  customMachine,
  type GuestSpec,
  LinuxGuest,
  type VmmConfig,
  VmmProgram,
  virtualMachine,
} from "@vmmux/vmm";
import { HostileGuest, type HostileScript, hostileScriptArb } from "@vmmux/vmm/testing";
import fc from "fast-check";
import { type InputFates, vmInputFates } from "./early-input/fates.js";
import { CorruptingClient } from "./faults/corrupt-client.js";
import { faultingVmm, GuestBoots } from "./faults/restart.js";
import { echoes } from "./input-mode.js";
import { buildRealGuest } from "./real/guest.js";
import type { PreparedGuests } from "./real/prepare.js";
import type { ScenarioGuest } from "./scenario.js";
import {
  type ClientLoss,
  printEvents,
  type ReceivedByte,
  SerialClientGuest,
} from "./serial-client.js";
import type { WrittenView } from "./stream/wire-judge.js";
import { TraceTimer } from "./trace-timer.js";
import { bootsWritten, writtenTags } from "./vm-written.js";
import type { GuestWiring, VmGuestWiring } from "./wiring.js";

/** What one guest wrote and received, whatever its kind. */
export interface GuestTranscript {
  /** Every byte the guest handed to its console path, in order. */
  readonly enqueued: Uint8Array;
  /** The provenance tag of each of those bytes. */
  readonly enqueuedTags: Uint32Array;
  /** The same tags in pieces, none kept (kinds whose `enqueuedTags` is made on first read). */
  readonly enqueuedTagChunks?: () => Iterable<Uint32Array>;
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
   * pre-ready buffer full) or its console driver threw away (flushed in `add_port`'s window,
   * port not open; `early-input/fates.ts`); 0 for a client PD, whose input path cannot drop.
   */
  readonly inputDropped: number;
  readonly unpublished: number;
  readonly received: readonly ReceivedByte[];
  /** What the VMM reported (guest-reachable misuse, defects hit); empty for a client PD. */
  readonly findings: readonly string[];
  /** The guest is `@vmmux/vmm`'s hostile guest (DESIGN.md oracle 6). */
  readonly hostile?: boolean;
  /** The VMM and its device after the run; null or absent for a client PD. */
  readonly vmm?: VmmObservation | null;
  /** Where typed input went past the RX queue (`early-input/fates.ts`); absent for other kinds. */
  readonly inputFates?: InputFates | null;
}

/** What the isolation and wake-up oracles read from a `vm` guest's VMM and device. */
export interface VmmObservation {
  /** The virtio-mmio `Status` register at the end (0 before the transport existed). */
  readonly deviceStatus: number;
  /** Times the transport was asked to enter DEVICE_NEEDS_RESET (a broken queue, virtio §2.1.2). */
  readonly needsResetRequests: number;
  /** Of those, times the status did not show DEVICE_NEEDS_RESET right after the request. */
  readonly needsResetMissed: number;
  /** The first reasons the transport gave (error codes with their messages). */
  readonly needsResetReasons: readonly string[];
  /** Exits the VMM left unanswered (the vCPU stays blocked). */
  readonly unanswered: number;
  /** VMM findings in which the vCPU was not resumed. */
  readonly unresumed: number;
  /** The VMM's findings by kind (all of them, not only the kept ones). */
  readonly findingCounts: Readonly<Record<string, number>>;
  /** The defect that crashed the transport or console, if one did. */
  readonly crashedBy: string | null;
  /** The console's TX waits for space in its sDDF queue (virtio-console `txWaiting`). */
  readonly txWaiting: boolean;
  /**
   * The console's defects that bit, by name (virtio-console `findingCounts`), e.g. `txNoRecheck`
   * (virt_tx drained the queue between the "full" check and the signal request, T8) or
   * `txSignalIgnored` (virt_tx's wake-up ignored, L13). Absent in results made by hand.
   */
  readonly consoleFindings?: Readonly<Record<string, number>>;
  /** A hostile guest: its ops completed out of the script's. */
  readonly hostileOps: { readonly completed: number; readonly total: number } | null;
}

export interface BuiltGuest {
  readonly programs: Readonly<Record<string, PdProgram>>;
  readonly devices: Readonly<Record<string, (host: DeviceHost) => MmioDevice>>;
  readonly vms: Readonly<Record<string, GuestEntry>>;
  collect(): GuestTranscript;
  /** Memory regions backed by the guest's own buffers (a real guest's RAM is the emulator's). */
  readonly regionBacking?: Readonly<Record<string, Uint8Array>>;
  /** When byte `seq` entered the serial TX queue, ns, as the run goes (kinds that record it). */
  readonly enqueueTimeAt?: (seq: number) => number | undefined;
  /**
   * What the guest has written so far, read as the run goes (the wire oracles judge against it,
   * `stream/wire-judge.ts`); absent for kinds that cannot say until the run ends.
   */
  readonly written?: WrittenView;
  /** The idle loop the Linux guest model is in now (`LinuxGuest.idleLoop`; kinds that have one). */
  readonly idleLoop?: () => ReturnType<LinuxGuest["idleLoop"]>;
}

export interface GuestBuildOptions {
  readonly profile: "reference" | "hardened";
  /** The scenario seed (a hostile guest's script is drawn from it); default 1. */
  readonly seed?: number;
  /** Builds the VMM PD of a `vm` guest (a test may pass a deliberately wrong variant); default `VmmProgram`. */
  readonly makeVmm?: (config: VmmConfig) => VmmProgram;
  /** The started emulators of the scenario's real guests (`prepareGuests`). */
  readonly prepared?: PreparedGuests;
  /** VMM settings from the scenario's knobs (`devicePreemption`, `features`, defect switches). */
  readonly vmm?: Pick<
    VmmConfig,
    "devicePreemption" | "features" | "consoleDefects" | "transportDefects" | "origin"
  >;
}

function clientGuest(g: ScenarioGuest & { kind: "sddf-client" }, w: GuestWiring): BuiltGuest {
  if (w.kind !== "sddf-client") throw new Error(`wiring of ${g.name} is not a client PD`);
  const client = new SerialClientGuest({
    wiring: w,
    events: printEvents(g.trace),
    cpu: g.cpu,
    input: echoes(g.input) ? "echo" : "record",
  });
  const origin = w.index + 1;
  const bad = g.corruptQueue;
  const program: PdProgram & { readonly unpublished: number } =
    bad === undefined
      ? client
      : new CorruptingClient(client, {
          at: Math.round(bad.at * 1e9),
          txQueue: w.txQueue,
          txChannel: w.txChannel,
        });
  return {
    programs: { [w.programImage]: program },
    devices: { [w.timerRegion]: (host) => new TraceTimer(host, w.timerIrq) },
    vms: {},
    enqueueTimeAt: (seq) => client.enqueueTimeAt(seq),
    written: {
      get length() {
        return client.enqueued.length;
      },
      byteAt: (i) => client.enqueued[i]!,
      tagAt: (i) => provenanceTag(origin, i),
    },
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
      unpublished: program.unpublished,
      received: [...client.received],
      findings: [],
      hostile: false,
      vmm: null,
    }),
  };
}

const DEVICE_NEEDS_RESET = 0x40;
const KEPT_REASONS = 5;

/** Counts the transport's DEVICE_NEEDS_RESET requests, and whether each one took effect. */
export class NeedsResetWatch {
  requests = 0;
  missed = 0;
  readonly reasons: string[] = [];

  /**
   * Watch the transport the VMM creates in its `init` (it assigns its `transport` field then):
   * wrap that instance's `needsReset`, leaving the VMM's code untouched.
   */
  attach(vmm: VmmProgram): void {
    let current: VirtioMmioTransport | undefined = vmm.transport;
    Object.defineProperty(vmm, "transport", {
      configurable: true,
      enumerable: true,
      get: () => current,
      set: (t: VirtioMmioTransport | undefined) => {
        current = t;
        if (t !== undefined) this.wrap(t);
      },
    });
  }

  private wrap(t: VirtioMmioTransport): void {
    const original = t.needsReset.bind(t);
    t.needsReset = (reason) => {
      original(reason);
      this.requests++;
      if ((t.status & DEVICE_NEEDS_RESET) === 0) this.missed++;
      if (this.reasons.length < KEPT_REASONS)
        this.reasons.push(`${reason.code}: ${reason.message}`);
    };
  }
}

/** Scripts drawn per hostile guest; their ops run one after the other, after a probe. */
const HOSTILE_DRAWS = 6;

/**
 * A hostile guest's parts: its VMM and vCPU, and what it reports (it keeps no transcript; its
 * VMM's findings and observations are what the isolation oracle reads).
 */
export function hostileBuilt(
  vm: ReturnType<typeof customMachine<HostileGuest>>,
  w: VmGuestWiring,
  watch: NeedsResetWatch,
): BuiltGuest {
  return {
    programs: { [w.programImage]: vm.vmm },
    devices: {},
    vms: { [w.vmName]: vm.guest },
    collect: () => ({
      enqueued: new Uint8Array(0),
      enqueuedTags: new Uint32Array(0),
      enqueueTimes: new Float64Array(0),
      attempted: 0,
      tracePrinted: 0,
      traceEvents: 0,
      traceStart: null,
      loss: { T1: 0, T2: 0 },
      inputDropped: 0,
      unpublished: 0,
      received: [],
      findings: vm.vmm.findings.map((f) => `${(f.t / 1e9).toFixed(6)} s: ${f.message}`),
      hostile: true,
      vmm: observe(vm.vmm, watch, vm.current()),
    }),
  };
}

/**
 * The hostile script of guest `index`, drawn from the scenario seed (a rerun is identical):
 * Linux's probe first, so rings and descriptors are live, then the ops of
 * {@link HOSTILE_DRAWS} scripts of `@vmmux/vmm`'s `hostileScriptArb` (register chaos, ring and
 * descriptor corruption, avail indices, kicks).
 */
export function hostileScript(seed: number, index: number): HostileScript {
  const drawn = fc.sample(hostileScriptArb, {
    seed: (seed + index * 0x9e37_79b9) | 0,
    numRuns: HOSTILE_DRAWS,
  });
  return { probe: true, ops: drawn.flatMap((script) => script.ops) };
}

export function observe(
  vmm: VmmProgram,
  watch: NeedsResetWatch,
  hostile: HostileGuest | undefined,
): VmmObservation {
  return {
    deviceStatus: vmm.transport?.status ?? 0,
    needsResetRequests: watch.requests,
    needsResetMissed: watch.missed,
    needsResetReasons: [...watch.reasons],
    unanswered: vmm.counters.unanswered,
    unresumed: vmm.findings.filter((f) => !f.resumed).length,
    findingCounts: Object.fromEntries(vmm.findingCounts),
    crashedBy: (() => {
      const c = vmm.transport?.crashed ?? vmm.device?.crashed;
      return c === undefined ? null : `${c.defect} (${c.ref}): ${c.message}`;
    })(),
    txWaiting: vmm.device?.txWaiting(0) ?? false,
    consoleFindings: Object.fromEntries(vmm.device?.findingCounts ?? []),
    hostileOps:
      hostile === undefined
        ? null
        : { completed: hostile.completed, total: hostile.script.ops.length },
  };
}

function vmGuest(
  g: ScenarioGuest & { kind: "vm" },
  w: GuestWiring,
  options: GuestBuildOptions,
): BuiltGuest {
  if (w.kind !== "vm") throw new Error(`wiring of ${g.name} is not a VMM PD`);
  const watch = new NeedsResetWatch();
  const chosen = faultingVmm(g, options.makeVmm);
  const makeVmm = (config: VmmConfig) => {
    const vmm = chosen?.(config) ?? new VmmProgram(config);
    watch.attach(vmm);
    return vmm;
  };
  const vmmConfig = { ...vmmConfigOf(w, options.profile), ...options.vmm };
  if (g.workload === "hostile") {
    const script = hostileScript(options.seed ?? 1, w.index);
    // After its script the hostile guest idles in a 1 µs WFI loop; answered at once (libvmm),
    // that is a million exits per virtual second to simulate. Its VMM lets the WFI block until
    // the next virtual IRQ instead (`wfi: "block"`, @vmmux/vmm), which changes nothing the
    // guest can observe before it idles.
    const vm = customMachine(
      { ...vmmConfig, wfi: "block" },
      () => new HostileGuest(script, w.ramRegion),
      makeVmm,
    );
    return hostileBuilt(vm, w, watch);
  }
  // The recording's events are read in place (its output, code "o"), not copied.
  return linuxGuest(
    w,
    vmmConfig,
    {
      origin: w.index + 1,
      bootBursts: [Math.round(g.boot * 1e9)],
      workload: { kind: "cast", events: g.trace.events, thenShell: g.thenShell },
      echo: echoes(g.input),
      loopCostNs: g.loopCostUs * 1000,
    },
    makeVmm,
    watch,
  );
}

/** The VMM's wiring of guest `w`: its RAM and both serial connections. */
export function vmmConfigOf(w: VmGuestWiring, profile: "reference" | "hardened") {
  return {
    profile,
    ram: { region: w.ramRegion, guestBase: w.guestBase },
    serial: {
      tx: { channel: w.txChannel, queueRegion: w.txQueue, dataRegion: w.txData },
      rx: { channel: w.rxChannel, queueRegion: w.rxQueue, dataRegion: w.rxData },
    },
  };
}

/** A Linux guest model on its VMM, and its transcript in the shape every guest kind shares. */
function linuxGuest(
  w: VmGuestWiring,
  vmmConfig: Omit<VmmConfig, "boot">,
  spec: GuestSpec,
  makeVmm: (config: VmmConfig) => VmmProgram,
  watch: NeedsResetWatch,
): BuiltGuest {
  const vm = virtualMachine(vmmConfig, spec, makeVmm);
  const boots = new GuestBoots(vm.guest);
  const workload = spec.workload;
  const output = outputCount(workload);
  return {
    programs: { [w.programImage]: vm.vmm },
    devices: {},
    vms: { [w.vmName]: boots.entry },
    idleLoop: () => vm.current()?.idleLoop(),
    written: bootsWritten(boots.all),
    collect: () => {
      const guest = vm.current();
      const console = vm.vmm.device?.counters(0);
      const fates = vmInputFates(vm.vmm, boots.all, guest);
      const written = LinuxGuest.joined(boots.all, "written");
      const received = LinuxGuest.joined(boots.all, "received");
      const parts = {
        enqueued: written.bytes,
        enqueueTimes: new Float64Array(0),
        attempted: written.bytes.length,
        tracePrinted: guest?.eventTimes.length ?? 0,
        traceEvents: output.count,
        traceStart:
          boots.all[0] === undefined || output.first === undefined
            ? null
            : boots.all[0].startedAt + Math.round(output.first * 1e9),
        loss: { T1: 0, T2: 0 },
        inputDropped:
          (console === undefined
            ? 0
            : console.rxDiscardedNotReady + console.rxOverflowBeforeReady) +
          (fates === null ? 0 : fates.driverFlushedBeforePort + fates.driverDiscardedClosedPort),
        unpublished: 0,
        received: Array.from(received.bytes, (byte, i) => ({
          byte,
          tag: received.tags[i] ?? 0,
          at: Number.NaN,
        })),
        findings: vm.vmm.findings.map((f) => `${(f.t / 1e9).toFixed(6)} s: ${f.message}`),
        hostile: false,
        vmm: observe(vm.vmm, watch, undefined),
        inputFates: fates,
      };
      return Object.defineProperties(parts, writtenTags(written)) as typeof parts &
        Pick<GuestTranscript, "enqueuedTags" | "enqueuedTagChunks">;
    },
  };
}

/** How many output events a workload replays, and the first one's time (seconds). */
function outputCount(workload: GuestSpec["workload"]): { count: number; first?: number } {
  const output =
    workload?.kind === "trace"
      ? workload.events
      : workload?.kind === "cast"
        ? workload.events.filter((e) => e.code === "o")
        : [];
  const first = output[0];
  return { count: output.length, ...(first === undefined ? {} : { first: first.time }) };
}

/**
 * A `vm` guest whose workload is the guest model's shell from boot, host name = guest name, so
 * its prompt `root@<name>:~# ` tells the user which guest answered (`vmmux live`).
 */
export function buildShellGuest(
  name: string,
  w: GuestWiring,
  options: { readonly profile: "reference" | "hardened"; readonly loopCostUs: number },
): BuiltGuest {
  if (w.kind !== "vm") throw new Error(`wiring of ${name} is not a VMM PD`);
  const watch = new NeedsResetWatch();
  return linuxGuest(
    w,
    vmmConfigOf(w, options.profile),
    {
      origin: w.index + 1,
      workload: { kind: "shell", hostname: name },
      echo: true,
      loopCostNs: options.loopCostUs * 1000,
    },
    (config) => {
      const vmm = new VmmProgram(config);
      watch.attach(vmm);
      return vmm;
    },
    watch,
  );
}

/** Build one scenario guest on its wiring. */
export function buildGuest(
  g: ScenarioGuest,
  w: GuestWiring,
  options: GuestBuildOptions,
): BuiltGuest {
  if (g.kind === "vm" && g.workload === "real") return buildRealGuest(g, w, options);
  return g.kind === "vm" ? vmGuest(g, w, options) : clientGuest(g, w);
}
