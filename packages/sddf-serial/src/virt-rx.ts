/**
 * `serial_virt_rx` as a PD program (sddf-serial reference §6): drains the driver RX queue
 * byte by byte, runs each byte through the switch state machine and enqueues ordinary
 * bytes to the selected client's RX queue.
 */
import type { PdContext, PdProgram, PdStep } from "@vmmux/microkit-pd";
import { work } from "@vmmux/microkit-pd";
import { chooseBehaviour } from "@vmmux/profiles";
import type { LocalTail, SerialQueue } from "@vmmux/sddf-queues";
import type { VirtRxConfig } from "./config.js";
import { newVirtRxLoss, type VirtRxLoss } from "./loss.js";
import { PeerQueues } from "./peers.js";
import { SwitchMachine } from "./switch-machine.js";

/** Preemption points of every pass: one per byte, one before signalling the driver. */
const COPY_ONE_BYTE = Object.freeze(work("copy", 1));
const OP = Object.freeze(work("op"));

/** A client's RX queue with virt_rx's unpublished tail. */
interface Target {
  queue: SerialQueue;
  local: LocalTail;
}

export class VirtRx implements PdProgram {
  /** Loss points of §10 R5–R7, counted under both profiles. */
  readonly loss: VirtRxLoss = newVirtRxLoss();
  /** Bytes delivered to each client's RX queue (published or not). */
  readonly delivered: number[];
  readonly machine: SwitchMachine;
  private peers: PeerQueues | undefined;
  /** One target per client, reused by every pass (`openLocal` refreshes its tail). */
  private targets: Target[] = [];
  /** Bytes dropped for a full client queue in the current pass, per client. */
  private readonly fullDrops = new Map<number, number>();
  /**
   * The defect `silentFullDrop` (§6.2, §10 R5): the real code drops without a word; the fix
   * still drops (a stuck client must not block switching) but reports each pass's drops.
   */
  private readonly reportFullDrops: (pd: PdContext) => void;

  constructor(readonly config: VirtRxConfig) {
    this.machine = new SwitchMachine({
      scheme: config.scheme,
      numClients: config.clients.length,
      switchChar: config.switchChar,
      terminateNumChar: config.terminateNumChar,
    });
    this.delivered = config.clients.map(() => 0);
    this.reportFullDrops = chooseBehaviour<(pd: PdContext) => void>(
      config.defects.silentFullDrop,
      () => {},
      (pd) => this.reportDrops(pd),
    );
  }

  /** Say which clients lost bytes to a full queue in this pass, and count them. */
  private reportDrops(pd: PdContext): void {
    for (const [j, count] of this.fullDrops) {
      pd.debug(`VIRT_RX|WARN: client ${j} rx queue full, ${count} bytes dropped`);
    }
    if (this.fullDrops.size > 0) pd.counter("virt_rx.R5", this.loss.R5);
  }

  /** Peer faults contained: a client or the driver corrupted a shared index. */
  get corruptPeers(): number {
    return this.peers?.corruptPeers ?? 0;
  }

  *init(pd: PdContext): PdStep {
    this.peers = new PeerQueues(pd, this.config.driver, this.config.clients, "VIRT_RX");
    this.targets = this.peers.clients.map((queue) => ({ queue, local: { tail: 0 } }));
    yield work("init");
  }

  *notified(ch: number, pd: PdContext): PdStep {
    if (ch === this.config.driver.channel) {
      yield* this.rxReturn(pd);
      return;
    }
    // Clients may notify after draining (libvmm does); virt_rx never asks for it (§1).
    this.log(pd, `received notification on unexpected channel ${ch}`);
  }

  private log(pd: PdContext, message: string): void {
    if (this.config.debugBuild) pd.debug(`VIRT_RX|LOG: ${message}`);
  }

  /** One client's RX queue with virt_rx's unpublished tail (§6.4 keeps a local tail). */
  private openLocal(k: number): Target | undefined {
    if (this.peers?.client(k) === undefined) return undefined;
    const target = this.targets[k] as Target;
    target.local.tail = target.queue.tail;
    return target;
  }

