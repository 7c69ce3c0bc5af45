/**
 * The system `vmmux live` runs, built to be advanced a slice at a time (a replay builds and
 * runs it to the end in one call, `run.ts`): the PL011 device and sDDF PL011 driver, both
 * virtualisers and one guest per scenario guest. Nothing here reads the wall clock; the
 * caller decides how far virtual time goes (`pacer.ts`).
 *
 * The host side of the UART is the user's terminal: {@link LiveSystem.type} puts bytes on the
 * RX wire at the current virtual time, and every character that leaves the TX wire is
 * handed to `onWire` at the end of its stop bit.
 */
import {
  type DeviceHost,
  type GuestEntry,
  loadSystemFile,
  type MmioDevice,
  type PdProgram,
  System,
} from "@vmmux/microkit-pd";
import { Pl011Device, Pl011Driver, uartLossPoints } from "@vmmux/pl011-uart";
import { ORIGIN_KEYBOARD, provenanceTag, tagOrigin } from "@vmmux/sddf-queues";
import { VirtRx, VirtTx } from "@vmmux/sddf-serial";
import { virtualMachine } from "@vmmux/vmm";
import { type BuiltGuest, buildGuest } from "../guests.js";
import type { Scenario, ScenarioGuest } from "../scenario.js";
import { applyKnobs, type GuestWiring, serialStackConfigs } from "../wiring.js";

/** What a live guest runs: the VMM's shell from boot, or the scenario's own workload. */
export type LiveWorkload = "shell" | "scenario";

export interface LiveSystemOptions {
  readonly scenario: Scenario;
  /** `shell`: every guest is a `vm` guest running the guest model's shell (the default system). */
  readonly workload: LiveWorkload;
  /** Guest work per pass of a shell guest's main loop, µs; default {@link LIVE_LOOP_COST_US}. */
  readonly loopCostUs?: number;
  /** Called for each character at the end of its stop bit on the TX wire. */
  readonly onWire: (byte: number, tag: number, end: number) => void;
}

/** How one guest of a live run is set up, for the help line and the summary. */
export interface LiveGuestInfo {
  readonly name: string;
  readonly pd: string;
  /** Index in both virtualisers: `Ctrl+\ <index> Enter` selects it. */
  readonly index: number;
  /** Provenance origin of its output bytes. */
  readonly origin: number;
  readonly kind: "sddf-client" | "vm";
  /** Whether it ends up at a shell prompt (an sDDF client PD or a hostile guest has none). */
  readonly shell: boolean;
}

/** Per guest numbers for the summary. */
export interface LiveGuestCounts extends LiveGuestInfo {
  /** Typed bytes the guest received. */
  readonly bytesIn: number;
  /** Bytes the guest wrote to its console. */
  readonly bytesOut: number;
  /** Of those, bytes that left the UART (by provenance). */
  readonly bytesOnWire: number;
  /** The guest's own loss points (sddf-serial §10, as `vmmux replay` names them). */
  readonly loss: Readonly<Record<string, number>>;
  readonly findings: readonly string[];
}

/**
 * Guest work per pass of a shell guest's main loop, µs. libvmm answers a trapped WFI at once,
 * so an idle guest spins through this loop and its cost is what an idle session simulates;
 * 100 µs (replays use 20) makes the model run about 4× faster than at 20 µs, well ahead of the
 * wall clock on a busy machine, while an echo still comes back within a tenth of a millisecond.
 */
export const LIVE_LOOP_COST_US = 100;

/**
 * A `vm` guest whose workload is the guest model's shell from boot, host name = guest name, so
 * its prompt `root@<name>:~# ` tells the user which guest answered.
 */
