/**
 * The queues a virtualiser shares with its peers, and how it contains a peer that corrupts
 * one (DESIGN.md isolation; sddf-serial reference §2.3). Every queue is opened under
 * `onCorruptIndex: "break"`: a corrupt index stops that queue handle instead of throwing.
 *
 * - A client whose queue broke is cut off for good: its handle stays broken, so nothing is
 *   read from or written to it again. The cut is reported once.
 * - The driver is the virtualiser's own trusted peer: a break is contained for the one
 *   operation that saw it, and the driver's queue is validated afresh on the next.
 */
import type { PdContext } from "@vmmux/microkit-pd";
import type { SerialQueue } from "@vmmux/sddf-queues";
import type { SerialConnection } from "./config.js";
import { openQueue } from "./connection.js";

export class PeerQueues {
  /** Peer faults contained: a client or the driver corrupted a queue's shared index. */
  corruptPeers = 0;
  readonly driver: SerialQueue;
  readonly clients: readonly SerialQueue[];
  private readonly reported: Uint8Array;

  constructor(
    pd: PdContext,
    driver: SerialConnection,
    clients: readonly SerialConnection[],
    /** Log prefix and the queues' direction: `VIRT_TX`/`tx` or `VIRT_RX`/`rx`. */
    private readonly who: "VIRT_TX" | "VIRT_RX",
  ) {
    this.driver = openQueue(pd, driver);
    this.clients = clients.map((conn) => openQueue(pd, conn));
    this.reported = new Uint8Array(clients.length);
  }

  private get direction(): "tx" | "rx" {
    return this.who === "VIRT_TX" ? "tx" : "rx";
  }

  /** Client `k`'s queue, or `undefined` once it is cut off. */
  client(k: number): SerialQueue | undefined {
    const queue = this.clients[k];
    return queue?.broken === undefined ? queue : undefined;
  }

  /**
   * Has client `k`'s queue broken? The first time it is seen broken, count the fault and
   * say so on the debug console; the client is cut off from then on.
   */
  cutIfBroken(pd: PdContext, k: number): boolean {
    const broken = this.clients[k]?.broken;
    if (broken === undefined) return false;
    if (this.reported[k] === 0) {
      this.reported[k] = 1;
      this.corruptPeers += 1;
      pd.debug(
        `${this.who}|ERR: client ${k} ${this.direction} queue corrupt, client disconnected: ` +
          broken.message,
      );
    }
    return true;
  }

  /**
   * Contain a break of the driver's queue: unless `quiet` (already reported in this
   * episode), count it and say so; then let the next operation validate the queue again.
   */
  driverFault(pd: PdContext, quiet = false): void {
    const broken = this.driver.broken;
    if (broken === undefined) return;
    if (!quiet) {
      this.corruptPeers += 1;
      pd.debug(`${this.who}|ERR: driver ${this.direction} queue corrupt: ${broken.message}`);
    }
    this.driver.recover();
  }
}
