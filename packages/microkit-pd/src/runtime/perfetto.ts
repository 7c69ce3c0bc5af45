/**
 * Export of the event log as Chrome Trace Event JSON, which Perfetto (ui.perfetto.dev) and
 * chrome://tracing open: a "core 0" track showing which thread holds the CPU, one track per PD,
 * monitor and vCPU with its entry points as slices and kernel events as instants, flow arrows
 * from each signal to the `notified` call that consumed it, and counter tracks. A fast-forwarded
 * run of idle periods (an `idle` record) is one core slice `idle ×count`.
 */
import type { RuntimeEvent } from "./event-log.js";

/** One Chrome Trace Event (the subset this exporter writes). */
export interface TraceEvent {
  readonly name: string;
  readonly ph: "X" | "B" | "E" | "i" | "s" | "f" | "C" | "M";
  readonly pid: number;
  readonly tid?: number;
  /** Microseconds. */
  readonly ts?: number;
  readonly dur?: number;
  readonly cat?: string;
  readonly id?: number;
  readonly bp?: "e";
  readonly s?: "t" | "p" | "g";
  readonly args?: Readonly<Record<string, unknown>>;
}

export interface PerfettoTrace {
  readonly traceEvents: readonly TraceEvent[];
  readonly displayTimeUnit: "ns";
}

export interface TraceThread {
  readonly name: string;
  readonly kind: string;
  readonly priority: number;
}

const PID = 1;
const CORE_TID = 1;
const FIRST_THREAD_TID = 10;

