/**
 * The records of every kernel cycle (kernel-options.ts `recordCycles`: switches, entry points'
 * starts and ends, replies, a vCPU's guest exits, fast-forwarded idle runs) and where they go.
 * They go to every listener as objects, unless the listeners let one {@link CycleSink} take them
 * alone: one listener offers it (a folding `PerfettoStream`), every other one says it reads none
 * of them, and no log is kept. Then the kernel hands that sink each cycle record as it comes, in
 * the same order among all other records, and makes the records of entry points, replies and
 * guest exits as objects only if the sink asks (an idle guest's trapped WFI makes six such
 * records per pass, almost all folded away by the Perfetto export).
 */
import type { FaultMessage } from "../program.js";
import type { EntryPoint, RuntimeEvent } from "./event-log.js";
import type { Kernel } from "./kernel.js";
import type { Thread } from "./tcb.js";

/** A kernel cycle's records, taken without objects (perfetto-traps.ts groups them). */
export interface CycleRecords {
  /** A cycle record made as an object: a switch, a fast-forwarded idle run, an entry ended by a stop. */
  record(event: RuntimeEvent): void;
  /** A vCPU's guest exit: its fault IPC to `handler` (the `fault` record). */
  guestExit(t: number, thread: string, handler: string, fault: FaultMessage): void;
  entry(
    t: number,
    thread: string,
    entry: EntryPoint,
    ch: number | undefined,
    flows: readonly number[] | undefined,
  ): void;
  entryEnd(t: number, thread: string, entry: EntryPoint): void;
  reply(t: number, from: string, to: string): void;
}

/**
 * Takes a run's cycle records in place of the kernel's listeners. A record made by a step of a
 * thread in its declared idle loop (the kernel's `quietStep`; a `quiet: true` record as an
 * object) comes as its time alone, and a switch to such a thread with the thread's name: the
 * Perfetto fold shows those as idle runs (perfetto-idle-loops.ts).
 */
export interface CycleSink extends CycleRecords {
  quietRecord(t: number): void;
  quietSwitch(t: number, to: string): void;
}

/** A listener of recorded events (`System.onEvent`), and what it says about cycle records. */
export type EventListener = ((event: RuntimeEvent) => void) & {
  /** Takes the cycle records through this sink when it may take them alone. */
  readonly cycles?: CycleSink;
  /** Reads none of the cycle records (it may be called with some all the same). */
  readonly noCycles?: boolean;
};

/** Who takes the cycle records, worked out for a list of listeners (`Kernel.cycleCache`). */
export interface CycleCache {
  readonly listeners: readonly unknown[];
  readonly sink: CycleSink | null;
}

/** The sink that takes the cycle records alone now, or null: they go to every listener. */
export function cycleSinkOf(k: Kernel): CycleSink | null {
  const listeners = k.listeners;
  const cache = k.cycleCache;
  if (cache !== null && cache.listeners.length === listeners.length) {
    let same = true;
    for (let i = 0; same && i < listeners.length; i++) same = cache.listeners[i] === listeners[i];
    if (same) return cache.sink;
  }
  const sink = soleSink(k, listeners as readonly EventListener[]);
  k.cycleCache = { listeners: listeners.slice(), sink };
  return sink;
}

function soleSink(k: Kernel, listeners: readonly EventListener[]): CycleSink | null {
  if (!k.recordingCycles || k.options.retainEvents !== false) return null;
  let sink: CycleSink | null = null;
  for (const listener of listeners) {
    if (listener.cycles !== undefined) {
      if (sink !== null) return null;
      sink = listener.cycles;
    } else if (listener.noCycles !== true) return null;
  }
  return sink;
}

/** Whether `event` is one of the cycle records a {@link CycleSink} takes as an object. */
export function isCycleRecord(event: RuntimeEvent): boolean {
  switch (event.type) {
    case "switch":
    case "entry":
    case "entry-end":
    case "reply":
    case "idle":
      return true;
    default:
      return false;
  }
}

