/**
 * Planted bugs the oracles must catch (COMMON rules: every property suite is shown to fail
 * on a planted bug). Never used outside tests.
 */
import type { PdContext, PdStep } from "@vmmux/microkit-pd";
import { SerialQueue } from "@vmmux/sddf-queues";
import { VirtTx } from "@vmmux/sddf-serial";
import type { RunResult } from "../run.js";

/**
 * virt_tx that silently loses one byte of a client's queue on every third notification
 * from that client: an uncounted drop inside a guest's stream, which integrity must flag.
 */
export class VirtTxDroppingBytes extends VirtTx {
  private readonly queues = new Map<number, SerialQueue>();
  private readonly seen = new Map<number, number>();

  override *notified(ch: number, pd: PdContext): PdStep {
    const client = this.config.clients.find((c) => c.conn.channel === ch);
    if (client !== undefined) {
      let queue = this.queues.get(ch);
      if (queue === undefined) {
        queue = SerialQueue.fromRegions(pd.memory(client.conn.queue), pd.memory(client.conn.data));
        this.queues.set(ch, queue);
      }
      const count = (this.seen.get(ch) ?? 0) + 1;
      this.seen.set(ch, count);
      if (count % 3 === 0) queue.dequeue();
    }
    yield* super.notified(ch, pd);
  }
}

/** A run whose wire lost the `index`-th byte of `origin`'s stream, uncounted. */
export function withWireByteDropped(run: RunResult, origin: number, index = 0): RunResult {
  let seen = -1;
  const wire = run.wire.filter((w) => !(w.tag >>> 24 === origin && ++seen === index));
  return { ...run, wire };
}

/** A run where two adjacent bytes of `origin`'s stream swapped places on the wire. */
export function withWireBytesSwapped(run: RunResult, origin: number, index = 0): RunResult {
  const positions = run.wire.flatMap((w, i) => (w.tag >>> 24 === origin ? [i] : []));
  const [a, b] = [positions[index]!, positions[index + 1]!];
  const wire = [...run.wire];
  [wire[a], wire[b]] = [wire[b]!, wire[a]!];
  return { ...run, wire };
}

/** A run where one byte of `origin`'s stream was altered on the way. */
export function withWireByteCorrupted(run: RunResult, origin: number, index = 0): RunResult {
  let seen = -1;
  const wire = run.wire.map((w) =>
    w.tag >>> 24 === origin && ++seen === index ? { ...w, byte: w.byte ^ 0x20 } : w,
  );
  return { ...run, wire };
}

/** A run where one keyboard byte of guest `from` was delivered to guest `to` instead. */
export function withKeystrokeMisrouted(run: RunResult, from: number, to: number): RunResult {
  const moved = run.guests[from]!.received[0]!;
  const guests = run.guests.map((g, k) => {
    if (k === from) return { ...g, received: g.received.slice(1) };
    if (k === to) return { ...g, received: [...g.received, moved] };
    return g;
  });
  return { ...run, guests };
}

/** A run in which PD `name` ended dead, as a crashed PD does (isolation must flag it). */
export function withPdDead(run: RunResult, name: string): RunResult {
  return {
    ...run,
    threads: run.threads.map((t) => (t.name === name ? { ...t, state: "dead" } : t)),
  };
}

/**
 * A run in which guest `index`'s transport found its queues broken and still did not show
 * DEVICE_NEEDS_RESET afterwards (a transport that swallows the error).
 */
export function withDeviceResetMissed(run: RunResult, index: number): RunResult {
  return {
    ...run,
    guests: run.guests.map((g, k) =>
      k === index && g.vmm != null
        ? {
            ...g,
            vmm: {
              ...g.vmm,
              needsResetRequests: g.vmm.needsResetRequests + 1,
              needsResetMissed: g.vmm.needsResetMissed + 1,
            },
          }
        : g,
    ),
  };
}

/**
 * A run that ended with virt_tx waiting for the driver's signal on guest `index`'s behalf
 * while the driver queue is empty and was not asked to signal: the end state a lost
 * wake-up leaves (sddf-serial §3.3), which the wake-up oracle must flag.
 */
export function withWaitStranded(run: RunResult, index: number): RunResult {
  const g = run.guests[index]!;
  return {
    ...run,
    waits: [
      ...run.waits,
      {
        producer: `serial_virt_tx for ${g.name}`,
        waiter: "serial_virt_tx",
        waiterState: "blocked-recv",
        waiterBusy: false,
        queue: "serial_tx_data_driver",
        need: 100,
        capacity: run.driverTxCapacity,
        length: 0,
        free: run.driverTxCapacity,
        signalRequested: true,
      },
    ],
  };
}
