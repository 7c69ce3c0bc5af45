/**
 * Opening the queues of a PD's serial connections (sddf-serial reference §2.2:
 * `serial_queue_init` with the capacity taken from the config, i.e. the data region's
 * size). The data region's shared provenance shadow rides along. A corrupt peer index
 * breaks the handle instead of throwing (`PeerQueues` contains it).
 */
import type { PdContext } from "@vmmux/microkit-pd";
import { SerialQueue } from "@vmmux/sddf-queues";
import type { SerialConnection } from "./config.js";

export function openQueue(pd: PdContext, conn: SerialConnection): SerialQueue {
  return SerialQueue.fromRegions(pd.memory(conn.queue), pd.memory(conn.data), {
    onCorruptIndex: "break",
  });
}
