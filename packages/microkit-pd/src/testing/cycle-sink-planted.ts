/**
 * Deliberately wrong ways of handing cycle records to a Perfetto stream (cycle-records.ts), to
 * show that the export's properties (perfetto-cycles.prop.test.ts) can fail: a cycle sink that
 * forgets the signals an entry point consumes (its `flows`), as a compact call that drops a field
 * would; one that forgets the run times of a fast-forward leap (its `idle` record's `ran`).
 */
import type { CycleSink, EventListener } from "../runtime/cycle-records.js";
import type { PerfettoStream } from "../runtime/perfetto.js";

export function plantedFlowlessListener(stream: PerfettoStream): EventListener {
  const cycles = stream.listener.cycles;
  if (cycles === undefined) return stream.listener;
  const flowless: CycleSink = {
    record: (event) => cycles.record(event),
    guestExit: (t, thread, handler, fault) => cycles.guestExit(t, thread, handler, fault),
    entry: (t, thread, entry, ch) => cycles.entry(t, thread, entry, ch, undefined),
    entryEnd: (t, thread, entry) => cycles.entryEnd(t, thread, entry),
    reply: (t, from, to) => cycles.reply(t, from, to),
    quietRecord: (t) => cycles.quietRecord(t),
    quietSwitch: (t, to) => cycles.quietSwitch(t, to),
  };
  return Object.assign((event: Parameters<EventListener>[0]) => stream.listener(event), {
    cycles: flowless,
  });
}

export function plantedLeaplessListener(stream: PerfettoStream): EventListener {
  const cycles = stream.listener.cycles;
  if (cycles === undefined) return stream.listener;
  const leapless: CycleSink = {
    ...cycles,
    record: (event) => cycles.record(event.type === "idle" ? { ...event, ran: {} } : event),
  };
  return Object.assign((event: Parameters<EventListener>[0]) => stream.listener(event), {
    cycles: leapless,
  });
}
