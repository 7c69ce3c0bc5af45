/**
 * The state fingerprint of fast-forward (fast-forward.ts): everything the kernel's future depends
 * on besides the quantities that move linearly per period (clock, run times, slice use, counts).
 */
import type { AnchorArena } from "./fast-forward-arena.js";
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

/** Step positions of the threads waiting in the ready queues, put after the rest of a shape. */
const waiting: number[] = [];

/**
 * Write the shape of `k`'s state into `out`; the length of its part without the step positions
 * of threads waiting in the ready queues (which come last), or -1 when a value cannot be
 * fingerprinted. `contracts` counts the repeatable VMM answers tracked, `idOf` numbers held
 * objects. A thread's small fields are packed into one number (the packing is one-to-one, so
 * two shapes are equal exactly when every field is).
 */
export function kernelShape(
  out: AnchorArena,
  k: Kernel,
  contracts: number,
  idOf: (value: unknown) => number,
): number {
  const start = out.length;
  const threads = k.threads;
  out.push(threads.length);
  out.push(k.events.size);
  out.push(contracts);
  if (!k.sched.shapeInto(out, threadIndex, scIndex)) return -1;
  waiting.length = 0;
  k.irqs.shapeInto(out);
  const current = k.current;
  for (const th of threads) {
    const held = th.resumeValue;
    if (held !== undefined && th !== current && typeof held !== "object") return -1;
    const s = th.sched;
    const ipc = th.ipc;
    const vcpu = th.vcpu;
    out.push(
      STATES[th.state] |
        ((th.entry === null ? 0 : ENTRIES[th.entry]) << 3) |
        (th.body === null ? 0 : 1 << 6) |
        (th.quiet ? 1 << 7 : 0) |
        (s.queued ? 1 << 8 : 0) |
        (s.inRelease ? 1 << 9 : 0) |
        (s.releaseEvent === null ? 0 : 1 << 10) |
        (s.passive ? 1 << 11 : 0) |
        (ipc.outgoing === null ? 0 : 1 << 12) |
        (ipc.lastReply === null ? 0 : 1 << 13) |
        (vcpu.vtimer === null ? 0 : 1 << 14),
    );
    if (th !== current && th.state === "runnable" && s.queued) {
      // Frozen until it runs: a mark here, the numbers at the end.
      out.push(-1);
      out.push(-1);
      waiting.push(th.workRemaining, th.pendingKernelNs);
    } else {
      out.push(th.workRemaining);
      out.push(th.pendingKernelNs);
    }
    out.push(scIndex(s.sc));
    out.push(s.domain);
    out.push(th.ntfn.lo);
    out.push(th.ntfn.hi);
    out.push(th.ntfn.flows.size);
    out.push(threadIndex(ipc.callTarget));
    out.push(threadIndex(ipc.replyTo));
    out.push(threadIndex(ipc.donor));
    out.push(ipc.sendQueue.length);
    out.push(vcpu.virqs.length);
    out.push(th === current ? 0 : idOf(held));
    for (const q of ipc.sendQueue) out.push(q.index);
    for (const v of vcpu.virqs) out.push(v);
    const sc = s.ownSc;
    if (!sc.roundRobin) {
      for (const r of sc.refills) {
        out.push(r.time);
        out.push(r.amount);
      }
    }
  }
  const prefix = out.length - start;
  for (const v of waiting) out.push(v);
  return prefix;
}

function threadIndex(th: Thread | null): number {
  return th === null ? -1 : th.index;
}

/** An SC's number: its owning thread's index (-1 for none). */
function scIndex(sc: SchedContext | null): number {
  return sc === null ? -1 : sc.owner;
}

/** Linear slots before the per-thread run times: clock, events processed, log length. */
export const LINEAR_HEAD = 3;
/** Linear slots per SC: slice used, consumed, activations, exhaustions. */
export const SC_FIELDS = 4;

/**
 * Write the linear quantities: clock, events (inert ticks that stood for no timer expiry left
 * out, ticks.ts), log length, run time per thread, per SC (slice, consumed, activations,
 * exhaustions), VMM exits.
 */
