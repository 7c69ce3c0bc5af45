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
import type { System } from "@vmmux/microkit-pd";
import { type Pl011Device, type Pl011Driver, uartLossPoints } from "@vmmux/pl011-uart";
import { tagOrigin } from "@vmmux/sddf-queues";
import type { VirtRx, VirtTx } from "@vmmux/sddf-serial";
import { type BuiltGuest, buildGuest, buildShellGuest } from "../guests.js";
import { systemLossPoints } from "../metrics.js";
import type { Scenario, ScenarioGuest } from "../scenario.js";
import { buildSystem, type Keyboard } from "../system/build.js";

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
  private readonly keyboard: Keyboard;
  private readonly wireByOrigin = new Map<number, number>();
  private lastWireEnd = 0;

  constructor(options: LiveSystemOptions) {
    const { scenario } = options;
    const knobs = scenario.knobs;
    const built = buildSystem(scenario, {
      guest: (g, w) =>
        options.workload === "shell"
          ? buildShellGuest(g.name, w, {
              profile: knobs.profile,
              loopCostUs: options.loopCostUs ?? LIVE_LOOP_COST_US,
            })
          : buildGuest(liveScenarioGuest(g), w, { profile: knobs.profile, seed: knobs.seed }),
    });
    this.sys = built.sys;
    this.device = built.device;
    this.driver = built.driver;
    this.virtTx = built.virtTx;
    this.virtRx = built.virtRx;
    this.built = built.guests;
    this.keyboard = built.keyboard;
    this.switchChar = built.configs.virtRx.switchChar;
    this.terminateNumChar = built.configs.virtRx.terminateNumChar;
    this.guests = scenario.guests.map((g, k) => ({
      name: g.name,
      pd: g.pd,
      index: k,
      origin: k + 1,
      kind: g.kind,
      shell: options.workload === "shell" || (g.kind === "vm" && g.workload !== "hostile"),
    }));
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
    this.keyboard.send(bytes, this.sys.now());
  }

  /** The client virt_rx forwards typed bytes to (its switch machine's current client). */
  get selected(): number {
    return this.virtRx.machine.currentClient;
  }

  /** Bytes typed so far. */
  get bytesTyped(): number {
    return this.keyboard.sent;
  }

  /** Virtual time the last character finished leaving the TX wire (0: none yet). */
  get lastOutputAt(): number {
    return this.lastWireEnd;
  }

  /** Typed bytes not yet taken from the UART (still on the line or in the RX FIFO). */
  get typingInFlight(): number {
    return this.device.wireBacklog + this.device.rxFifoLevel;
  }

  /**
   * Whether every guest with a shell has put output on the wire (its first prompt: the shell is
   * up and its tty open). Input that arrives earlier is flushed by the guest's tty when it opens,
   * as Linux does.
   */
  shellsReady(): boolean {
    return this.guests.every((g) => !g.shell || (this.wireByOrigin.get(g.origin) ?? 0) > 0);
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
    return systemLossPoints({
      virtTx: this.virtTx.loss,
      virtRx: this.virtRx.loss,
      uart: uartLossPoints(this.device, this.driver),
    });
  }

  /** Bytes that left the wire from the virtualiser itself (colour codes) or untagged. */
  otherWireBytes(): number {
    let n = 0;
    const guestOrigins = new Set(this.guests.map((g) => g.origin));
    for (const [origin, count] of this.wireByOrigin) if (!guestOrigins.has(origin)) n += count;
    return n;
  }
}
