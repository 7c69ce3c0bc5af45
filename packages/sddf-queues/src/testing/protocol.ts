/**
 * The signalling protocol of reference/sddf-serial.md §3 as two step machines over a real
 * `SerialQueue`, and an explorer of their interleavings.
 *
 * Producer (virt_tx towards the driver, §3.2–§3.3): fill the queue byte by byte; after a
 * round that enqueued something, notify the consumer (unconditional, §1); when the queue is
 * full, request a signal and — with the double check — re-check fullness, cancelling and
 * going back to filling if space appeared; otherwise wait for the consumer's notification.
 * Consumer (the driver's `tx_provide`, §7.5): on each notification drain the queue; if it
 * moved anything and `require` says the producer wants a signal, cancel and notify.
 *
 * Every step is one access to shared memory (or one notification), so every place where the
 * single-core kernel or a second core could interleave the two is a choice point.
 * Notifications are Microkit's: one pending bit per receiver, coalescing (§1.1).
 * A *lost wake-up* is a state where neither machine can run, no signal is pending, and the
 * producer still has bytes to send although the queue has room (§3.3 step 4).
 */

import { SerialQueue } from "../queue.js";

export interface ProtocolCase {
  /** Queue capacity (power of two). */
  capacity: number;
  /** Bytes the producer sends. */
  bytes: number;
  /** Re-check after the request (§3.2 phase 2). `false` is the planted bug. */
  doubleCheck: boolean;
  /** Initial value of both shared indices. */
  start?: number;
}

type ProducerPc = "fill" | "notify" | "request" | "recheck" | "cancel" | "wait" | "done";
type ConsumerPc = "wait" | "drain" | "require" | "cancel" | "notify";

interface MachineState {
  producer: { pc: ProducerPc; sent: number; didWork: boolean };
  consumer: { pc: ConsumerPc; received: number; moved: boolean };
  /** Pending notification bits: producer→consumer and consumer→producer. */
  toConsumer: boolean;
  toProducer: boolean;
}

/** Which machine takes the next step. */
export type Actor = "producer" | "consumer";

/** One executed step, for counterexample traces. */
export interface TraceStep {
  actor: Actor;
  action: string;
}

const REGION_BYTES = 16;

/** The two machines over one queue; state can be saved and restored for exploration. */
export class ProtocolWorld {
  readonly queue: SerialQueue;
  private readonly memory: Uint8Array;
  private state: MachineState;

  constructor(readonly spec: ProtocolCase) {
    this.memory = new Uint8Array(REGION_BYTES + spec.capacity);
    const start = (spec.start ?? 0) >>> 0;
    const words = new Uint32Array(this.memory.buffer, 0, 3);
    words[0] = start;
    words[1] = start;
    this.queue = new SerialQueue(
      this.memory.subarray(0, REGION_BYTES),
      this.memory.subarray(REGION_BYTES),
    );
    this.state = {
      producer: { pc: "fill", sent: 0, didWork: false },
      consumer: { pc: "wait", received: 0, moved: false },
      toConsumer: false,
      toProducer: false,
    };
  }

  /** Machines that can take a step now, in a fixed order. */
  enabled(): Actor[] {
    const s = this.state;
    const out: Actor[] = [];
    if (s.producer.pc !== "done" && (s.producer.pc !== "wait" || s.toProducer))
      out.push("producer");
    if (s.consumer.pc !== "wait" || s.toConsumer) out.push("consumer");
    return out;
  }

  /** Runs one step of `actor` and says what it did. */
  step(actor: Actor): string {
    return actor === "producer" ? this.stepProducer() : this.stepConsumer();
  }

