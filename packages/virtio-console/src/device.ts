/**
 * The VirtIO console device back end (VirtIO 1.2 §5.3) bridging each port to a pair of
 * sDDF serial queues: TX = guest transmitq → the port's sDDF TX queue (the device is its
 * producer), RX = the port's sDDF RX queue → guest receiveq buffers (the device is its
 * consumer). It plugs into @vmmux/virtio-core's `VirtioMmioTransport` as a `VirtioDevice`.
 *
 * `reference` switches reproduce libvmm's `console.c` (reference virtio §4.5, §4.8–§4.10,
 * sddf-serial §9). `hardened` transfers oversize TX chains in parts with the double check,
 * resumes TX on virt_tx's signal, back-pressures RX and keeps input that arrives before the
 * guest is ready; it also offers F_SIZE, F_EMERG_WRITE and F_MULTIPORT. Each switch picks its
 * behaviour once, in `device/behaviours.ts`; the paths live in `device/tx.ts`, `device/rx.ts`
 * and `device/multiport.ts`.
 *
 * Everything a guest or a peer PD can do is contained: findings and counters, never a throw.
 */
import type { Profile } from "@vmmux/profiles";
import {
  type ConfigWidth,
  type DefectFinding,
  hasFeature,
  type VirtioDevice,
  type VirtioDeviceHost,
} from "@vmmux/virtio-core";
import {
  CONSOLE_DEVICE_ID,
  ConsoleFeature,
  ControlEvent,
  DEFAULT_QUEUE_SIZE,
  LIBVMM_VENDOR_ID,
  queueCount,
} from "./constants.js";
import type { ControlMessage } from "./control.js";
import { chooseConsoleBehaviours, type FeatureRequest } from "./device/behaviours.js";
import { ConsoleCore, type ConsoleHooks, type ConsolePreemptionSite } from "./device/core.js";
import { flushControl, queueControl } from "./device/multiport.js";
import { type ConsolePortSpec, newPortState, type PortCounters } from "./device/port.js";
import { ConsoleError } from "./errors.js";
import {
  type ConsoleDefectName,
  type ConsoleDefectSwitches,
  type ConsoleFinding,
  consoleDefectsFor,
} from "./profile.js";

export type { ConsoleHooks, ConsolePreemptionSite } from "./device/core.js";
export type { ConsolePortSpec, PortCounters } from "./device/port.js";

export interface VirtioConsoleOptions {
  readonly profile?: Profile;
  /** Per-defect overrides of the profile's console switches. */
  readonly defects?: Partial<ConsoleDefectSwitches>;
  /** The ports; `reference` (libvmm) supports exactly one. */
  readonly ports: readonly ConsolePortSpec[];
  readonly hooks: ConsoleHooks;
  /** QueueNumMax of every queue (libvmm: 128). */
  readonly queueSize?: number;
  /** libvmm build: a failed `assert` traps in `debug`, is evaluated and ignored in `release`. */
  readonly build?: "debug" | "release";
  /** Hardened feature offer; defaults: SIZE and EMERG_WRITE on, MULTIPORT when ports > 1. */
  readonly features?: FeatureRequest;
  /** Initial console size (F_SIZE). */
  readonly size?: { readonly cols: number; readonly rows: number };
  /** Hardened: bytes of input kept while the guest's RX queue is not ready (default 4096). */
  readonly preReadyLimit?: number;
  /** Provenance tag of F_EMERG_WRITE bytes (they come from a register, not guest memory). */
  readonly emergencyTag?: number;
  /**
   * Called where the real C code can be preempted between shared-memory steps that matter
   * (reference virtio §6.1 item 11): after seeing the sDDF TX queue full and before
   * requesting a signal, and after publishing the tail and before notifying virt_tx. A VMM
   * can charge time here; a test can run virt_tx here to explore the interleaving. It must
   * not call back into the device (signals to the VMM are delivered after it returns).
   */
  readonly preemptionPoint?: (site: ConsolePreemptionSite, port: number) => void;
  /**
   * Queue TX work (a transmitq notification, virt_tx's wake-up) instead of running it inside
   * the call, for a host that runs it with {@link VirtioConsoleDevice.runDeferredTx} as steps it
   * can be preempted between (a VMM PD yielding at each site). Default false.
   */
  readonly deferTx?: boolean;
}

export class VirtioConsoleDevice implements VirtioDevice {
  readonly deviceId = CONSOLE_DEVICE_ID;
  readonly vendorId = LIBVMM_VENDOR_ID;
  readonly features: bigint;
  readonly queueMaxSizes: readonly number[];
  readonly profile: Profile;
  readonly defects: ConsoleDefectSwitches;
  readonly build: "debug" | "release";
  private readonly core: ConsoleCore;

  constructor(options: VirtioConsoleOptions) {
    this.profile = options.profile ?? "hardened";
    this.defects = consoleDefectsFor(this.profile, options.defects);
    this.build = options.build ?? "release";
    if (options.ports.length === 0) {
      throw new ConsoleError("options-invalid", "a console needs at least one port");
    }
    const behaviours = chooseConsoleBehaviours(this.defects, this.build);
    const { features, multiport } = behaviours.offer.offer(
      options.ports.length,
      options.features ?? {},
    );
    this.features = features;
    const size = options.queueSize ?? DEFAULT_QUEUE_SIZE;
    this.queueMaxSizes = new Array<number>(queueCount(options.ports.length, multiport)).fill(size);
    this.core = new ConsoleCore({
      hooks: options.hooks,
      ports: options.ports.map(newPortState),
      behaviours,
      features,
      multiport,
      preReadyLimit: options.preReadyLimit ?? 4096,
      emergencyTag: options.emergencyTag ?? 0,
      preemptionPoint: options.preemptionPoint,
      ...(options.deferTx === undefined ? {} : { deferTx: options.deferTx }),
      cols: options.size?.cols ?? 80,
      rows: options.size?.rows ?? 24,
    });
  }

