/**
 * `serial_virt_tx` as a PD program (sddf-serial reference §5): moves each client's published
 * output, as one unit wrapped in that client's colour, into the single driver TX queue, with
 * the pending list and the request + one re-check signalling of §3.2.
 *
 * Preemption points sit where the C code can be preempted between shared-memory accesses
 * that matter: between the "does not fit" check and the signal request (the lost-wake-up
 * window of §3.3), and between the separately published pieces of a transfer (colour start,
 * each contiguous chunk, colour end; §2.6).
 */
import type { PdContext, PdProgram, PdStep } from "@vmmux/microkit-pd";
import { work } from "@vmmux/microkit-pd";
import {
  CorruptIndexError,
  ORIGIN_VIRTUALISER,
  provenanceTag,
  type SerialQueue,
} from "@vmmux/sddf-queues";
import { bannerLine, COLOUR_END, COLOUR_OVERHEAD, colourStart, latin1 } from "./colour.js";
import type { VirtTxConfig } from "./config.js";
import { openQueue } from "./connection.js";
import { newVirtTxLoss, type VirtTxLoss } from "./loss.js";
import { PendingList } from "./pending.js";

const NEWLINE = 0x0a;
/** Bound on the debug build's wait for the begin string to drain (§5.4), in polls. */
const BEGIN_DRAIN_POLLS = 10_000;

export class VirtTx implements PdProgram {
  /** Loss and delay points of §10 T4, T5, T7, T8 and line-atomic splits. */
  readonly loss: VirtTxLoss = newVirtTxLoss();
  /** Client bytes moved into the driver queue, per client. */
  readonly moved: number[];
  /** Peer faults contained: a client or the driver corrupted a queue's shared index. */
  corruptPeers = 0;
  readonly pending: PendingList;
  private driver: SerialQueue | undefined;
  private clients: SerialQueue[] = [];
  private readonly quarantined = new Set<number>();
  /** The driver queue's head was last seen out of bounds (counted once per episode). */
  private driverCorrupt = false;
  /** Line-atomic: client k's last moved part did not end a line. */
  private readonly midLine: boolean[];
  private virtualiserSeq = 0;

  constructor(readonly config: VirtTxConfig) {
    this.pending = new PendingList(config.clients.length);
    this.moved = config.clients.map(() => 0);
    this.midLine = config.clients.map(() => false);
  }

  private get overhead(): number {
    return this.config.enableColour ? COLOUR_OVERHEAD : 0;
  }

  private nextVirtualiserTag(): number {
    const tag = provenanceTag(ORIGIN_VIRTUALISER, this.virtualiserSeq);
    this.virtualiserSeq = (this.virtualiserSeq + 1) & 0xffffff;
    return tag;
  }

  private virtualiserTags(n: number): Uint32Array {
    const tags = new Uint32Array(n);
    for (let i = 0; i < n; i++) tags[i] = this.nextVirtualiserTag();
    return tags;
  }

  /** `init()` (§5.4): begin string to the driver, then the banner on the debug console. */
  *init(pd: PdContext): PdStep {
    const driver = openQueue(pd, this.config.driver);
    this.driver = driver;
    this.clients = this.config.clients.map((client) => openQueue(pd, client.conn));
    if (this.config.lineAtomic) {
      // A zero flag on an empty queue is only the zero-filled boot state (§3.1), never a
      // real request (a request needs unread bytes); clearing it keeps the line-atomic
      // hold-back from mistaking it for a client waiting for space.
      for (const [k, queue] of this.clients.entries()) {
        try {
          if (queue.empty()) queue.cancelConsumerSignal();
        } catch (error) {
          this.disconnectClient(pd, k, error);
        }
      }
    }
    if (this.config.enableRx) {
      // A driver that already wrote a corrupt head must not crash virt_tx at boot.
      try {
        const begin = latin1(this.config.beginStr);
        driver.enqueueBatch(begin, this.virtualiserTags(begin.length));
        pd.notify(this.config.driver.channel);
        if (this.config.debugBuild) {
          // Debug builds spin until the driver has taken the banner (§5.4).
          for (let polls = 0; polls < BEGIN_DRAIN_POLLS && !driver.empty(); polls++) {
            yield work("poll");
          }
        }
      } catch (error) {
        this.reportDriverCorrupt(pd, error);
      }
    }
    if (this.config.enableColour && this.config.debugBuild) {
      for (const [k, client] of this.config.clients.entries()) pd.debug(bannerLine(k, client.name));
    }
    yield work("init");
  }

