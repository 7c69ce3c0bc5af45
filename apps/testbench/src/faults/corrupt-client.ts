/**
 * A buggy sDDF serial client that corrupts its own TX queue (issue 11 item 3). At its first
 * wake-up at or after `at` it stores a `tail` a quarter of the index space past `head` into the
 * shared `serial_queue_t` (sddf-serial §2.1, §2.3: `tail - head` must stay within the capacity),
 * notifies virt_tx, and does nothing more. virt_tx must contain it (`PeerQueues`): the client is
 * cut off for good and counted in `corruptPeers`; the other clients keep every byte.
 */
import type { PdContext, PdProgram, PdStep } from "@vmmux/microkit-pd";
import { QUEUE_HEAD_OFFSET, QUEUE_TAIL_OFFSET } from "@vmmux/sddf-queues";

/** How far past `head` the bad tail lies: far outside any ring (capacities are at most 2^26). */
const BAD_DISTANCE = 0x4000_0000;

export interface QueueCorruption {
  /** Virtual ns from which the client's next wake-up corrupts the queue. */
  readonly at: number;
  /** The client's TX queue region (its `serial_queue_t`) and the channel to virt_tx. */
  readonly txQueue: string;
  readonly txChannel: number;
}

/** A client program that can say how many bytes it stored but never published (T3). */
export interface PutcharClient extends PdProgram {
  readonly unpublished: number;
}

/** A client PD program that behaves as `inner` until it corrupts its queue, then falls silent. */
export class CorruptingClient implements PutcharClient {
  /** When it stored the bad tail (ns), once it has. */
  corruptedAt: number | undefined;
  private unpublishedThen = 0;

  constructor(
    readonly inner: PutcharClient,
    readonly corruption: QueueCorruption,
  ) {}

  /** T3: what the inner client held unpublished when it broke its queue (then it stops). */
  get unpublished(): number {
    return this.corruptedAt === undefined ? this.inner.unpublished : this.unpublishedThen;
  }

  *init(pd: PdContext): PdStep {
    yield* this.inner.init(pd);
  }

  *notified(ch: number, pd: PdContext): PdStep {
    if (this.corruptedAt !== undefined) return;
    if (pd.now() < this.corruption.at) {
      yield* this.inner.notified(ch, pd);
      return;
    }
    this.unpublishedThen = this.inner.unpublished;
    const q = pd.memory(this.corruption.txQueue);
    q.store32(QUEUE_TAIL_OFFSET, (q.load32(QUEUE_HEAD_OFFSET) + BAD_DISTANCE) >>> 0);
    this.corruptedAt = pd.now();
    pd.notify(this.corruption.txChannel);
  }
}