function shellGuest(
  name: string,
  w: GuestWiring,
  profile: "reference" | "hardened",
  loopCostUs: number,
): BuiltGuest {
  if (w.kind !== "vm") throw new Error(`wiring of ${name} is not a VMM PD`);
  const vm = virtualMachine(
    {
      profile,
      ram: { region: w.ramRegion, guestBase: w.guestBase },
      serial: {
        tx: { channel: w.txChannel, queueRegion: w.txQueue, dataRegion: w.txData },
        rx: { channel: w.rxChannel, queueRegion: w.rxQueue, dataRegion: w.rxData },
      },
    },
    {
      origin: w.index + 1,
      workload: { kind: "shell", hostname: name },
      echo: true,
      loopCostNs: loopCostUs * 1000,
    },
  );
  return {
    programs: { [w.programImage]: vm.vmm },
    devices: {},
    vms: { [w.vmName]: vm.guest },
    collect: () => {
      const guest = vm.current();
      const console = vm.vmm.device?.counters(0);
      return {
        enqueued: Uint8Array.from(guest?.written.bytes ?? []),
        enqueuedTags: Uint32Array.from(guest?.written.tags ?? []),
        enqueueTimes: new Float64Array(0),
        attempted: guest?.written.bytes.length ?? 0,
        tracePrinted: 0,
        traceEvents: 0,
        traceStart: null,
        loss: { T1: 0, T2: 0 },
        inputDropped:
          console === undefined ? 0 : console.rxDiscardedNotReady + console.rxOverflowBeforeReady,
        unpublished: 0,
        received: (guest?.received.bytes ?? []).map((byte, i) => ({
          byte,
          tag: guest?.received.tags[i] ?? 0,
          at: Number.NaN,
        })),
        findings: vm.vmm.findings.map((f) => `${(f.t / 1e9).toFixed(6)} s: ${f.message}`),
      };
    },
  };
}

/** A scenario guest as live mode runs it: a `vm` guest goes on to the shell after its trace. */
function liveScenarioGuest(g: ScenarioGuest): ScenarioGuest {
  return g.kind === "vm" ? { ...g, thenShell: true } : g;
}

/** The system of a live session, advanced by the caller. */
export class LiveSystem {
  readonly sys: System;
  readonly device: Pl011Device;
  readonly guests: readonly LiveGuestInfo[];
  readonly switchChar: number;
  readonly terminateNumChar: number;
  private readonly built: readonly BuiltGuest[];
  private readonly driver: Pl011Driver;
  private readonly virtTx: VirtTx;
  private readonly virtRx: VirtRx;
  private readonly wireByOrigin = new Map<number, number>();
  private typed = 0;
  private lastWireEnd = 0;

  constructor(options: LiveSystemOptions) {
    const { scenario } = options;
    const knobs = scenario.knobs;
    const desc = applyKnobs(loadSystemFile(scenario.systemPath).system, scenario);
    const {
      wiring,
      driver: driverConfig,
      virtTx: txConfig,
      virtRx: rxConfig,
    } = serialStackConfigs(desc, scenario);
    this.driver = new Pl011Driver(driverConfig);
    this.switchChar = rxConfig.switchChar;
    this.terminateNumChar = rxConfig.terminateNumChar;
    this.virtTx = new VirtTx(txConfig);
    this.virtRx = new VirtRx(rxConfig);
    this.built = scenario.guests.map((g, k) => {
      const w = wiring.guests[k]!;
      return options.workload === "shell"
        ? shellGuest(g.name, w, knobs.profile, options.loopCostUs ?? LIVE_LOOP_COST_US)
        : buildGuest(liveScenarioGuest(g), w, { profile: knobs.profile, seed: knobs.seed });
    });
    this.guests = scenario.guests.map((g, k) => ({
      name: g.name,
      pd: g.pd,
      index: k,
      origin: k + 1,
      kind: g.kind,
      shell: options.workload === "shell" || (g.kind === "vm" && g.workload !== "hostile"),
    }));
    const programs: Record<string, PdProgram> = {
      [wiring.driver.programImage]: this.driver,
      [wiring.virtTx.programImage]: this.virtTx,
      [wiring.virtRx.programImage]: this.virtRx,
    };
    const guestPrograms: Record<string, GuestEntry> = {};
    const devices: Record<string, (host: DeviceHost) => MmioDevice> = {};
    for (const b of this.built) {
      Object.assign(programs, b.programs);
      Object.assign(guestPrograms, b.vms);
      Object.assign(devices, b.devices);
    }
    let uart: Pl011Device | undefined;
    devices[wiring.driver.uartRegion] = (host) => {
      // A session can run for hours: the wire is streamed to `onWire`, not kept.
      uart = new Pl011Device({
        host,
        irq: wiring.driver.irq,
        variant: knobs.uart,
        recordTransmitted: false,
      });
      return uart;
    };
    this.sys = new System(desc, {
      seed: knobs.seed,
      recordEvents: false,
      programs,
      devices,
      guests: guestPrograms,
    });
    if (uart === undefined) throw new Error(`${scenario.file}: the UART device was not created`);
    this.device = uart;
    this.device.onTransmit((w) => {
      if (w.kind !== "byte") return;
      const origin = tagOrigin(w.tag);
      this.wireByOrigin.set(origin, (this.wireByOrigin.get(origin) ?? 0) + 1);
      this.lastWireEnd = w.end;
      options.onWire(w.byte, w.tag, w.end);
    });
  }