  /** Enqueue to client `k` through its local tail; false when the byte was dropped. */
  private put(
    pd: PdContext,
    k: number,
    target: Target | undefined,
    byte: number,
    tag: number,
  ): boolean {
    if (target === undefined || target.queue.broken !== undefined) {
      // A disconnected (corrupt) client: the byte has nowhere to go.
      this.loss.R5 += 1;
      return false;
    }
    if (target.queue.enqueueLocal(target.local, byte, tag)) {
      this.delivered[k] = (this.delivered[k] ?? 0) + 1;
      return true;
    }
    if (this.peers?.cutIfBroken(pd, k)) {
      this.loss.R5 += 1;
      return false;
    }
    // §6.2/§10 R5: the reference drops silently; hardened reports the drops of each pass.
    this.loss.R5 += 1;
    this.fullDrops.set(k, (this.fullDrops.get(k) ?? 0) + 1);
    return false;
  }

  /** Publish client `k`'s local tail (a cut-off client's broken queue ignores it). */
  protected publish(_pd: PdContext, _k: number, target: Target) {
    target.queue.updateSharedTail(target.local.tail);
  }

  /**
   * At a valid switch, HEAD publishes the old client's bytes whatever its flag, and notifies
   * it if this pass gave it any (§6.4). An extension point for variants of the switch.
   */
  protected publishBeforeSwitch(
    pd: PdContext,
    k: number,
    target: Target,
    transferred: boolean,
  ): void {
    this.publish(pd, k, target);
    if (transferred) pd.notify(this.channelOf(k));
  }

  /** `rx_return()` (§6.4). */
  private *rxReturn(pd: PdContext): PdStep {
    const peers = this.peers;
    if (peers === undefined) return;
    const driver = peers.driver;
    let transferred = false;
    let k = this.machine.currentClient;
    let target = k >= 0 ? this.openLocal(k) : undefined;
    // Legacy broadcast publishes immediately into every client; notified at the end.
    let broadcastTo: Set<number> | undefined;
    for (;;) {
      const c = driver.dequeue();
      if (driver.broken !== undefined) {
        peers.driverFault(pd);
        break;
      }
      if (c === undefined) break;
      const tag = driver.lastTag;
      yield COPY_ONE_BYTE;
      switch (this.machine.stepKind(c)) {
        case "forward":
          if (this.put(pd, k, target, c, tag)) transferred = true;
          break;
        case "broadcast":
          for (const [j, queue] of peers.clients.entries()) {
            if (queue.broken !== undefined) continue;
            if (queue.enqueue(c, tag)) {
              this.delivered[j] = (this.delivered[j] ?? 0) + 1;
              broadcastTo ??= new Set();
              broadcastTo.add(j);
            } else {
              peers.cutIfBroken(pd, j);
              this.loss.R5 += 1;
            }
          }
          break;
        case "unrouted":
          this.loss.R6 += 1;
          this.loss.R6Invalid += 1;
          break;
        case "consume":
          this.loss.R6 += 1;
          break;
        case "invalid":
          this.loss.R6 += 1;
          this.loss.R6Invalid += 1;
          this.log(pd, this.machine.lastReason);
          break;
        case "switch": {
          this.loss.R6 += 1;
          if (target !== undefined) this.publishBeforeSwitch(pd, k, target, transferred);
          k = this.machine.currentClient;
          target = k >= 0 ? this.openLocal(k) : undefined;
          transferred = false;
          this.log(pd, k >= 0 ? `switching to client ${k}` : "switching to all clients");
          break;
        }
      }
    }
    if (target !== undefined) this.publish(pd, k, target);
    if (this.machine.midSequence) this.loss.R7 += 1;
    this.reportFullDrops(pd);
    this.fullDrops.clear();
    yield OP;
    // A corrupt driver index here reads as full (no signal), uncounted, as one operation.
    const driverFull = driver.full();
    driver.recover();
    if (!driverFull && driver.requireConsumerSignal()) {
      driver.cancelConsumerSignal();
      pd.notify(this.config.driver.channel);
    }
    if (transferred && k >= 0) pd.notify(this.channelOf(k));
    if (broadcastTo !== undefined) for (const j of broadcastTo) pd.notify(this.channelOf(j));
  }

  protected channelOf(k: number): number {
    return (this.config.clients[k] as { channel: number }).channel;
  }
}