  /** Findings of console defects, in order (bounded). */
  get findings(): ConsoleFinding[] {
    return this.core.findings;
  }

  get findingCounts(): Map<ConsoleDefectName, number> {
    return this.core.findingCounts;
  }

  /** Control messages from the guest that could not be decoded or made no sense. */
  get controlMalformed(): number {
    return this.core.controlMalformed;
  }

  /** sDDF queue errors caused by a peer PD (corrupt shared indices), contained. */
  get peerErrors(): number {
    return this.core.peerErrors;
  }

  get lastPeerError(): string | undefined {
    return this.core.lastPeerError;
  }

  /** Control messages the device decoded from the guest, in order (bounded). */
  get controlLog(): ControlMessage[] {
    return this.core.controlLog;
  }

  /** Counters of port `port`. */
  counters(port = 0): Readonly<PortCounters> {
    return this.core.portState(port).counters;
  }

  /** The finding that would have killed the VMM, if any; the device then does nothing. */
  get crashed(): ConsoleFinding | DefectFinding | undefined {
    return this.core.crashedBy;
  }

  /** Bytes held for port `port` while its guest RX queue is not ready (hardened). */
  heldInput(port = 0): number {
    return this.core.portState(port).held.length;
  }

  /** Whether TX of `port` waits for virt_tx's signal (hardened) or for a kick (reference). */
  txWaiting(port = 0): boolean {
    return this.core.portState(port).txWaiting;
  }

  /** MULTIPORT state of a port as the guest reported it. */
  portStatus(port: number): { added: boolean; guestReady: boolean; guestOpen: boolean } {
    const s = this.core.portState(port);
    return { added: s.added, guestReady: s.guestReady, guestOpen: s.guestOpen };
  }

  // ---- VirtioDevice ----------------------------------------------------------------------

  attach(host: VirtioDeviceHost): void {
    this.core.host = host;
  }

  readConfig(offset: number, width: ConfigWidth): number | undefined {
    return this.core.behaviours.offer.readConfig(this.core, offset, width);
  }

  writeConfig(offset: number, width: ConfigWidth, value: number): boolean {
    return this.core.behaviours.offer.writeConfig(this.core, offset, width, value);
  }

  validateFeatures(features: bigint): boolean {
    return (features & ~this.features) === 0n;
  }

  queueNotify(index: number): boolean {
    const core = this.core;
    return core.contained(() => core.behaviours.dispatch.queueNotify(core, index));
  }

  reset(): void {
    for (const state of this.core.ports) {
      state.txChain = undefined;
      state.txWaiting = false;
      state.added = false;
      state.guestReady = false;
      state.guestOpen = false;
      // Held input survives: Linux resets the device at probe, after early input arrived.
    }
    this.core.controlOut.length = 0;
  }

  // ---- entry points for the hosting VMM --------------------------------------------------

  /** TX work waits for {@link runDeferredTx} (only with `deferTx`). */
  get txPending(): boolean {
    return this.core.txPending;
  }

  /**
   * Run the deferred TX work (`deferTx`) as steps: each yield is a site where the real VMM can
   * be preempted (reference virtio §6.1 item 11), where the host charges the work done so far
   * and lets other threads run; `preemptionPoint` is not called for these. Returns false when
   * the device crashed or an interrupt could not be injected.
   */
  runDeferredTx(): Generator<ConsolePreemptionSite, boolean, void> {
    return this.core.runDeferredTx();
  }

  /** virt_rx signalled the port's RX channel (libvmm: `virtio_console_queue_notify`). */
  serialRxSignalled(port = 0): boolean {
    const core = this.core;
    return core.contained(() => core.behaviours.dispatch.serialRx(core, port));
  }

  /** virt_tx signalled the port's TX channel: it drained the queue and we asked for it. */
  serialTxSignalled(port = 0): boolean {
    const core = this.core;
    return core.contained(() => core.behaviours.txSignal(core, port));
  }

  /**
   * The host terminal changed size (F_SIZE). Without MULTIPORT the config fields change and
   * a configuration-change notification follows (§5.3.6); with MULTIPORT a RESIZE control
   * message goes to each console port. Returns false when nothing could be announced.
   */
  resize(cols: number, rows: number): boolean {
    const core = this.core;
    core.cols = cols & 0xffff;
    core.rows = rows & 0xffff;
    const host = core.host;
    if (host === undefined || core.crashedBy !== undefined) return false;
    if (!hasFeature(host.negotiatedFeatures, ConsoleFeature.SIZE)) return false;
    if (core.multiportNegotiated()) {
      core.ports.forEach((state, id) => {
        if (core.isConsolePort(id) && state.guestReady) {
          queueControl(core, {
            id,
            event: ControlEvent.RESIZE,
            value: 0,
            size: { cols: core.cols, rows: core.rows },
          });
        }
      });
      return core.contained(() => flushControl(core));
    }
    return host.signalConfigChange();
  }
}
