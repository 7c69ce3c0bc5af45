/**
 * The starvation watch (`starvation.ts`) attached to a run: which threads are each guest's,
 * how many output bytes its trace holds and from when, and a sampler reading the kernel's
 * thread run times, the wire counts and the guests' serial queues at each progress step.
 */
import type { System } from "@vmmux/microkit-pd";
import { SerialQueue } from "@vmmux/sddf-queues";
import type { Scenario } from "../scenario.js";
import type { WireStats } from "../stream/wire-stats.js";
import type { SerialWiring } from "../wiring.js";
import { utf8Length } from "./fidelity-watch.js";
import { type GuestStarvation, STARVED_FRACTION, StarvationWatch } from "./starvation.js";

export type { GuestStarvation };

/**
 * A guest's serial queue by role (its wiring's regions), never by region name. A buggy client
 * may corrupt its indices (issue 11 item 3): the handle breaks instead of throwing out of the run.
 */
function queueOf(sys: System, r: { readonly queue: string; readonly data: string }): SerialQueue {
  const region = (name: string) => {
    const bytes = sys.memory(name);
    return { buffer: bytes.buffer, byteOffset: bytes.byteOffset, size: bytes.byteLength };
  };
  return SerialQueue.fromRegions(region(r.queue), region(r.data), { onCorruptIndex: "break" });
}

/** Unread bytes now; a corrupt queue holds none the virtualiser will take (sddf-serial §2.3). */
function pending(q: SerialQueue): number {
  q.recover();
  return q.lengthConsumer();
}

/** A watch over `scenario`'s guests in `sys`; `stats` is read for each guest's wire count. */
export function starvationWatch(
  scenario: Scenario,
  wiring: SerialWiring & { readonly driverTx?: { readonly queue: string; readonly data: string } },
  sys: System,
  stats: WireStats,
) {
  const names = sys.threads().map((t) => t.name);
  const guests = scenario.guests.map((g, k) => {
    const w = wiring.guests[k]!;
    const vcpus = w.kind === "vm" ? names.filter((n) => n.startsWith(`${w.vmName}:`)) : [];
    const output = g.trace.events.filter((e) => e.code === "o");
    const shift = g.kind === "vm" ? g.boot : 0;
    return {
      name: g.name,
      threads: [g.pd, ...vcpus],
      runs: w.kind === "vm" ? vcpus : [g.pd],
      traceBytes:
        g.kind === "vm" && g.workload === "hostile"
          ? 0
          : output.reduce((n, e) => n + utf8Length(e.data), 0),
      dueFrom: Math.round(((output[0]?.time ?? 0) + shift) * 1e9),
    };
  });
  const queues = scenario.guests.map((_, k) => ({
    tx: queueOf(sys, { queue: wiring.guests[k]!.txQueue, data: wiring.guests[k]!.txData }),
    rx: queueOf(sys, { queue: wiring.guests[k]!.rxQueue, data: wiring.guests[k]!.rxData }),
  }));
  const driverTx = wiring.driverTx === undefined ? undefined : queueOf(sys, wiring.driverTx);
  const watch = new StarvationWatch(guests);
  return {
    /** Per guest, the virtual ns from which its trace asks for output (its watch's `dueFrom`). */
    dueFrom: guests.map((g) => g.dueFrom),
    sample: () =>
      watch.sample(
        sys.now(),
        sys.threads(),
        scenario.guests.map((_, k) => ({
          onWire: stats.origin(k + 1).count,
          txPending: pending(queues[k]!.tx),
          rxPending: pending(queues[k]!.rx),
        })),
        driverTx === undefined
          ? undefined
          : { driverPending: pending(driverTx), wire: stats.total },
      ),
    /** The results, with the bound: `starvedAfter` seconds, else a quarter of the run. */
    finish: (starvedAfter: number | undefined, virtualTime: number) =>
      watch.finish(
        starvedAfter === undefined
          ? Math.round(virtualTime * STARVED_FRACTION)
          : Math.round(starvedAfter * 1e9),
      ),
  };
}