  private stepProducer(): string {
    const s = this.state;
    const p = s.producer;
    const q = this.queue;
    switch (p.pc) {
      case "fill":
        if (p.sent === this.spec.bytes) {
          p.pc = "notify";
          return "nothing left to send";
        }
        if (q.enqueue(p.sent & 0xff)) {
          p.sent++;
          p.didWork = true;
          return `enqueue byte ${p.sent - 1}`;
        }
        p.pc = "notify";
        return "queue full";
      case "notify": {
        const did = p.didWork;
        if (did) s.toConsumer = true;
        p.didWork = false;
        p.pc = p.sent === this.spec.bytes ? "done" : "request";
        return did ? "notify consumer" : "no work, no notify";
      }
      case "request":
        q.requestConsumerSignal();
        p.pc = this.spec.doubleCheck ? "recheck" : "wait";
        return "request signal (flag = 0)";
      case "recheck":
        if (q.full()) {
          p.pc = "wait";
          return "re-check: still full";
        }
        p.pc = "cancel";
        return "re-check: space appeared";
      case "cancel":
        q.cancelConsumerSignal();
        p.pc = "fill";
        return "cancel own request (flag = 1)";
      case "wait":
        s.toProducer = false;
        p.pc = "fill";
        return "woken by consumer";
      case "done":
        throw new Error("protocol explorer: finished producer scheduled");
    }
  }

  private stepConsumer(): string {
    const s = this.state;
    const c = s.consumer;
    const q = this.queue;
    switch (c.pc) {
      case "wait":
        s.toConsumer = false;
        c.pc = "drain";
        c.moved = false;
        return "woken by producer";
      case "drain": {
        const byte = q.dequeue();
        if (byte === undefined) {
          c.pc = "require";
          return "queue empty";
        }
        if (byte !== (c.received & 0xff)) {
          throw new Error(`protocol explorer: byte ${c.received} arrived as ${byte}`);
        }
        c.received++;
        c.moved = true;
        return `dequeue byte ${c.received - 1}`;
      }
      case "require":
        if (c.moved && q.requireConsumerSignal()) {
          c.pc = "cancel";
          return "require: producer wants a signal";
        }
        c.pc = "wait";
        return c.moved ? "require: no signal wanted" : "moved nothing";
      case "cancel":
        q.cancelConsumerSignal();
        c.pc = "notify";
        return "cancel (flag = 1)";
      case "notify":
        s.toProducer = true;
        c.pc = "wait";
        return "notify producer";
    }
  }

  /** Bytes the consumer has received. */
  get received(): number {
    return this.state.consumer.received;
  }

  /** True when no machine can run although the producer has not finished (§3.3). */
  lostWakeUp(): boolean {
    return this.enabled().length === 0 && this.state.producer.pc !== "done";
  }

  /** A quiescent state in which every byte arrived. */
  delivered(): boolean {
    return (
      this.enabled().length === 0 &&
      this.state.producer.pc === "done" &&
      this.state.consumer.received === this.spec.bytes
    );
  }

  /** Opaque snapshot of shared memory and both machines. */
  save(): { memory: Uint8Array; state: string } {
    return { memory: this.memory.slice(), state: JSON.stringify(this.state) };
  }

  restore(snapshot: { memory: Uint8Array; state: string }): void {
    this.memory.set(snapshot.memory);
    this.state = JSON.parse(snapshot.state) as MachineState;
  }

  /** Identity of the current state (shared memory + machines + pending signals). */
  key(): string {
    return `${this.memory.join(",")}|${JSON.stringify(this.state)}`;
  }
}

export interface ExploreResult {
  /** Distinct states reached. */
  states: number;
  /** Complete interleavings (paths from the start to a quiescent state). */
  interleavings: bigint;
  /** Interleavings that end in a lost wake-up. */
  lostWakeUps: bigint;
  /** Interleavings that end with every byte delivered. */
  deliveredRuns: bigint;
  /** Every kind of step taken somewhere (numbers replaced by `#`): shows branches reached. */
  actionsSeen: Set<string>;
  /** The steps of one interleaving that loses a wake-up, if any. */
  counterexample: TraceStep[] | undefined;
}

interface Tally {
  total: bigint;
  lost: bigint;
  delivered: bigint;
}

