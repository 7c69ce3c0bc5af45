/**
 * The one place a scenario's Microkit System is assembled, for replay, check and live alike
 * (DESIGN.md's picture): the PL011 device and the sDDF PL011 driver, both virtualisers
 * (sddf-serial §4, configs read from the system file by `wiring.ts`), one guest per scenario
 * guest (`guests.ts`, or a caller's own factory) and the keyboard as frames on the UART's RX
 * line. Callers decide how far virtual time goes and what they observe.
 */
import {
  type CostModelOverride,
  type DeviceHost,
  type GuestEntry,
  type KernelParts,
  loadSystemFile,
  type MmioDevice,
  type PdProgram,
  System,
  type SystemDescription,
} from "@vmmux/microkit-pd";
import {
  Pl011Device,
  Pl011Driver,
  type Pl011DriverConfig,
  type Pl011Options,
  type TransmitSink,
} from "@vmmux/pl011-uart";
import { ORIGIN_KEYBOARD, provenanceTag } from "@vmmux/sddf-queues";
import { VirtRx, type VirtRxConfig, VirtTx, type VirtTxConfig } from "@vmmux/sddf-serial";
import type { VmmConfig, VmmProgram } from "@vmmux/vmm";
import { withMultiport } from "../early-input/multiport-knob.js";
import { type GuestParent, restartParents } from "../faults/restart.js";
import { vmmKnobs } from "../faults/vmm-knobs.js";
import { generatedSystem } from "../gen/scenario-system.js";
import { type BuiltGuest, buildGuest } from "../guests.js";
import type { PreparedGuests } from "../real/prepare.js";
import type { TypingMerge } from "../replay-typing.js";
import type { KeyLine, Scenario, ScenarioGuest } from "../scenario.js";
import {
  applyKnobs,
  type GuestWiring,
  type SerialStackConfigs,
  serialStackConfigs,
} from "../wiring.js";

/** Virtualiser classes to run instead of the real ones (deliberately wrong variants in tests). */
export interface RunVariants {
  readonly virtTx?: new (config: VirtTxConfig) => VirtTx;
  readonly virtRx?: new (config: VirtRxConfig) => VirtRx;
  /** The PL011 driver class to run instead of `Pl011Driver`. */
  readonly driver?: new (
    config: Pl011DriverConfig,
  ) => Pl011Driver;
  /** Builds every `vm` guest's VMM PD (e.g. `@vmmux/vmm/testing`'s `unansweredUnmappedVmm`). */
  readonly vmm?: (config: VmmConfig) => VmmProgram;
  /** Kernel parts to substitute (e.g. a fast-forward variant from `@vmmux/microkit-pd/testing`). */
  readonly kernel?: KernelParts;
  /** The PL011 device class to run instead of `Pl011Device` (e.g. a drain variant). */
  readonly uart?: new (
    options: Pl011Options,
  ) => Pl011Device;
  /** Merges the guests' recorded typing into the keyboard (default `mergeTyping`). */
  readonly typing?: TypingMerge;
}

export interface SystemBuildOptions {
  /** Builds guest `index` on its wiring; default {@link buildGuest} with the scenario's profile and seed. */
  readonly guest?: (g: ScenarioGuest, wiring: GuestWiring, index: number) => BuiltGuest;
  readonly variants?: RunVariants;
  /** The kernel records its events (default false). */
  readonly recordEvents?: boolean;
  /** Recorded events stay in `System.log` (default true; false: listeners only). */
  readonly retainEvents?: boolean;
  /** Record thread state changes (microkit-pd's `recordStates`; default true). */
  readonly recordStates?: boolean;
  /** Record every kernel cycle's scheduling records (microkit-pd's `recordCycles`; default true). */
  readonly recordCycles?: boolean;
  /** microkit-pd's `resumeLeaps` (leaps one measured period after a hand-over; default true). */
  readonly resumeLeaps?: boolean;
  readonly costModel?: CostModelOverride;
  /** microkit-pd's exact fast-forward of idle trap cycles; absent leaves the kernel's default (on). */
  readonly fastForward?: boolean | undefined;
  /** microkit-pd's `inlineSteps` (work steps ended in place); absent leaves the default (on). */
  readonly inlineSteps?: boolean | undefined;
  /** Every character leaving the TX wire, without an object per character (pl011-uart's sink). */
  readonly transmitSink?: TransmitSink;
  /** pl011-uart's `exactCharacterEvents`; absent leaves the device's default. */
  readonly exactCharacterEvents?: boolean | undefined;
  /** Keep every character in the device's `transmitted` list (default false: observe `onTransmit`). */
  readonly recordTransmitted?: boolean;
  /** The started emulators of the scenario's real guests (`prepareGuests`). */
  readonly prepared?: PreparedGuests;
  /**
   * The scenario's system, knobs applied ({@link scenarioSystem}), when the caller has it: an
   * exploration's thread parses the system file once for all its runs (default: parse it).
   */
  readonly description?: SystemDescription;
}

/** The system a scenario runs on, knobs applied. */
export function scenarioSystem(scenario: Scenario): SystemDescription {
  const gen = scenario.systemGen;
  const system =
    gen === undefined
      ? loadSystemFile(scenario.systemPath).system
      : generatedSystem({ path: scenario.systemPath, gen });
  return applyKnobs(system, scenario);
}

/**
 * The host end of the UART's RX line: typed bytes, each tagged with the next keyboard
 * provenance sequence number, start on the wire at a given time, queued behind earlier frames.
 */
export class Keyboard {
  private count = 0;

  constructor(private readonly device: Pl011Device) {}

  /** Bytes sent so far. */
  get sent(): number {
    return this.count;
  }

