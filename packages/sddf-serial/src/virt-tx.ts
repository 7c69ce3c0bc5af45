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
import { chooseBehaviour } from "@vmmux/profiles";
import {
  ChunkTransfer,
  ORIGIN_VIRTUALISER,
  provenanceTag,
  type SerialQueue,
  type TransferBound,
} from "@vmmux/sddf-queues";
import {
  bannerLine,
  COLOUR_BEGIN_LEN,
  COLOUR_END,
  COLOUR_END_LEN,
  COLOUR_OVERHEAD,
  colourStart,
  latin1,
} from "./colour.js";
import type { VirtTxConfig } from "./config.js";
import { newVirtTxLoss, type VirtTxLoss } from "./loss.js";
import { PeerQueues } from "./peers.js";
import { PendingList } from "./pending.js";

const NEWLINE = 0x0a;
/** Bound on the debug build's wait for the begin string to drain (§5.4), in polls. */
const BEGIN_DRAIN_POLLS = 10_000;
/** Channel ids are 0..62 (Microkit); a notification on any other is unknown. */
const CHANNELS = 63;
/** Preemption points whose units never vary, built once. */
const OP = Object.freeze(work("op"));
const POLL = Object.freeze(work("poll"));
const COPY_COLOUR_START = Object.freeze(work("copy", COLOUR_BEGIN_LEN));
const COPY_COLOUR_END = Object.freeze(work("copy", COLOUR_END_LEN));

/**
 * What virt_tx does with a unit that can never fit the driver queue, given the `part` that
 * fits now (the defect `oversizedUnitStalls`, §5.6, §10 T4): the real code pends it for
 * good (`T4`); the fix moves the part in its own colour pair, or waits (`T5`) for room.
 */
type OversizedUnit = (part: number) => "move part" | "T4" | "T5";
const stallsForever: OversizedUnit = () => "T4";
const movesInParts: OversizedUnit = (part) => (part > 0 ? "move part" : "T5");

export class VirtTx implements PdProgram {
  /** Loss and delay points of §10 T4, T5, T7, T8 and line-atomic splits. */
  readonly loss: VirtTxLoss = newVirtTxLoss();
  /** Client bytes moved into the driver queue, per client. */
  readonly moved: number[];
  readonly pending: PendingList;
  private peers: PeerQueues | undefined;
  /** The driver queue's head was last seen out of bounds (counted once per episode). */
  private driverCorrupt = false;
  /** Line-atomic: client k's last moved part did not end a line. */
  private readonly midLine: boolean[];
  private virtualiserSeq = 0;
  /** Client index of each channel id, -1 for none (`tx_provide`'s search, done once). */
  private readonly clientOfChannel = new Int16Array(CHANNELS).fill(-1);
  /** Colour-start code of each client (§5.2), built once. */
  private readonly starts: readonly Uint8Array[];
  /** Tags of one colour code: reused, as the bytes they go with are copied at once. */
  private readonly colourTags = new Uint32Array(Math.max(COLOUR_BEGIN_LEN, COLOUR_END.length));
  /** Which clients moved bytes in the current `tx_return`; reused. */
  private readonly movedNow: Uint8Array;
  private readonly chunks = new ChunkTransfer();
  /**
   * The defect `transferOverflowDrops` (§2.4, §10 T7): the C loop is unbounded and moves
   * bytes published meanwhile too; the fix moves exactly the unit that was measured to fit.
   */
  private readonly transferBound: (unit: number) => TransferBound;
  private readonly oversizedUnit: OversizedUnit;

  constructor(readonly config: VirtTxConfig) {
    this.pending = new PendingList(config.clients.length);
    this.moved = config.clients.map(() => 0);
    this.midLine = config.clients.map(() => false);
    this.starts = config.clients.map((_, k) => colourStart(k));
    this.movedNow = new Uint8Array(config.clients.length);
    for (const [k, client] of config.clients.entries()) {
      const ch = client.conn.channel;
      if (ch >= 0 && ch < CHANNELS && this.clientOfChannel[ch] === -1) {
        this.clientOfChannel[ch] = k;
      }
    }
    this.transferBound = chooseBehaviour<(unit: number) => TransferBound>(
      config.defects.transferOverflowDrops,
      () => "none",
      (unit) => unit,
    );
    this.oversizedUnit = chooseBehaviour(
      config.defects.oversizedUnitStalls,
      stallsForever,
      movesInParts,
    );
  }