  /** Current virtual time, ns. */
  now(): number {
    return this.sys.now();
  }

  /** Advance virtual time to `time` ns (events at `time` included). */
  runUntil(time: number): void {
    this.sys.runUntil(time);
  }

  /** The user typed `bytes`: they start on the RX wire now, back to back at the line rate. */
  type(bytes: ArrayLike<number>): void {
    if (bytes.length === 0) return;
    const tags = Array.from({ length: bytes.length }, (_, i) =>
      provenanceTag(ORIGIN_KEYBOARD, this.typed + i),
    );
    this.typed += bytes.length;
    this.device.send(bytes, { at: this.sys.now(), tags });
  }

  /** The client virt_rx forwards typed bytes to (its switch machine's current client). */
  get selected(): number {
    return this.virtRx.machine.currentClient;
  }

  /** Bytes typed so far. */
  get bytesTyped(): number {
    return this.typed;
  }

  /** Virtual time the last character finished leaving the TX wire (0: none yet). */
  get lastOutputAt(): number {
    return this.lastWireEnd;
  }

  /** Typed bytes not yet taken from the UART (still on the line or in the RX FIFO). */
  get typingInFlight(): number {
    return this.device.wireBacklog + this.device.rxFifoLevel;
  }

  /** Whether every guest's recorded trace (if any) has been printed. */
  tracesDone(): boolean {
    return this.built.every((b) => {
      const t = b.collect();
      return t.tracePrinted >= t.traceEvents;
    });
  }

  /** Per guest bytes in and out and loss points, now. */
  guestCounts(): LiveGuestCounts[] {
    return this.guests.map((g, k) => {
      const t = this.built[k]!.collect();
      return {
        ...g,
        bytesIn: t.received.length,
        bytesOut: t.enqueued.length,
        bytesOnWire: this.wireByOrigin.get(g.origin) ?? 0,
        loss: {
          T1_putcharDropped: t.loss.T1,
          T2_unbufferedDropped: t.loss.T2,
          T3_unflushed: t.unpublished,
          R8_consoleInputDropped: t.inputDropped,
        },
        findings: t.findings,
      };
    });
  }

  /** The system's loss and stall points (sddf-serial §10), named as `vmmux replay` names them. */
  systemLoss(): Record<string, number> {
    const uart = uartLossPoints(this.device, this.driver);
    const tx = this.virtTx.loss;
    const rx = this.virtRx.loss;
    return {
      R1_rxFifoOverrun: uart.R1_rxFifoOverrun,
      R2_rxDisabledOrFlushed: uart.R2_rxDisabledOrFlushed,
      R3_rxQueueFullStalls: uart.R3_rxQueueFullStalls,
      R4_rxErrorBytesDelivered: uart.R4_rxErrorBytesDelivered,
      R5_clientRxFullDropped: rx.R5,
      R6_switchBytesConsumed: rx.R6,
      R6_invalidSequences: rx.R6Invalid,
      R7_halfTypedSwitchPasses: rx.R7,
      T4_oversizedUnitStalls: tx.T4,
      T5_unitsPending: tx.T5,
      T6_txFifoFullWaits: uart.T6_txFifoFullWaits,
      T7_transferOverflowDropped: tx.T7,
      lineAtomicSplits: tx.lineSplit,
    };
  }

  /** Bytes that left the wire from the virtualiser itself (colour codes) or untagged. */
  otherWireBytes(): number {
    let n = 0;
    const guestOrigins = new Set(this.guests.map((g) => g.origin));
    for (const [origin, count] of this.wireByOrigin) if (!guestOrigins.has(origin)) n += count;
    return n;
  }
}
