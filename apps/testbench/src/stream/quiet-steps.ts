/**
 * Progress steps the run loop may pass over (DESIGN.md "Cost follows work"; issue 12 items 1, 5).
 * The starvation watch samples at every progress step, and each stop ends the kernel's
 * fast-forward leap there. A sample changes the watch's verdict only through each guest's
 * (work due, no CPU, no bytes out) over the step; where those stay the same over consecutive
 * steps, one sample at the last of them leaves the watch exactly as a sample at each would (its
 * waits, times runnable and CPU held by others add up; `oracles/starvation.ts`). They stay the
 * same while the only thing running is one guest's idle loop (WFI answered at once, microkit
 * reference §2.10): its vCPU runs in every step, and every other thread, queue, wire count and
 * device stays as it was.
 *
 * The rule. At a step's end, after two steps in which only guest G's idle loop ran (its vCPUs and
 * VMM; nothing else ran or changed state, no wire byte, no queue index moved), with every thread
 * on a full scheduling context in one domain, no other thread runnable at G's priority or above,
 * the UART's receive side empty and G's loop unable to end by its deadline: run to the last step
 * before anything scheduled can happen — G's deadline, the next typed byte, a guest's `dueFrom`
 * (where "work due" starts), the run's end — and sample there. Afterwards the same checks must
 * hold over the whole stretch; if they do not, the run stops with an error naming the switch
 * (`RunOptions.quietSteps: false` samples every step).
 */
import type { System, ThreadInfo } from "@vmmux/microkit-pd";
import { SerialQueue } from "@vmmux/sddf-queues";
import type { BuiltSystem } from "../system/build.js";

/** What the rule needs to know of one guest. */
export interface QuietGuest {
  /** Threads whose CPU is the guest's own: its vCPUs (or its client PD). */
  readonly runs: readonly string[];
  /** All its threads (its VMM PD and vCPUs, or its client PD). */
  readonly threads: readonly string[];
  /** The Linux guest model's idle loop now; absent for kinds that declare none. */
  readonly idleLoop?: () => { readonly episode: number; readonly until: number } | undefined;
  /** Virtual ns from which its trace asks for output (the starvation watch's `dueFrom`). */
  readonly dueFrom: number;
}

export interface QuietInputs {
  readonly sys: System;
  readonly step: number;
  readonly limit: number;
  readonly guests: readonly QuietGuest[];
  /** Every serial queue of the system (guests' and the driver's). */
  readonly queues: readonly SerialQueue[];
  /** Characters on the TX wire so far. */
  readonly wireCount: () => number;
  /** Characters typed into the UART not yet received, and RX FIFO entries. */
  readonly rxBacklog: () => number;
  /** The next time a typed byte is sent to the UART after `now` (Infinity: none). */
  readonly nextInputAt: (now: number) => number;
  /** False when the scenario has events the rule does not foresee (faults, other guest kinds). */
  readonly eligible: boolean;
}

interface Snapshot {
  readonly t: number;
  readonly threads: readonly ThreadInfo[];
  readonly wire: number;
  readonly queues: readonly number[];
  readonly loops: readonly ({ readonly episode: number; readonly until: number } | undefined)[];
}

export class QuietSteps {
  /** Stretches of more than one step run at once (for tests: the rule is not vacuous). */
  stretches = 0;
  private last: Snapshot;
  /** Guest whose idle loop alone ran over the last step (and the one before), or -1. */
  private spinner = -1;
  private quietSteps = 0;
  private stretchFrom: number | null = null;

  constructor(protected readonly o: QuietInputs) {
    this.last = this.snapshot();
  }

  /** Where the run loop stops next, from `now`: the next progress step or a later one. */
  next(now: number): number {
    const { step, limit } = this.o;
    const fine = Math.min(now + step, limit);
    const g = this.spinner;
    if (!this.o.eligible || g < 0 || this.quietSteps < 2 || !this.canSkip(g)) return fine;
    const n = this.steps(g, now);
    if (n < 2) return fine;
    this.stretchFrom = now;
    this.stretches++;
    return Math.min(now + n * step, limit);
  }

  /** The run loop reached the end of a step or stretch: check and remember what changed. */
  reached(): void {
    const now = this.snapshot();
    const g = this.onlySpinner(this.last, now);
    if (this.stretchFrom !== null && g !== this.spinner) {
      throw new Error(
        `quiet progress steps: the system changed between ${this.stretchFrom} and ${now.t} ns, where only guest ${this.spinner + 1}'s idle loop could run; run with quietSteps: false`,
      );
    }
    this.stretchFrom = null;
    this.quietSteps = g >= 0 && g === this.spinner ? this.quietSteps + 1 : g >= 0 ? 1 : 0;
    this.spinner = g;
    this.last = now;
  }

  /** Whole steps from `now` before anything scheduled can happen (see the module comment). */
  private steps(g: number, now: number): number {
    const { step, limit } = this.o;
    // Sample at a step's end strictly before each: the loop's deadline, the next typed byte.
    const end = Math.min(this.last.loops[g]!.until, this.o.nextInputAt(now));
    let n = Math.ceil((limit - now) / step);
    if (Number.isFinite(end)) n = Math.min(n, Math.ceil((end - now) / step) - 1);
    return this.dueSteps(now, n);
  }

  /** `n` cut so that a stretch's steps agree on "work due" (`last >= dueFrom`) at their starts. */
  protected dueSteps(now: number, n: number): number {
    for (const guest of this.o.guests)
      if (now < guest.dueFrom) n = Math.min(n, Math.ceil((guest.dueFrom - now) / this.o.step));
    return n;
  }

