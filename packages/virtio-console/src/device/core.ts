/**
 * The state every part of the console device shares, and the one way each part reports:
 * findings and counters, a modelled VMM crash, never a throw that a guest or a peer PD caused.
 * The TX, RX and control parts (`tx.ts`, `rx.ts`, `multiport.ts`) read and change it; the
 * defect behaviours (`behaviours.ts`) are chosen once and held here.
 */
import { isSddfQueueError, type SerialQueue } from "@vmmux/sddf-queues";
import {
  type BufferSegment,
  finding as coreFinding,
  type DefectFinding,
  deviceFinding,
  hasFeature,
  type VirtioDeviceHost,
} from "@vmmux/virtio-core";
import { ConsoleFeature } from "../constants.js";
import type { ControlMessage } from "../control.js";
import { ConsoleError } from "../errors.js";
import {
  type ConsoleDefectName,
  type ConsoleFinding,
  type ConsoleImpact,
  consoleFinding,
} from "../profile.js";
import type { ConsoleBehaviours } from "./behaviours.js";
import type { PortState } from "./port.js";

/** What the hosting VMM does for the device: plain callbacks, no runtime dependency. */
export interface ConsoleHooks {
  /** `microkit_notify` on the port's channel to virt_tx. */
  notifyTx(port: number): void;
  /** `microkit_notify` on the port's channel to virt_rx. */
  notifyRx(port: number): void;
}

/** Where {@link ConsoleCoreOptions.preemptionPoint} is called. */
export type ConsolePreemptionSite = "tx-full" | "tx-published";

export interface ConsoleCoreOptions {
  readonly hooks: ConsoleHooks;
  readonly ports: PortState[];
  readonly behaviours: ConsoleBehaviours;
  /** The device's feature offer. */
  readonly features: bigint;
  /** F_MULTIPORT is offered. */
  readonly multiport: boolean;
  readonly preReadyLimit: number;
  readonly emergencyTag: number;
  readonly preemptionPoint: ((site: ConsolePreemptionSite, port: number) => void) | undefined;
  /** TX work is queued for {@link ConsoleCore.runDeferredTx} instead of run at once. */
  readonly deferTx?: boolean;
  readonly cols: number;
  readonly rows: number;
}

export class ConsoleCore {
  readonly hooks: ConsoleHooks;
  readonly ports: PortState[];
  readonly behaviours: ConsoleBehaviours;
  readonly features: bigint;
  readonly multiport: boolean;
  readonly preReadyLimit: number;
  readonly emergencyTag: number;
  /** Findings of console defects, in order (bounded). */
  readonly findings: ConsoleFinding[] = [];
  readonly findingCounts = new Map<ConsoleDefectName, number>();
  /** Control messages from the guest that could not be decoded or made no sense. */
  controlMalformed = 0;
  /** sDDF queue errors caused by a peer PD (corrupt shared indices), contained. */
  peerErrors = 0;
  lastPeerError: string | undefined;
  /** Control messages the device decoded from the guest, in order (bounded). */
  readonly controlLog: ControlMessage[] = [];
  /** Control messages waiting for a control receiveq buffer. */
  readonly controlOut: Uint8Array[] = [];
  host: VirtioDeviceHost | undefined;
  cols: number;
  rows: number;
  crashedBy: ConsoleFinding | DefectFinding | undefined;
  private readonly preemption: ConsoleCoreOptions["preemptionPoint"];
  private readonly deferTx: boolean;
  /** Ports whose TX work waits for {@link runDeferredTx}, in request order. */
  private readonly pendingTx: number[] = [];

  constructor(options: ConsoleCoreOptions) {
    this.hooks = options.hooks;
    this.ports = options.ports;
    this.behaviours = options.behaviours;
    this.features = options.features;
    this.multiport = options.multiport;
    this.preReadyLimit = options.preReadyLimit;
    this.emergencyTag = options.emergencyTag;
    this.preemption = options.preemptionPoint;
    this.deferTx = options.deferTx ?? false;
    this.cols = options.cols;
    this.rows = options.rows;
  }

  /** Reference virtio §6.1 item 11: where the C code can be preempted (see the option). */
  preemptionPoint(site: ConsolePreemptionSite, port: number): void {
    this.preemption?.(site, port);
  }

  /** Run the TX of `port` now, or queue it when TX is deferred (then it reports success). */
  tx(port: number): boolean {
    if (!this.deferTx) return this.behaviours.tx(this, port);
    if (!this.pendingTx.includes(port)) this.pendingTx.push(port);
    return true;
  }