  *notified(ch: number, pd: PdContext): PdStep {
    if (ch === this.config.driver.channel) {
      yield* this.txReturn(pd);
      return;
    }
    const k = this.config.clients.findIndex((client) => client.conn.channel === ch);
    if (k < 0) {
      if (this.config.debugBuild) pd.debug(`VIRT_TX|LOG: unknown channel ${ch}`);
      return;
    }
    yield* this.txProvide(pd, k);
  }

  /** `tx_provide(ch)` (§5.4). */
  private *txProvide(pd: PdContext, k: number): PdStep {
    const moved = yield* this.processTxQueue(pd, k);
    if (!moved) return;
    pd.notify(this.config.driver.channel);
    this.notifyClientIfAsked(pd, k);
  }

  /** `tx_return()` (§5.4): retry each pending client once, in FIFO order. */
  private *txReturn(pd: PdContext): PdStep {
    const n = this.pending.length;
    if (n === 0) return;
    const moved = new Array<boolean>(this.config.clients.length).fill(false);
    for (let i = 0; i < n; i++) {
      const k = this.pending.pop();
      if (k === undefined) break;
      moved[k] = yield* this.processTxQueue(pd, k);
    }
    if (moved.some(Boolean)) pd.notify(this.config.driver.channel);
    for (const [k, didMove] of moved.entries()) if (didMove) this.notifyClientIfAsked(pd, k);
  }

  private notifyClientIfAsked(pd: PdContext, k: number): void {
    const queue = this.clients[k];
    if (queue === undefined || this.quarantined.has(k)) return;
    if (queue.requireConsumerSignal()) {
      queue.cancelConsumerSignal();
      pd.notify((this.config.clients[k] as { conn: { channel: number } }).conn.channel);
    }
  }

  /** `process_tx_queue(k)` (§5.3), with the hardened and line-atomic variants. */
  private *processTxQueue(pd: PdContext, k: number): PdStep<boolean> {
    const client = this.clients[k];
    if (client === undefined || this.quarantined.has(k)) return false;
    try {
      const moved = yield* this.processChecked(pd, k, client);
      if (moved) this.driverCorrupt = false;
      return moved;
    } catch (error) {
      if (!(error instanceof CorruptIndexError)) throw error;
      // The index may be the driver's, not the client's: never cut off an innocent client.
      if (this.driverQueueCorrupt(pd)) return false;
      this.disconnectClient(pd, k, error);
      return false;
    }
  }

  private disconnectClient(pd: PdContext, k: number, error: unknown): void {
    if (!(error instanceof CorruptIndexError)) throw error;
    this.quarantined.add(k);
    this.corruptPeers += 1;
    pd.debug(`VIRT_TX|ERR: client ${k} tx queue corrupt, client disconnected: ${error.message}`);
  }

  /**
   * Is the driver queue's head (written by the driver) out of bounds? Then the client keeps
   * its bytes for a later try, and the fault is counted once until the queue is sane again.
   */
  private driverQueueCorrupt(pd: PdContext): boolean {
    try {
      this.driver?.lengthProducer();
      return false;
    } catch (error) {
      this.reportDriverCorrupt(pd, error);
      return true;
    }
  }

  private reportDriverCorrupt(pd: PdContext, error: unknown): void {
    if (!(error instanceof CorruptIndexError)) throw error;
    if (this.driverCorrupt) return;
    this.driverCorrupt = true;
    this.corruptPeers += 1;
    pd.debug(`VIRT_TX|ERR: driver tx queue corrupt: ${error.message}`);
  }

  protected *processChecked(pd: PdContext, k: number, client: SerialQueue): PdStep<boolean> {
    const driver = this.driver as SerialQueue;
    const overhead = this.overhead;
    const hardenedParts = !this.config.defects.oversizedUnitStalls;
    let moved = false;
    for (;;) {
      if (client.empty()) return moved;
      const available = client.lengthConsumer();
      const unit = this.config.lineAtomic ? this.lineUnit(client, available, driver) : available;
      if (unit === 0) return moved;
      if (unit + overhead > driver.free()) {
        // The window of §3.3: the driver may drain the queue right here.
        yield work("op");
        driver.requestConsumerSignal();
        yield work("op");
        if (this.stillBlocked(unit + overhead, driver)) {
          const neverFits = unit + overhead > driver.capacity;
          const part = driver.free() - overhead;
          if (neverFits && hardenedParts && part > 0) {
            // Hardened fix of T4: move what fits now, in its own colour pair; the rest
            // follows when the driver frees space.
            yield* this.transfer(pd, k, client, part);
            moved = true;
            continue;
          }
          // Reference: a unit that can never fit stalls the client for good (T4).
          if (neverFits && !hardenedParts) this.loss.T4 += 1;
          else this.loss.T5 += 1;
          this.pending.push(k);
          return moved;
        }
        this.loss.T8Averted += 1;
      }
      // Reference: `transfer_all` moves everything, including bytes published meanwhile.
      const limit = this.config.defects.transferOverflowDrops ? undefined : unit;
      yield* this.transfer(pd, k, client, limit);
      moved = true;
      // All-or-nothing per call (§5.3); line-atomic goes on to the next whole lines.
      if (!this.config.lineAtomic) return moved;
    }
  }