  /** Nothing but guest `g`'s idle loop can run until its deadline (see the module comment). */
  private canSkip(g: number): boolean {
    const s = this.last;
    const loop = s.loops[g];
    if (loop === undefined || this.o.rxBacklog() > 0) return false;
    const own = new Set(this.o.guests[g]!.threads);
    let floor = Number.POSITIVE_INFINITY;
    for (const t of s.threads) if (own.has(t.name)) floor = Math.min(floor, t.priority);
    const domain = s.threads[0]?.domain;
    for (const t of s.threads) {
      if (t.budget !== t.period || t.throttled || t.domain !== domain) return false;
      if (own.has(t.name)) continue;
      if (t.state === "running") return false;
      if (t.state === "runnable" && t.priority >= floor) return false;
    }
    return true;
  }

  /**
   * The one guest whose idle loop alone ran between `a` and `b` (its own threads ran, in one
   * loop throughout; no other thread ran or changed state; wire and queues still), else -1.
   */
  private onlySpinner(a: Snapshot, b: Snapshot): number {
    if (b.wire !== a.wire || b.queues.some((v, i) => v !== a.queues[i])) return -1;
    let found = -1;
    for (const [k, guest] of this.o.guests.entries()) {
      const own = new Set(guest.threads);
      const ran = b.threads.some((t, i) => own.has(t.name) && t.runTime !== a.threads[i]!.runTime);
      if (!ran) continue;
      const [la, lb] = [a.loops[k], b.loops[k]];
      if (found >= 0 || la === undefined || lb === undefined || la.episode !== lb.episode)
        return -1;
      const runs = new Set(guest.runs);
      if (!b.threads.some((t, i) => runs.has(t.name) && t.runTime !== a.threads[i]!.runTime))
        return -1;
      found = k;
    }
    if (found < 0) return -1;
    const own = new Set(this.o.guests[found]!.threads);
    for (const [i, t] of b.threads.entries()) {
      const before = a.threads[i]!;
      if (own.has(t.name)) continue;
      if (t.runTime !== before.runTime || t.state !== before.state) return -1;
    }
    return found;
  }

  private snapshot(): Snapshot {
    return {
      t: this.o.sys.now(),
      threads: this.o.sys.threads(),
      wire: this.o.wireCount(),
      queues: this.o.queues.flatMap((q) => [q.head, q.tail]),
      loops: this.o.guests.map((g) => g.idleLoop?.()),
    };
  }
}

/** A serial queue by its regions; a corrupt index breaks the handle instead of throwing. */
function queueOf(sys: System, r: { readonly queue: string; readonly data: string }): SerialQueue {
  const region = (name: string) => {
    const bytes = sys.memory(name);
    return { buffer: bytes.buffer, byteOffset: bytes.byteOffset, size: bytes.byteLength };
  };
  return SerialQueue.fromRegions(region(r.queue), region(r.data), { onCorruptIndex: "break" });
}

/**
 * The rule's inputs for a built scenario: eligible when every guest is a Linux guest model (the
 * kind that declares its idle loop) with no fault or restart scheduled.
 */
export function quietInputs(
  built: BuiltSystem,
  run: {
    readonly step: number;
    readonly limit: number;
    readonly dueFrom: readonly number[];
    /** Send times of the typed bytes, ns. */
    readonly typedAt: readonly number[];
    readonly wireCount: () => number;
  },
): QuietInputs {
  const { sys, device, scenario } = built;
  const wiring = built.configs.wiring;
  const names = sys.threads().map((t) => t.name);
  const guests = scenario.guests.map((g, k): QuietGuest => {
    const w = wiring.guests[k]!;
    const vcpus = w.kind === "vm" ? names.filter((n) => n.startsWith(`${w.vmName}:`)) : [];
    const idleLoop = built.guests[k]?.idleLoop;
    return {
      runs: w.kind === "vm" ? vcpus : [g.pd],
      threads: [g.pd, ...vcpus],
      ...(idleLoop === undefined ? {} : { idleLoop }),
      dueFrom: run.dueFrom[k] ?? 0,
    };
  });
  const queues = [wiring.driverTx, wiring.driverRx].map((r) => queueOf(sys, r));
  for (const w of wiring.guests) {
    queues.push(queueOf(sys, { queue: w.txQueue, data: w.txData }));
    queues.push(queueOf(sys, { queue: w.rxQueue, data: w.rxData }));
  }
  const typed = [...run.typedAt].sort((a, b) => a - b);
  return {
    sys,
    step: run.step,
    limit: run.limit,
    guests,
    queues,
    wireCount: run.wireCount,
    rxBacklog: () => device.wireBacklog + device.rxFifoLevel,
    nextInputAt: (now) => typed.find((t) => t > now) ?? Number.POSITIVE_INFINITY,
    eligible:
      (built.restartParents ?? []).length === 0 &&
      scenario.guests.every(
        (g, k) => g.kind === "vm" && g.fault === undefined && guests[k]!.idleLoop !== undefined,
      ),
  };
}

/** `RunOptions.quietSteps`: on (the rule), off (null: sample every step), or a rule's builder. */
export type QuietStepsOption = boolean | ((inputs: QuietInputs) => QuietSteps);

export function quietSteps(
  option: QuietStepsOption,
  built: BuiltSystem,
  run: Parameters<typeof quietInputs>[1],
): QuietSteps | null {
  if (option === false) return null;
  const inputs = quietInputs(built, run);
  return option === true ? new QuietSteps(inputs) : option(inputs);
}