/** Hand a cycle record made as an object to the sink that takes them alone; false: none does. */
export function sinkCycleRecord(k: Kernel, event: RuntimeEvent): boolean {
  const sink = cycleSinkOf(k);
  if (sink === null) return false;
  sink.record(event);
  return true;
}

/** `event` marked as made by a step in a declared idle loop when `quiet`. */
function marked(event: RuntimeEvent, quiet: boolean): RuntimeEvent {
  return quiet ? ({ ...event, quiet: true } as RuntimeEvent) : event;
}

/** An entry point's start record (`ch` and `flows` only when given, in this order). */
export function entryRecord(
  t: number,
  thread: string,
  entry: EntryPoint,
  ch: number | undefined,
  flows: readonly number[] | undefined,
): RuntimeEvent {
  if (flows !== undefined) {
    return ch === undefined
      ? { t, type: "entry", thread, entry, flows }
      : { t, type: "entry", thread, entry, ch, flows };
  }
  return ch === undefined
    ? { t, type: "entry", thread, entry }
    : { t, type: "entry", thread, entry, ch };
}

export function entryEndRecord(t: number, thread: string, entry: EntryPoint): RuntimeEvent {
  return { t, type: "entry-end", thread, entry };
}

export function replyRecord(t: number, from: string, to: string): RuntimeEvent {
  return { t, type: "reply", from, to };
}

export function guestExitRecord(
  t: number,
  thread: string,
  handler: string,
  fault: FaultMessage,
): RuntimeEvent {
  return { t, type: "fault", thread, handler, fault };
}

/** Record an entry point's start (`Kernel.record` if no sink takes it). */
export function recordEntry(
  k: Kernel,
  thread: string,
  entry: EntryPoint,
  ch: number | undefined,
  flows: readonly number[] | undefined,
): void {
  if (!k.recording) return;
  const sink = cycleSinkOf(k);
  const quiet = k.quietStep;
  if (sink === null) k.record(marked(entryRecord(k.now, thread, entry, ch, flows), quiet));
  else {
    k.recorded++;
    if (quiet) sink.quietRecord(k.now);
    else sink.entry(k.now, thread, entry, ch, flows);
  }
}

export function recordEntryEnd(k: Kernel, thread: string, entry: EntryPoint): void {
  if (!k.recording) return;
  const sink = cycleSinkOf(k);
  const quiet = k.quietStep;
  if (sink === null) k.record(marked(entryEndRecord(k.now, thread, entry), quiet));
  else {
    k.recorded++;
    if (quiet) sink.quietRecord(k.now);
    else sink.entryEnd(k.now, thread, entry);
  }
}

export function recordReply(k: Kernel, from: string, to: string): void {
  if (!k.recording) return;
  const sink = cycleSinkOf(k);
  const quiet = k.quietStep;
  if (sink === null) k.record(marked(replyRecord(k.now, from, to), quiet));
  else {
    k.recorded++;
    if (quiet) sink.quietRecord(k.now);
    else sink.reply(k.now, from, to);
  }
}

export function recordGuestExit(
  k: Kernel,
  thread: string,
  handler: string,
  fault: FaultMessage,
): void {
  if (!k.recording) return;
  const sink = cycleSinkOf(k);
  const quiet = k.quietStep;
  if (sink === null) k.record(marked(guestExitRecord(k.now, thread, handler, fault), quiet));
  else {
    k.recorded++;
    if (quiet) sink.quietRecord(k.now);
    else sink.guestExit(k.now, thread, handler, fault);
  }
}

/**
 * Record the core switching from `from` to `to` (scheduler.ts). The switch belongs to a declared
 * idle loop when the last step begun was one and `to` is in one too.
 */
export function recordSwitch(k: Kernel, from: string | null, to: Thread | null): void {
  const name = to === null ? null : to.name;
  if (to === null || !to.quiet || !k.quietStep) {
    k.record({ t: k.now, type: "switch", from, to: name });
    return;
  }
  const sink = cycleSinkOf(k);
  if (sink === null) k.record({ t: k.now, type: "switch", from, to: name, quiet: true });
  else {
    k.recorded++;
    sink.quietSwitch(k.now, to.name);
  }
}
