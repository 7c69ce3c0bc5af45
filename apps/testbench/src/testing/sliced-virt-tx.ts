/**
 * A virt_tx that shares the driver TX queue between clients, which sDDF's does not: the real
 * one moves a client's whole published unit as soon as it fits (sddf-serial §5.3), into one
 * FIFO queue (§5.5), so a large write fills the queue ahead of every other client. This one
 * moves at most `SLICE` bytes of a client per turn, and moves a client again only once the
 * driver has drained its previous slice to within `SLICE` bytes; a client with bytes left
 * waits on the pending list for the driver's signal (§5.6). Another client's short line then
 * waits behind at most about two slices. Not a fix proposed here: the variant a test of the
 * unfairness runs to show it can fail (`virt-tx-fairness.test.ts`).
 */
import type { PdContext, PdStep } from "@vmmux/microkit-pd";
import { SerialQueue } from "@vmmux/sddf-queues";
import { VirtTx } from "@vmmux/sddf-serial";

/** Client bytes moved per turn, and how far ahead of the driver's head a client may be. */
export const SLICE = 1024;

/** Client `queue` as virt_tx's measuring sees it: at most `limit` bytes published. */
function capped(queue: SerialQueue, limit: number): SerialQueue {
  const view = Object.create(queue) as SerialQueue;
  view.lengthConsumer = () => Math.min(queue.lengthConsumer(), limit);
  return view;
}

export class SlicedVirtTx extends VirtTx {
  /** The driver queue as this PD maps it (the same shared regions as the base class's). */
  private driverView: SerialQueue | undefined;
  /** Per client, the driver queue's tail after its last slice. */
  private readonly sliceEnd: number[] = this.config.clients.map(() => 0);

  override *init(pd: PdContext): PdStep {
    const { queue, data } = this.config.driver;
    this.driverView = SerialQueue.fromRegions(pd.memory(queue), pd.memory(data));
    yield* super.init(pd);
  }

  protected override *processChecked(
    pd: PdContext,
    k: number,
    client: SerialQueue,
  ): PdStep<boolean> {
    const driver = this.driverView;
    if (driver === undefined || client.empty()) return false;
    const ahead = () => (this.sliceEnd[k]! - driver.head) | 0;
    if (ahead() > SLICE) {
      driver.requestConsumerSignal();
      if (ahead() > SLICE) {
        this.pending.push(k);
        return false;
      }
    }
    const moved = yield* super.processChecked(pd, k, capped(client, SLICE));
    if (moved) this.sliceEnd[k] = driver.tail;
    if (moved && !client.empty()) {
      driver.requestConsumerSignal();
      this.pending.push(k);
    }
    return moved;
  }
}
