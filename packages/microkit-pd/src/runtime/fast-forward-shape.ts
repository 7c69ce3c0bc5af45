/**
 * The state fingerprint of fast-forward (fast-forward.ts): everything the kernel's future depends
 * on besides the quantities that move linearly per period (clock, run times, slice use, counts).
 */
import type { Kernel } from "./kernel.js";
import type { SchedContext } from "./sched-context.js";
import type { Thread } from "./tcb.js";

const STATES = {
  inactive: 0,
  runnable: 1,
  "blocked-recv": 2,
  "blocked-reply": 3,
  "blocked-send": 4,
  "blocked-wfi": 5,
  dead: 6,
} as const;
const ENTRIES = { init: 1, notified: 2, protected: 3, fault: 4, guest: 5 } as const;

/**
 * The shape of `k`'s state; `null` when a value cannot be fingerprinted. `contracts` counts the
 * repeatable VMM answers tracked, `scOwner` numbers SCs by owner, `idOf` numbers held objects.
 */
export function kernelShape(
  k: Kernel,
  contracts: number,
  scOwner: ReadonlyMap<SchedContext, number>,
  idOf: (value: unknown) => number,
): number[] | null {
  const threads = k.threads;
  const idx = (th: Thread | null) => (th === null ? -1 : th.index);
  const scIdx = (sc: SchedContext | null) => (sc === null ? -1 : (scOwner.get(sc) ?? -2));
  const out: number[] = [threads.length, k.events.size, contracts];
  if (!k.sched.shapeInto(out, idx, scIdx)) return null;
  k.irqs.shapeInto(out);
  for (const th of threads) {
    const held = th.resumeValue;
    if (held !== undefined && th !== k.current && typeof held !== "object") return null;
    const s = th.sched;
    const ipc = th.ipc;
    out.push(
      STATES[th.state],
      th.body === null ? 0 : 1,
      th.workRemaining,
      th.pendingKernelNs,
      th.entry === null ? 0 : ENTRIES[th.entry],
      th.quiet ? 1 : 0,
      s.queued ? 1 : 0,
      s.inRelease ? 1 : 0,
      s.releaseEvent === null ? 0 : 1,
      scIdx(s.sc),
      s.passive ? 1 : 0,
      s.domain,
      th.ntfn.lo,
      th.ntfn.hi,
      th.ntfn.flows.size,
      ipc.outgoing === null ? 0 : 1,
      idx(ipc.callTarget),
      idx(ipc.replyTo),
      idx(ipc.donor),
      ipc.lastReply === null ? 0 : 1,
      th.vcpu.vtimer === null ? 0 : 1,
      ipc.sendQueue.length,
      th.vcpu.virqs.length,
      th === k.current ? 0 : idOf(held),
    );
    for (const q of ipc.sendQueue) out.push(q.index);
    for (const v of th.vcpu.virqs) out.push(v);
    const sc = s.ownSc;
    if (!sc.roundRobin) for (const r of sc.refills) out.push(r.time, r.amount);
  }
  return out;
}

/** Linear slots before the per-thread run times: clock, events processed, log length. */
export const LINEAR_HEAD = 3;
/** Linear slots per SC: slice used, consumed, activations, exhaustions. */
export const SC_FIELDS = 4;

/**
 * Clock, events (inert ticks that stood for no timer expiry left out, ticks.ts), log length,
 * run time per thread, per SC (slice, consumed, activations, exhaustions), VMM exits.
 */
export function linearOf(
  k: Kernel,
  scs: readonly SchedContext[],
  exits: readonly number[],
): Float64Array {
  const threads = k.threads;
  const out = new Float64Array(
    LINEAR_HEAD + threads.length + scs.length * SC_FIELDS + exits.length,
  );
  out[0] = k.now;
  out[1] = k.eventsProcessed - k.ticks.untied;
  out[2] = k.recorded;
  for (let i = 0; i < threads.length; i++) out[LINEAR_HEAD + i] = threads[i]!.runTime;
  let o = LINEAR_HEAD + threads.length;
  for (const sc of scs) {
    out[o++] = sc.sliceUsed;
    out[o++] = sc.consumed;
    out[o++] = sc.activations;
    out[o++] = sc.exhaustions;
  }
  for (const n of exits) out[o++] = n;
  return out;
}