export function toPerfetto(
  log: readonly RuntimeEvent[],
  threads: readonly TraceThread[],
  endTime: number,
): PerfettoTrace {
  const out: TraceEvent[] = [];
  const us = (ns: number): number => ns / 1000;
  out.push({ name: "process_name", ph: "M", pid: PID, args: { name: "vmmux" } });
  out.push({ name: "thread_name", ph: "M", pid: PID, tid: CORE_TID, args: { name: "core 0" } });
  out.push({
    name: "thread_sort_index",
    ph: "M",
    pid: PID,
    tid: CORE_TID,
    args: { sort_index: 0 },
  });
  const tids = new Map<string, number>();
  threads.forEach((thread, i) => {
    const tid = FIRST_THREAD_TID + i;
    tids.set(thread.name, tid);
    out.push({
      name: "thread_name",
      ph: "M",
      pid: PID,
      tid,
      args: { name: `${thread.name} (${thread.kind}, prio ${thread.priority})` },
    });
    out.push({ name: "thread_sort_index", ph: "M", pid: PID, tid, args: { sort_index: 1 + i } });
  });
  let nextTid = FIRST_THREAD_TID + threads.length;
  const extraTid = (name: string): number => {
    let tid = tids.get(name);
    if (tid === undefined) {
      tid = nextTid++;
      tids.set(name, tid);
      out.push({ name: "thread_name", ph: "M", pid: PID, tid, args: { name } });
      out.push({ name: "thread_sort_index", ph: "M", pid: PID, tid, args: { sort_index: tid } });
    }
    return tid;
  };
  const tidOf = (name: string): number => tids.get(name) ?? extraTid(name);

  let running: { name: string; since: number } | null = null;
  /** The core-track slice of the thread that held the CPU until `end`. */
  const closeRunning = (end: number): void => {
    if (running === null) return;
    const { name, since } = running;
    out.push({
      name,
      ph: "X",
      pid: PID,
      tid: CORE_TID,
      ts: us(since),
      dur: fitting(us(since), us(end)),
    });
  };
  const openEntries = new Map<number, number>();
  const instant = (
    tid: number,
    t: number,
    name: string,
    args?: Readonly<Record<string, unknown>>,
  ): void => {
    const safe = args ? jsonArgs(args) : undefined;
    out.push({ name, ph: "i", s: "t", pid: PID, tid, ts: us(t), ...(safe ? { args: safe } : {}) });
  };

  for (const event of log) {
    switch (event.type) {
      case "switch":
        closeRunning(event.t);
        running = event.to === null ? null : { name: event.to, since: event.t };
        break;
      case "entry": {
        const tid = tidOf(event.thread);
        const label = event.ch === undefined ? event.entry : `${event.entry}(${event.ch})`;
        out.push({ name: label, ph: "B", pid: PID, tid, ts: us(event.t), cat: "entry" });
        openEntries.set(tid, (openEntries.get(tid) ?? 0) + 1);
        for (const id of event.flows ?? []) {
          out.push({
            name: "signal",
            ph: "f",
            bp: "e",
            id,
            pid: PID,
            tid,
            ts: us(event.t),
            cat: "signal",
          });
        }
        break;
      }
      case "entry-end": {
        const tid = tidOf(event.thread);
        const open = openEntries.get(tid) ?? 0;
        if (open > 0) {
          out.push({ name: event.entry, ph: "E", pid: PID, tid, ts: us(event.t), cat: "entry" });
          openEntries.set(tid, open - 1);
        }
        break;
      }
      case "signal": {
        const irq = event.from.startsWith("irq:");
        const tid = irq ? extraTid(`interrupts`) : tidOf(event.from);
        // The flow arrow starts in an enclosing slice: the sender's open entry point, else (a
        // deferred signal sent between entry points, an IRQ) a slice of its own. That slice is
        // 0 ns long on a PD track so it cannot straddle the sender's next entry point, which may
        // begin at the same instant; IRQ slices have their own track and show as 1 ns.
        if (irq || (openEntries.get(tid) ?? 0) === 0) {
          out.push({
            name: irq ? event.from : "signal",
            ph: "X",
            pid: PID,
            tid,
            ts: us(event.t),
            dur: irq ? 0.001 : 0,
          });
        }
        instant(tid, event.t, `signal → ${event.to}[${event.ch}]`, { outcome: event.outcome });
        out.push({
          name: "signal",
          ph: "s",
          id: event.id,
          pid: PID,
          tid,
          ts: us(event.t),
          cat: "signal",
        });
        break;
      }
      case "irq":
        instant(tidOf(event.thread), event.t, `irq ${event.irq} ${event.outcome}`, {
          ch: event.ch,
        });
        break;
      case "irq-ack":
        instant(tidOf(event.thread), event.t, `irq ${event.irq} ack`, { ch: event.ch });
        break;
      case "ppcall":
        instant(tidOf(event.from), event.t, `ppcall → ${event.to}[${event.ch}]`);
        break;
      case "reply":
        instant(tidOf(event.from), event.t, `reply → ${event.to}`);
        break;
      case "fault":
        instant(tidOf(event.thread), event.t, `fault → ${event.handler}`, { fault: event.fault });
        break;
      case "deferred":
        instant(tidOf(event.thread), event.t, `deferred ${event.op}(${event.ch}) ${event.phase}`);
        break;
      case "budget":
        instant(tidOf(event.thread), event.t, `budget ${event.action}`, { sc: event.sc });
        break;
      case "debug":
        instant(tidOf(event.thread), event.t, event.message);
        break;
      case "error":
        instant(tidOf(event.thread), event.t, `error ${event.code}`, { message: event.message });
        break;
      case "device":
        instant(extraTid(`device ${event.device}`), event.t, event.name, event.args);
        break;
      case "counter": {
        const name = event.thread ? `${event.thread}.${event.name}` : event.name;
        // A counter track holds numbers only; a NaN or infinite sample becomes an instant.
        if (Number.isFinite(event.value))
          out.push({ name, ph: "C", pid: PID, ts: us(event.t), args: { value: event.value } });
        else instant(CORE_TID, event.t, `${name} = ${event.value}`);
        break;
      }
      case "domain":
        instant(CORE_TID, event.t, `domain ${event.domain}`);
        break;
      case "idle": {
        // A fast-forwarded run of identical idle periods: one core slice with its count, then
        // whoever held the core goes on from its end.
        const holder: string | null = (running as { name: string } | null)?.name ?? null;
        closeRunning(event.t);
        out.push({
          name: `idle ×${event.count}`,
          ph: "X",
          pid: PID,
          tid: CORE_TID,
          ts: us(event.t),
          dur: fitting(us(event.t), us(event.until)),
          cat: "idle",
          args: {
            count: event.count,
            period_ns: event.period,
            events: event.events,
            ran_ns: event.ran,
          },
        });
        running = holder === null ? null : { name: holder, since: event.until };
        break;
      }
      case "state":
      case "point":
        break;
    }
  }
  closeRunning(endTime);
  for (const [tid, open] of openEntries) {
    for (let i = 0; i < open; i++)
      out.push({ name: "unfinished", ph: "E", pid: PID, tid, ts: us(endTime) });
  }
  return { traceEvents: out, displayTimeUnit: "ns" };
}

/** A duration from `start` that ends at `end` at the latest in floating point (slices must nest). */
function fitting(start: number, end: number): number {
  const dur = end - start;
  return start + dur > end ? dur - Math.abs(end) * Number.EPSILON : dur;
}

/**
 * Event arguments as JSON can carry them: device and fault arguments are free-form, and a bigint
 * (a 64-bit register value) would make the whole export fail; it is written as a decimal string.
 */
function jsonArgs(args: Readonly<Record<string, unknown>>): Record<string, unknown> {
  return JSON.parse(
    JSON.stringify(args, (_key, value: unknown) =>
      typeof value === "bigint" ? value.toString() : value,
    ),
  ) as Record<string, unknown>;
}