  /**
   * The re-check after the request (§3.2 phase 2, sDDF `334e9be8`): does the unit still
   * not fit? Overridden only by the planted pre-2025-08 variant in `testing`.
   */
  protected stillBlocked(need: number, driver: SerialQueue): boolean {
    return need > driver.free();
  }

  /**
   * Line-atomic unit (vmmux option): the longest prefix of client k's bytes that ends a line
   * and fits the driver queue now, or, when none fits yet, the first line (so the caller
   * pends or splits it). A trailing partial line is held back in the client queue unless
   * it can never be atomic: it cannot fit the driver queue, it fills half the client queue
   * (the putchar library drops below two free slots and never asks for a signal), or the
   * client asked for a signal (it waits for space, so holding would stall it).
   */
  protected lineUnit(client: SerialQueue, available: number, driver: SerialQueue): number {
    const head = client.head;
    const free = driver.free() - this.overhead;
    let firstLine = 0;
    let bestFit = 0;
    for (let i = 0; i < available; i++) {
      if (client.byteAt((head + i) >>> 0) !== NEWLINE) continue;
      if (firstLine === 0) firstLine = i + 1;
      if (i + 1 <= free) bestFit = i + 1;
      else break;
    }
    if (bestFit > 0) return bestFit;
    if (firstLine > 0) return firstLine;
    const mustFlush =
      available + this.overhead > driver.capacity ||
      available >= client.capacity / 2 ||
      client.requireConsumerSignal();
    return mustFlush ? available : 0;
  }

  /**
   * Move client bytes to the driver queue, colour-framed: `transfer_all(_colour)` (§2.4).
   * `limit` undefined is the C loop: re-read the client's tail each chunk and, when the
   * driver queue overflows, advance past the bytes that did not fit (release build, §10 T7).
   * A number moves exactly that many bytes, all of which fit (hardened).
   */
  private *transfer(
    pd: PdContext,
    k: number,
    client: SerialQueue,
    limit: number | undefined,
  ): PdStep {
    const driver = this.driver as SerialQueue;
    if (this.config.enableColour) {
      const start = colourStart(k);
      driver.enqueueBatch(start, this.virtualiserTags(start.length));
      yield work("copy", start.length);
    }
    let remaining = limit ?? Number.POSITIVE_INFINITY;
    let head = client.head;
    let last = -1;
    while (remaining > 0) {
      const length = client.lengthConsumer();
      if (length === 0) break;
      const slot = client.slot(head);
      const chunk = Math.min(length, client.capacity - slot, remaining);
      const tags = client.tags?.subarray(slot, slot + chunk);
      const copied = driver.enqueueBatch(client.data.subarray(slot, slot + chunk), tags);
      last = client.byteAt((head + chunk - 1) >>> 0);
      if (copied < chunk) {
        // sDDF release builds ignore the failed assert and consume the whole chunk.
        this.loss.T7 += chunk - copied;
        pd.counter("virt_tx.T7", this.loss.T7);
      }
      this.moved[k] = (this.moved[k] ?? 0) + copied;
      head = (head + chunk) >>> 0;
      client.updateSharedHead(head);
      remaining -= chunk;
      yield work("copy", chunk);
    }
    if (this.config.enableColour) {
      driver.enqueueBatch(COLOUR_END, this.virtualiserTags(COLOUR_END.length));
      yield work("copy", COLOUR_END.length);
    }
    if (last >= 0) {
      const wasMidLine = this.midLine[k];
      this.midLine[k] = last !== NEWLINE;
      // A line left open on the wire can be split by the next client's unit: report it once.
      if (this.config.lineAtomic && !wasMidLine && this.midLine[k]) this.loss.lineSplit += 1;
    }
  }
}