export function linearInto(
  out: AnchorArena,
  k: Kernel,
  scs: readonly SchedContext[],
  exits: readonly number[],
): void {
  out.push(k.now);
  out.push(k.eventsProcessed - k.ticks.untied);
  out.push(k.recorded);
  for (const th of k.threads) out.push(th.runTime);
  for (const sc of scs) {
    out.push(sc.sliceUsed);
    out.push(sc.consumed);
    out.push(sc.activations);
    out.push(sc.exhaustions);
  }
  for (const n of exits) out.push(n);
}

/**
 * Numbering for fingerprints: SCs by owning thread (the list rebuilt when threads are added),
 * held objects by first sight (the same object keeps its number).
 */
export class FingerprintIndex {
  private scs: SchedContext[] = [];
  private indexedThreads = -1;
  private readonly ids = new WeakMap<object, number>();
  private nextId = 1;
  /** 0 for nothing, else a number unique to this object. */
  readonly idOf = (value: unknown): number => {
    if (typeof value !== "object" || value === null) return 0;
    const id = this.ids.get(value) ?? this.nextId++;
    this.ids.set(value, id);
    return id;
  };

  constructor(private readonly k: Kernel) {}

  /** Every thread's own SC, in thread order. */
  scList(): SchedContext[] {
    const threads = this.k.threads;
    if (this.indexedThreads !== threads.length) {
      this.scs = threads.map((th) => th.sched.ownSc);
      this.indexedThreads = threads.length;
    }
    return this.scs;
  }

  /** The first SC slot of the linear quantities. */
  scBase(): number {
    return LINEAR_HEAD + this.k.threads.length;
  }

  /** `hash` extended by every round-robin SC's position in its slice (the whole state's key). */
  fullHash(hash: number): number {
    let h = hash;
    for (const sc of this.scList()) {
      if (!sc.roundRobin) continue;
      // FNV-1a over both 32-bit halves of the position.
      const v = sc.sliceUsed + sc.consumed;
      h = Math.imul(h ^ (v | 0), 0x01000193);
      h = Math.imul(h ^ (Math.floor(v / 0x1_0000_0000) | 0), 0x01000193);
    }
    return h >>> 0;
  }

  /** The first of the two linear slots of a round-robin SC's slice position `i` is one of, or -1. */
  splitPair(i: number): number {
    const base = this.scBase();
    const j = i - base;
    const n = Math.floor(j / SC_FIELDS);
    const scs = this.scList();
    if (j < 0 || n >= scs.length || j % SC_FIELDS > 1 || !scs[n]!.roundRobin) return -1;
    return base + n * SC_FIELDS;
  }

  /**
   * Linear slot `i` differs between the period from `y` to `x` and the one before (from `z`,
   * or a memo's `prior` changes) only in how a round-robin SC's slice position splits into
   * committed and uncommitted time: only their sum is ever read (sched-context.ts), so the
   * periods agree. (The first period after a taint or a hand-over often starts with time not
   * yet committed.) The leap applies the last period's split.
   */
  splitOnly(
    arena: AnchorArena,
    i: number,
    x: number,
    y: number,
    z: number,
    prior: readonly number[] | null,
  ): boolean {
    const o = this.splitPair(i);
    if (o < 0) return false;
    const sum = (at: number) => arena.at(at + o) + arena.at(at + o + 1);
    return sum(x) - sum(y) === (prior === null ? sum(y) - sum(z) : prior[o]! + prior[o + 1]!);
  }

  /** Per-period changes: each round-robin SC's whole change committed where it committed any. */
  steadySplits(delta: number[]): void {
    const base = this.scBase();
    const scs = this.scList();
    for (let i = 0; i < scs.length; i++) {
      const o = base + i * SC_FIELDS;
      if (!scs[i]!.roundRobin || delta[o] === 0) continue;
      delta[o] = delta[o]! + delta[o + 1]!;
      delta[o + 1] = 0;
    }
  }

  /** Write the kernel's shape; its length without waiting threads' step positions, -1 if none. */
  shapeInto(out: AnchorArena, contracts: number): number {
    return kernelShape(out, this.k, contracts, this.idOf);
  }
}