  /** Peer faults contained: a client or the driver corrupted a queue's shared index. */
  get corruptPeers(): number {
    return this.peers?.corruptPeers ?? 0;
  }

  private get overhead(): number {
    return this.config.enableColour ? COLOUR_OVERHEAD : 0;
  }

  private get driver(): SerialQueue {
    return (this.peers as PeerQueues).driver;
  }

  /** The next `n` virtualiser tags (origin `ORIGIN_VIRTUALISER`, running sequence). */
  private virtualiserTags(n: number, into = new Uint32Array(n)): Uint32Array {
    for (let i = 0; i < n; i++) {
      into[i] = provenanceTag(ORIGIN_VIRTUALISER, this.virtualiserSeq);
      this.virtualiserSeq = (this.virtualiserSeq + 1) & 0xffffff;
    }
    return into;
  }

  /** Enqueue a colour code with fresh virtualiser tags. */
  private enqueueColour(code: Uint8Array): void {
    this.driver.enqueueBatch(code, this.virtualiserTags(code.length, this.colourTags));
  }

  /** `init()` (§5.4): begin string to the driver, then the banner on the debug console. */
  *init(pd: PdContext): PdStep {
    const clientConns = this.config.clients.map((client) => client.conn);
    const peers = new PeerQueues(pd, this.config.driver, clientConns, "VIRT_TX");
    this.peers = peers;
    const driver = peers.driver;
    if (this.config.lineAtomic) {
      // A zero flag on an empty queue is only the zero-filled boot state (§3.1), never a
      // real request (a request needs unread bytes); clearing it keeps the line-atomic
      // hold-back from mistaking it for a client waiting for space.
      for (const [k, queue] of peers.clients.entries()) {
        if (queue.empty()) queue.cancelConsumerSignal();
        peers.cutIfBroken(pd, k);
      }
    }
    if (this.config.enableRx) {
      // A driver that already wrote a corrupt head must not stop virt_tx at boot.
      const begin = latin1(this.config.beginStr);
      driver.enqueueBatch(begin, this.virtualiserTags(begin.length));
      if (driver.broken === undefined) {
        pd.notify(this.config.driver.channel);
        if (this.config.debugBuild) {
          // Debug builds spin until the driver has taken the banner (§5.4).
          for (let polls = 0; polls < BEGIN_DRAIN_POLLS && !driver.empty(); polls++) {
            yield POLL;
          }
        }
      }
      this.reportDriverCorrupt(pd);
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
    const k = ch >= 0 && ch < CHANNELS ? (this.clientOfChannel[ch] as number) : -1;
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
    const moved = this.movedNow.fill(0);
    for (let i = 0; i < n; i++) {
      const k = this.pending.pop();
      if (k === undefined) break;
      moved[k] = (yield* this.processTxQueue(pd, k)) ? 1 : 0;
    }
    if (moved.includes(1)) pd.notify(this.config.driver.channel);
    for (let k = 0; k < moved.length; k++) if (moved[k] === 1) this.notifyClientIfAsked(pd, k);
  }

  private notifyClientIfAsked(pd: PdContext, k: number): void {
    const queue = this.peers?.client(k);
    if (queue === undefined) return;
    if (queue.requireConsumerSignal()) {
      queue.cancelConsumerSignal();
      pd.notify((this.config.clients[k] as { conn: { channel: number } }).conn.channel);
    }
  }

  /**
   * `process_tx_queue(k)` (§5.3), with the hardened and line-atomic variants. A queue that
   * broke on the way stops the attempt where it broke; then a corrupt driver queue is
   * contained and the client keeps its bytes, or else the corrupt client is cut off.
   */
  private *processTxQueue(pd: PdContext, k: number): PdStep<boolean> {
    const peers = this.peers;
    const client = peers?.client(k);
    if (peers === undefined || client === undefined) return false;
    const moved = yield* this.processChecked(pd, k, client);
    if (!this.stopped(client)) {
      if (moved) this.driverCorrupt = false;
      return moved;
    }
    // The index may be the driver's, not the client's: never cut off an innocent client.
    if (peers.driver.broken === undefined) peers.driver.lengthProducer();
    if (peers.driver.broken !== undefined) {
      this.reportDriverCorrupt(pd);
      client.recover();
      return false;
    }
    peers.cutIfBroken(pd, k);
    return false;
  }

  /** A queue of this attempt broke: stop at once, as if the load that saw it had thrown. */
  private stopped(client: SerialQueue): boolean {
    return client.broken !== undefined || this.driver.broken !== undefined;
  }

  /** Contain a broken driver queue, reporting it once until bytes move again. */
  private reportDriverCorrupt(pd: PdContext): void {
    if (this.driver.broken === undefined) return;
    this.peers?.driverFault(pd, this.driverCorrupt);
    this.driverCorrupt = true;
  }

  protected *processChecked(pd: PdContext, k: number, client: SerialQueue): PdStep<boolean> {
    const driver = this.driver;
    const overhead = this.overhead;
    let moved = false;
    for (;;) {
      if (client.empty()) return moved;
      const available = client.lengthConsumer();
      const unit = this.config.lineAtomic ? this.lineUnit(client, available, driver) : available;
      if (unit === 0 || this.stopped(client)) return moved;
      const free = driver.free();
      if (this.stopped(client)) return moved;
      if (unit + overhead > free) {
        // The window of §3.3: the driver may drain the queue right here.
        yield OP;
        driver.requestConsumerSignal();
        yield OP;
        const blocked = this.stillBlocked(unit + overhead, driver);
        if (this.stopped(client)) return moved;
        if (blocked) {
          const neverFits = unit + overhead > driver.capacity;
          const part = driver.free() - overhead;
          if (this.stopped(client)) return moved;
          const outcome = neverFits ? this.oversizedUnit(part) : "T5";
          if (outcome === "move part") {
            // The rest follows when the driver frees space.
            yield* this.transfer(pd, k, client, part);
            if (this.stopped(client)) return moved;
            moved = true;
            continue;
          }
          this.loss[outcome] += 1;
          this.pending.push(k);
          return moved;
        }
        this.loss.T8Averted += 1;
      }
      yield* this.transfer(pd, k, client, this.transferBound(unit));
      if (this.stopped(client)) return moved;
      moved = true;
      // All-or-nothing per call (§5.3); line-atomic goes on to the next whole lines.
      if (!this.config.lineAtomic) return moved;
    }
  }

  /**
   * The re-check after the request (§3.2 phase 2, sDDF `334e9be8`): does the unit still
   * not fit? An extension point: a subclass may model the code before that commit.
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
      if (client.byteAt(head + i) !== NEWLINE) continue;
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
   * Move client bytes to the driver queue, colour-framed: `transfer_all(_colour)` (§2.4),
   * the library's loop one chunk at a time with a preemption point after each published
   * piece (§2.6). Under `"none"`, bytes the driver queue cannot take are lost (T7).
   */
  private *transfer(pd: PdContext, k: number, client: SerialQueue, bound: TransferBound): PdStep {
    const driver = this.driver;
    if (this.config.enableColour) {
      const start = this.starts[k] as Uint8Array;
      this.enqueueColour(start);
      if (this.stopped(client)) return;
      yield COPY_COLOUR_START;
    }
    const chunks = this.chunks.begin(driver, client, bound);
    let last = -1;
    while (chunks.step()) {
      last = client.byteAt(chunks.head - 1);
      if (chunks.copied < chunks.chunk) {
        // sDDF release builds ignore the failed assert and consume the whole chunk.
        this.loss.T7 += chunks.chunk - chunks.copied;
        pd.counter("virt_tx.T7", this.loss.T7);
      }
      this.moved[k] = (this.moved[k] ?? 0) + chunks.copied;
      yield work("copy", chunks.chunk);
    }
    if (this.stopped(client)) return;
    if (this.config.enableColour) {
      this.enqueueColour(COLOUR_END);
      if (this.stopped(client)) return;
      yield COPY_COLOUR_END;
    }
    if (last >= 0) {
      const wasMidLine = this.midLine[k];
      this.midLine[k] = last !== NEWLINE;
      // A line left open on the wire can be split by the next client's unit: report it once.
      if (this.config.lineAtomic && !wasMidLine && this.midLine[k]) this.loss.lineSplit += 1;
    }
  }
}