  /** Deferred TX work is waiting. */
  get txPending(): boolean {
    return this.pendingTx.length > 0;
  }

  /**
   * Run the deferred TX work as steps, yielding at each preemption site so the caller (a VMM
   * PD) can be preempted there; contained as {@link contained} contains a synchronous entry.
   * Returns false when a step crashed the device or an interrupt could not be injected.
   */
  *runDeferredTx(): Generator<ConsolePreemptionSite, boolean, void> {
    let ok = true;
    for (let port = this.pendingTx.shift(); port !== undefined; port = this.pendingTx.shift()) {
      if (this.crashedBy !== undefined) return false;
      let result: boolean;
      try {
        result = yield* this.behaviours.txSteps(this, port);
      } catch (error) {
        if (!isSddfQueueError(error)) throw error;
        this.peerError(error.message);
        result = true;
      }
      this.recoverBroken();
      ok = result && ok;
    }
    return ok;
  }

  portState(port: number): PortState {
    const state = this.ports[port];
    if (state === undefined) {
      throw new ConsoleError("port-out-of-range", `port ${port} does not exist`);
    }
    return state;
  }

  requireHost(): VirtioDeviceHost {
    if (this.host === undefined) {
      throw new ConsoleError("options-invalid", "console device is not attached to a transport");
    }
    return this.host;
  }

  multiportNegotiated(): boolean {
    const host = this.host;
    return (
      this.multiport &&
      host !== undefined &&
      hasFeature(host.negotiatedFeatures, ConsoleFeature.MULTIPORT)
    );
  }

  isConsolePort(id: number): boolean {
    return this.ports[id]?.spec.console ?? id === 0;
  }

  /**
   * Run an entry point so that nothing a guest or peer does escapes as an exception: a
   * corrupt sDDF index from a peer PD (sddf-serial §2.3) is reported. A queue handle made
   * with `onCorruptIndex: "break"` stops moving bytes and says so in `broken`, which is
   * queried here after the work and cleared, so the next entry point validates the peer's
   * index afresh; a handle made with `"throw"` (the queue library's default) stops the work.
   */
  contained(work: () => boolean): boolean {
    if (this.crashedBy !== undefined) return false;
    let result: boolean;
    try {
      result = work();
    } catch (error) {
      if (!isSddfQueueError(error)) throw error;
      this.peerError(error.message);
      result = true;
    }
    this.recoverBroken();
    return result;
  }

  /** Report and clear every queue handle that broke during an entry point. */
  private recoverBroken(): void {
    for (const state of this.ports) {
      this.recoverQueue(state.spec.tx);
      this.recoverQueue(state.spec.rx);
    }
  }

  private recoverQueue(q: SerialQueue): void {
    const broken = q.broken;
    if (broken === undefined) return;
    this.peerError(broken.message);
    q.recover();
  }

  private peerError(message: string): void {
    this.peerErrors++;
    this.lastPeerError = message;
  }

  /** Record a console finding here and in the transport's log (one list for the VMM). */
  found(defect: ConsoleDefectName, impact: ConsoleImpact, message: string): void {
    const f = consoleFinding(defect, impact, message);
    this.findingCounts.set(defect, (this.findingCounts.get(defect) ?? 0) + 1);
    if (this.findings.length < 256) this.findings.push(f);
    if (impact !== "vmm-crash") {
      this.host?.report(deviceFinding(defect, f.ref, "deviation", `console: ${message}`));
    }
  }

  /** A debug-build assert fired: the VMM PD traps, so the transport stops answering too. */
  crash(defect: ConsoleDefectName, message: string): boolean {
    this.found(defect, "vmm-crash", message);
    const f = consoleFinding(defect, "vmm-crash", message);
    this.crashedBy ??= f;
    this.host?.crash(deviceFinding(defect, f.ref, "vmm-crash", `console: ${message}`));
    return false;
  }

  crashUnmapped(place: string, s: BufferSegment): boolean {
    const f = coreFinding(
      "uncheckedGuestAddresses",
      "vmm-crash",
      `${place}: buffer 0x${s.addr.toString(16)}+${s.len} is outside guest ram`,
    );
    this.requireHost().crash(f);
    return this.transportCrashed(f);
  }

  /** libvmm dereferenced an unmapped address (L2): the VMM is dead, so is this device. */
  transportCrashed(f: DefectFinding): boolean {
    this.crashedBy ??= f;
    return false;
  }
}
