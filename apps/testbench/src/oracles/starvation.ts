/**
 * Starvation, watched as the run goes (DESIGN.md oracle 4; issue 13 item 2): a guest with work
 * due (trace output not yet on the wire, typed input unread in its RX queue, or bytes waiting
 * in its TX queue) that gets no CPU while it is runnable, or no byte out while bytes wait, is
 * waiting. So is one whose PD has stopped (a fault left it inactive or dead, issue 11 item 3):
 * nothing it owes will come. The watch samples the kernel's per-thread run times at every progress step of the
 * run and keeps, per guest, only its longest wait, the time it spent runnable without running
 * and who held the core meanwhile: bounded state however long the run.
 */

/** One thread as the kernel reports it at a sample. */
export interface ThreadSample {
  readonly name: string;
  readonly state: string;
  /** Virtual ns it has run so far (fast-forwarded idle loops included). */
  readonly runTime: number;
}

/** A guest's numbers at a sample. */
export interface GuestSample {
  /** Its bytes on the wire so far. */
  readonly onWire: number;
  /** Unread bytes in its serial TX queue. */
  readonly txPending: number;
  /** Typed bytes in its serial RX queue that it has not read. */
  readonly rxPending: number;
}

/** The shared end of the TX path at a sample: the driver's TX queue and the wire. */
export interface PathSample {
  /** Unread bytes in the driver's TX queue. */
  readonly driverPending: number;
  /** Characters on the wire so far, all origins. */
  readonly wire: number;
}

/** What the watch needs to know of a guest before the run. */
export interface WatchedGuest {
  readonly name: string;
  /** The guest's own threads: the client PD, or the VMM PD and its vCPUs (the PD first). */
  readonly threads: readonly string[];
  /** The threads whose CPU is the guest running: the client PD, or the vCPUs (not the VMM). */
  readonly runs: readonly string[];
  /** Output bytes its trace holds. */
  readonly traceBytes: number;
  /** Virtual ns before which its trace asks for nothing (boot, first event). */
  readonly dueFrom: number;
}

/** A guest's longest wait and its time runnable without running. */
export interface GuestStarvation {
  readonly name: string;
  /** The longest wait, ns (0: none), from `from` to `to`. */
  readonly longestWait: number;
  readonly from: number;
  readonly to: number;
  /** Why it waited: `no CPU`, `no bytes out`, `its PD stopped`, joined by `and`. */
  readonly why: string;
  /** The threads that ran during the longest wait, ns each, most first (at most 4). */
  readonly heldBy: readonly { readonly thread: string; readonly ns: number }[];
  /** Virtual ns sampled as runnable without running (steps in which it got no CPU). */
  readonly runnableNotRunning: number;
  /** The bound the progress oracle applies, ns. */
  readonly bound: number;
}

interface Streak {
  from: number;
  to: number;
  noCpu: boolean;
  noBytes: boolean;
  stopped: boolean;
  held: Map<string, number>;
}

const HELD_SHOWN = 4;
/** Threads that ran less than this during a wait are not named (ns). */
const HELD_MIN = 500_000;

/** Thread states of a PD that faulted and was not resumed (microkit-pd's kernel). */
const STOPPED: ReadonlySet<string> = new Set(["inactive", "dead"]);

/** Default bound: a quarter of the run. */
export const STARVED_FRACTION = 0.25;

export class StarvationWatch {
  private last = 0;
  private readonly lastRun = new Map<string, number>();
  private prev: GuestSample[];
  private prevPath: PathSample | undefined;
  private readonly current: (Streak | null)[];
  private readonly longest: (Streak | null)[];
  private readonly idle: number[];

  constructor(private readonly guests: readonly WatchedGuest[]) {
    this.prev = guests.map(() => ({ onWire: 0, txPending: 0, rxPending: 0 }));
    this.current = guests.map(() => null);
    this.longest = guests.map(() => null);
    this.idle = guests.map(() => 0);
  }

  /**
   * One sample at virtual time `now`; `guests[k]` is guest k's numbers now. With `path`, a step
   * in which the driver's TX queue held bytes and not one character left the wire (a stalled
   * driver or UART, issue 11 item 3) counts as no bytes out for every guest with work due.
   */
  sample(
    now: number,
    threads: readonly ThreadSample[],
    guests: readonly GuestSample[],
    path?: PathSample,
  ): void {
    const ran = new Map<string, number>();
    const state = new Map<string, string>();
    for (const t of threads) {
      ran.set(t.name, t.runTime - (this.lastRun.get(t.name) ?? 0));
      this.lastRun.set(t.name, t.runTime);
      state.set(t.name, t.state);
    }
    const span = now - this.last;
    const was = this.prevPath;
    const wireStalled =
      path !== undefined && was !== undefined && was.driverPending > 0 && path.wire === was.wire;
    for (const [k, g] of this.guests.entries()) {
      const before = this.prev[k]!;
      const after = guests[k]!;
      const own = g.runs.reduce((n, name) => n + (ran.get(name) ?? 0), 0);
      const runnable = g.threads.some((name) => state.get(name) === "runnable");
      // Its PD (the first thread; a vCPU is also `inactive` before its VMM starts it) faulted
      // and nobody resumed it (kernel states `inactive`, `dead`): it never runs again.
      const stopped = STOPPED.has(state.get(g.threads[0] ?? "") ?? "");
      const due =
        (this.last >= g.dueFrom && before.onWire < g.traceBytes) ||
        before.rxPending > 0 ||
        before.txPending > 0;
      const noCpu = own === 0 && runnable;
      const noBytes = (before.txPending > 0 || wireStalled) && after.onWire === before.onWire;
      if (noCpu) this.idle[k]! += span;
      if (span > 0 && due && (noCpu || noBytes || stopped)) {
        const s = this.current[k] ?? {
          from: this.last,
          to: this.last,
          noCpu: false,
          noBytes: false,
          stopped: false,
          held: new Map(),
        };
        this.current[k] = s;
        s.to = now;
        s.noCpu ||= noCpu;
        s.noBytes ||= noBytes;
        s.stopped ||= stopped;
        for (const [name, ns] of ran)
          if (ns > 0 && !g.threads.includes(name)) s.held.set(name, (s.held.get(name) ?? 0) + ns);
        const l = this.longest[k];
        if (l === null || l === undefined || s.to - s.from > l.to - l.from) this.longest[k] = s;
      } else {
        this.current[k] = null;
      }
    }
    this.prev = guests.slice();
    this.prevPath = path;
    this.last = now;
  }

  /** Each guest's result; `bound` ns (the oracle's threshold) is stored with it. */
  finish(bound: number): GuestStarvation[] {
    return this.guests.map((g, k) => {
      const l = this.longest[k] ?? null;
      const why =
        l === null
          ? ""
          : [
              l.noCpu ? "no CPU" : "",
              l.noBytes ? "no bytes out" : "",
              l.stopped ? "its PD stopped" : "",
            ];
      return {
        name: g.name,
        longestWait: l === null ? 0 : l.to - l.from,
        from: l?.from ?? 0,
        to: l?.to ?? 0,
        why: typeof why === "string" ? why : why.filter((w) => w !== "").join(" and "),
        heldBy:
          l === null
            ? []
            : [...l.held]
                .filter(([, ns]) => ns >= HELD_MIN)
                .sort((a, b) => b[1] - a[1])
                .slice(0, HELD_SHOWN)
                .map(([thread, ns]) => ({ thread, ns })),
        runnableNotRunning: this.idle[k]!,
        bound,
      };
    });
  }
}
