/**
 * The notification part (seL4 `notification.c`, reference §2.3): signals OR-ed into a thread's
 * notification word, a receiver already waiting woken with the first badge alone, and the word
 * taken by the receive of the event loop. It owns each thread's {@link NtfnRecord} and the signal
 * ids that link a signal to the `notified` that consumes it (the trace's flow arrows); it calls
 * the scheduler to wake a receiver.
 *
 * Extension point: a caller may pass a subclass through `KernelParts.notifications`; `deliver`
 * is the seam.
 */
import type { Kernel } from "./kernel.js";
import type { Received, Thread } from "./tcb.js";

const NO_FLOWS: ReadonlyMap<number, readonly number[]> = new Map();

export class Notifications {
  private signalSeq = 0;

  constructor(protected readonly k: Kernel) {}

  /** Signals sent so far (the next signal's id). */
  get signalsSent(): number {
    return this.signalSeq;
  }

  /** `seL4_Signal` with badge `1 << ch` to `target`'s notification. */
  signal(from: string, target: Thread, ch: number): void {
    this.k.ff.taint();
    this.deliver(this.signalSeq++, from, target, ch);
  }

  /** Deliver signal `id`: wake a waiting receiver with this badge alone, or OR it into the word. */
  protected deliver(id: number, from: string, target: Thread, ch: number): void {
    const k = this.k;
    if (target.state === "blocked-recv") {
      if (k.recording)
        k.record({ t: k.now, type: "signal", id, from, to: target.name, ch, outcome: "woken" });
      target.resumeValue = {
        kind: "signal",
        lo: ch < 32 ? (1 << ch) >>> 0 : 0,
        hi: ch >= 32 ? (1 << (ch - 32)) >>> 0 : 0,
        flows: k.options.recordEvents ? new Map([[ch, [id]]]) : NO_FLOWS,
      } satisfies Received;
      const s = target.sched;
      if (s.sc === null && s.passive) s.sc = s.ownSc;
      k.sched.wake(target);
      return;
    }
    const word = target.ntfn;
    const already = hasBit(target, ch);
    if (ch < 32) word.lo = (word.lo | (1 << ch)) >>> 0;
    else word.hi = (word.hi | (1 << (ch - 32))) >>> 0;
    if (k.options.recordEvents) {
      const list = word.flows.get(ch);
      if (list) list.push(id);
      else word.flows.set(ch, [id]);
    }
    const outcome = already ? "coalesced" : "pending";
    if (k.recording) k.record({ t: k.now, type: "signal", id, from, to: target.name, ch, outcome });
  }

  /** Whether `t` has signals pending in its word. */
  pending(t: Thread): boolean {
    return t.ntfn.lo !== 0 || t.ntfn.hi !== 0;
  }

  /** The receive takes the whole word (and its signal ids) and clears it. */
  take(t: Thread): Received {
    const word = t.ntfn;
    let flows: ReadonlyMap<number, readonly number[]> = NO_FLOWS;
    if (word.flows.size > 0) {
      flows = new Map(word.flows);
      word.flows.clear();
    }
    const received: Received = { kind: "signal", lo: word.lo, hi: word.hi, flows };
    word.lo = 0;
    word.hi = 0;
    return received;
  }
}

function hasBit(t: Thread, ch: number): boolean {
  return ch < 32 ? (t.ntfn.lo & (1 << ch)) !== 0 : (t.ntfn.hi & (1 << (ch - 32))) !== 0;
}

/** Channel ids set in a received word, ascending (reference §2.2). */
export function wordChannels(lo: number, hi: number): number[] {
  const out: number[] = [];
  for (let ch = 0; ch < 32; ch++) if ((lo >>> ch) & 1) out.push(ch);
  for (let ch = 0; ch < 32; ch++) if ((hi >>> ch) & 1) out.push(ch + 32);
  return out;
}