/**
 * Explores every interleaving of the two machines: a depth-first search over states, each
 * state expanded once, with the number of interleavings through it counted (so a small
 * case is checked exhaustively without enumerating paths one by one).
 */
export function exploreAll(spec: ProtocolCase): ExploreResult {
  const world = new ProtocolWorld(spec);
  const memo = new Map<string, Tally>();
  const onPath = new Set<string>();
  const path: TraceStep[] = [];
  let counterexample: TraceStep[] | undefined;
  const actionsSeen = new Set<string>();

  const visit = (): Tally => {
    const key = world.key();
    const known = memo.get(key);
    if (known !== undefined) return known;
    if (onPath.has(key)) throw new Error("protocol explorer: cycle (livelock) found");
    const actors = world.enabled();
    let tally: Tally;
    if (actors.length === 0) {
      const lost = world.lostWakeUp();
      if (lost && counterexample === undefined) counterexample = [...path];
      const delivered = world.delivered();
      tally = { total: 1n, lost: lost ? 1n : 0n, delivered: delivered ? 1n : 0n };
    } else {
      onPath.add(key);
      tally = { total: 0n, lost: 0n, delivered: 0n };
      const snapshot = world.save();
      for (const actor of actors) {
        const action = world.step(actor);
        actionsSeen.add(`${actor}: ${action.replace(/\d+/g, "#")}`);
        path.push({ actor, action });
        const sub = visit();
        path.pop();
        world.restore(snapshot);
        tally.total += sub.total;
        tally.lost += sub.lost;
        tally.delivered += sub.delivered;
      }
      onPath.delete(key);
    }
    memo.set(key, tally);
    return tally;
  };

  const tally = visit();
  return {
    states: memo.size,
    interleavings: tally.total,
    lostWakeUps: tally.lost,
    deliveredRuns: tally.delivered,
    actionsSeen,
    counterexample,
  };
}

/** How one scheduled run ended. */
export interface RunOutcome {
  /** `stuck`: quiescent with the producer finished but bytes missing (never expected). */
  outcome: "delivered" | "lost-wake-up" | "stuck";
  received: number;
  steps: number;
  trace: TraceStep[];
}

/**
 * Runs the machines under a schedule: `choose(enabled)` picks the next actor. A bound on the
 * number of steps stops a livelocked run (the machines are finite, so it never should).
 */
export function runSchedule(spec: ProtocolCase, choose: (enabled: Actor[]) => Actor): RunOutcome {
  const world = new ProtocolWorld(spec);
  const trace: TraceStep[] = [];
  const maxSteps = 20 * (spec.bytes + spec.capacity) + 100;
  for (;;) {
    const actors = world.enabled();
    if (actors.length === 0) break;
    if (trace.length >= maxSteps) throw new Error("protocol explorer: step bound exceeded");
    const actor = choose(actors);
    trace.push({ actor, action: world.step(actor) });
  }
  return {
    outcome: world.delivered() ? "delivered" : world.lostWakeUp() ? "lost-wake-up" : "stuck",
    received: world.received,
    steps: trace.length,
    trace,
  };
}

/** Formats a trace as numbered lines for a failure message. */
export function formatTrace(trace: readonly TraceStep[]): string {
  return trace
    .map((s, i) => `${String(i + 1).padStart(3)} ${s.actor.padEnd(8)} ${s.action}`)
    .join("\n");
}

/**
 * A seeded random scheduler: keeps running the current actor and switches to another
 * enabled one with probability `switchProbability` at each step, so that both long bursts
 * and fine-grained interleavings occur (mulberry32 PRNG).
 */
export function randomScheduler(
  seed: number,
  switchProbability: number,
): (enabled: Actor[]) => Actor {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
  let current: Actor = "producer";
  return (enabled) => {
    if (!enabled.includes(current) || next() < switchProbability) {
      current = enabled[Math.floor(next() * enabled.length)]!;
    }
    return current;
  };
}