  /**
   * Send `bytes` starting at `at` ns; returns the first byte's tag sequence number. With
   * `line`, every frame carries that line condition (pl011 reference §6.3): a framing or parity
   * error, or a break in place of the byte (the receiver stores 0x00 with BE).
   */
  send(bytes: ArrayLike<number>, at: number, line?: KeyLine): number {
    const first = this.count;
    if (bytes.length === 0) return first;
    const tags = Array.from({ length: bytes.length }, (_, i) =>
      provenanceTag(ORIGIN_KEYBOARD, first + i),
    );
    this.count += bytes.length;
    if (line === "break") for (const tag of tags) this.device.sendBreak({ at, tag });
    else this.device.send(bytes, { at, tags, ...(line === undefined ? {} : { error: line }) });
    return first;
  }
}

/** A scenario's system, built and not yet run. */
export interface BuiltSystem {
  readonly scenario: Scenario;
  readonly description: SystemDescription;
  readonly configs: SerialStackConfigs;
  readonly sys: System;
  readonly device: Pl011Device;
  readonly driver: Pl011Driver;
  readonly virtTx: VirtTx;
  readonly virtRx: VirtRx;
  readonly guests: readonly BuiltGuest[];
  readonly keyboard: Keyboard;
  /** The parents that restart faulted VMM PDs (`restart` on a `vm` guest). */
  readonly restartParents?: readonly GuestParent[];
}

/** Build the System a scenario describes. */
export function buildSystem(scenario: Scenario, options: SystemBuildOptions = {}): BuiltSystem {
  const knobs = scenario.knobs;
  const description = options.description ?? scenarioSystem(scenario);
  const configs = serialStackConfigs(description, scenario);
  const { wiring } = configs;
  const variants = options.variants ?? {};
  const driver = new (variants.driver ?? Pl011Driver)(configs.driver);
  const virtTx = new (variants.virtTx ?? VirtTx)(configs.virtTx);
  const virtRx = new (variants.virtRx ?? VirtRx)(configs.virtRx);
  const makeGuest =
    options.guest ??
    ((g: ScenarioGuest, w: GuestWiring) => {
      // The VMM tags what it sends for its guest with the guest's origin (`index + 1`).
      const vmm: ReturnType<typeof vmmKnobs> & Pick<VmmConfig, "origin"> = {
        ...withMultiport(vmmKnobs(knobs), knobs),
        origin: w.index + 1,
      };
      return buildGuest(g, w, {
        profile: knobs.profile,
        seed: knobs.seed,
        ...(variants.vmm === undefined ? {} : { makeVmm: variants.vmm }),
        ...(options.prepared === undefined ? {} : { prepared: options.prepared }),
        vmm,
      });
    });
  const guests = scenario.guests.map((g, k) => makeGuest(g, wiring.guests[k]!, k));
  const programs: Record<string, PdProgram> = {
    [wiring.driver.programImage]: driver,
    [wiring.virtTx.programImage]: virtTx,
    [wiring.virtRx.programImage]: virtRx,
  };
  // PDs the model has no program for (roles.ts `idle`, serial clients without a guest) run
  // idle: they start, then wait for notifications they ignore.
  const idle: PdProgram = {
    *init() {},
    *notified() {},
  };
  const restarts = restartParents(description, scenario.guests, scenario.file);
  Object.assign(programs, restarts.programs);
  for (const p of [...wiring.roles.idle, ...wiring.unplaced]) programs[p.programImage] ??= idle;
  const vms: Record<string, GuestEntry> = {};
  const devices: Record<string, (host: DeviceHost) => MmioDevice> = {};
  const regionBacking: Record<string, Uint8Array> = {};
  for (const b of guests) {
    Object.assign(regionBacking, b.regionBacking);
    Object.assign(programs, b.programs);
    Object.assign(vms, b.vms);
    Object.assign(devices, b.devices);
  }
  let uart: Pl011Device | undefined;
  devices[wiring.driver.uartRegion] = (host) => {
    uart = new (options.variants?.uart ?? Pl011Device)({
      host,
      irq: wiring.driver.irq,
      variant: knobs.uart,
      recordTransmitted: options.recordTransmitted ?? false,
      ...(options.transmitSink === undefined ? {} : { transmitSink: options.transmitSink }),
      ...(options.exactCharacterEvents === undefined
        ? {}
        : { exactCharacterEvents: options.exactCharacterEvents }),
    });
    return uart;
  };
  const sys = new System(
    description,
    {
      ...(options.fastForward === undefined ? {} : { fastForward: options.fastForward }),
      ...(options.inlineSteps === undefined ? {} : { inlineSteps: options.inlineSteps }),
      seed: knobs.seed,
      recordEvents: options.recordEvents ?? false,
      ...(options.retainEvents === undefined ? {} : { retainEvents: options.retainEvents }),
      ...(options.recordStates === undefined ? {} : { recordStates: options.recordStates }),
      ...(options.recordCycles === undefined ? {} : { recordCycles: options.recordCycles }),
      ...(options.resumeLeaps === undefined ? {} : { resumeLeaps: options.resumeLeaps }),
      programs,
      devices,
      guests: vms,
      ...(Object.keys(regionBacking).length === 0 ? {} : { regionBacking }),
      ...(options.costModel === undefined ? {} : { costModel: options.costModel }),
    },
    variants.kernel,
  );
  const device = uart as Pl011Device | undefined;
  if (device === undefined) throw new Error(`${scenario.file}: the UART device was not created`);
  return {
    scenario,
    description,
    configs,
    sys,
    device,
    driver,
    virtTx,
    virtRx,
    guests,
    keyboard: new Keyboard(device),
    restartParents: restarts.parents,
  };
}
