/**
 * Checks over a finished run's event log, shared by the runtime's property suites and by
 * packages above (oracles). Each returns the violations it found (empty = holds).
 */
import type { RuntimeEvent } from "../runtime/event-log.js";

/**
 * No signal lost (reference §2.3): every signal to a PD is followed, later in the log, by a
 * `notified` call of that PD for that channel (several signals may share one call).
 */
export function lostSignals(log: readonly RuntimeEvent[]): string[] {
  const pending = new Map<string, { t: number; id: number }[]>();
  for (const event of log) {
    if (event.type === "signal") {
      const key = `${event.to}[${event.ch}]`;
      const list = pending.get(key);
      if (list) list.push({ t: event.t, id: event.id });
      else pending.set(key, [{ t: event.t, id: event.id }]);
    } else if (event.type === "entry" && event.entry === "notified") {
      pending.delete(`${event.thread}[${event.ch}]`);
    }
  }
  return [...pending].flatMap(([key, list]) =>
    list.map((s) => `signal ${s.id} to ${key} at ${s.t} ns never notified`),
  );
}

/**
 * Strict priority (reference §3.1): once the kernel has finished with an instant of virtual
 * time, the thread on the core has at least the priority of every runnable, unthrottled thread,
 * and the core is idle only when no such thread exists. Within an instant, code runs up to the
 * next preemption point, so the check is made between instants.
 */
export function priorityViolations(
  log: readonly RuntimeEvent[],
  priorities: ReadonlyMap<string, number>,
): string[] {
  const runnable = new Set<string>();
  const throttled = new Set<string>();
  let current: string | null = null;
  const out: string[] = [];
  const check = (t: number): void => {
    const mine = current === null ? -1 : (priorities.get(current) ?? -1);
    for (const name of runnable) {
      if (throttled.has(name) || name === current) continue;
      const prio = priorities.get(name) ?? -1;
      if (prio > mine)
        out.push(
          `at ${t} ns '${current ?? "idle"}' runs while '${name}' (priority ${prio}) is runnable`,
        );
    }
  };
  for (let i = 0; i < log.length; i++) {
    const event = log[i]!;
    switch (event.type) {
      case "switch":
        current = event.to;
        break;
      case "state":
        if (event.state === "runnable") runnable.add(event.thread);
        else {
          runnable.delete(event.thread);
          throttled.delete(event.thread);
        }
        break;
      case "budget":
        if (event.action === "throttled") throttled.add(event.thread);
        else if (event.action === "released") throttled.delete(event.thread);
        break;
      default:
        break;
    }
    const next = log[i + 1];
    if (next === undefined || next.t !== event.t) check(event.t);
  }
  return out;
}

/**
 * Sporadic-server bandwidth (reference §3.2): a thread on its own sporadic SC (budget B, period
 * P) runs at most B in any window of length P. Checked for windows starting where it starts to
 * run, which is where the maximum is reached. Threads that run on donated SCs are not covered.
 */
export function bandwidthViolations(
  log: readonly RuntimeEvent[],
  servers: ReadonlyMap<string, { readonly budget: number; readonly period: number }>,
  end: number,
): string[] {
  const runs = new Map<string, [number, number][]>();
  let current: string | null = null;
  let since = 0;
  const close = (t: number): void => {
    if (current === null || t <= since) return;
    const list = runs.get(current);
    if (list) list.push([since, t]);
    else runs.set(current, [[since, t]]);
  };
  for (const event of log) {
    if (event.type !== "switch") continue;
    close(event.t);
    current = event.to;
    since = event.t;
  }
  close(end);
  const out: string[] = [];
  for (const [name, { budget, period }] of servers) {
    const list = runs.get(name) ?? [];
    for (const [start] of list) {
      const stop = start + period;
      let used = 0;
      for (const [s, e] of list) used += Math.max(0, Math.min(e, stop) - Math.max(s, start));
      if (used > budget)
        out.push(`'${name}' ran ${used} ns in [${start}, ${stop}) > budget ${budget}`);
    }
  }
  return out;
}

/** The `[t, until)` windows of a log's fast-forward leaps (its `idle` records). */
export function leapWindows(log: readonly RuntimeEvent[]): [number, number][] {
  return log.flatMap((e) => (e.type === "idle" ? [[e.t, e.until] as [number, number]] : []));
}

/**
 * The log outside `windows` (what collapsed runs stand for, and their `idle` records, left out):
 * what a run with fast-forward and one without must both write.
 */
export function outsideLeaps(
  log: readonly RuntimeEvent[],
  windows: readonly (readonly [number, number])[],
): RuntimeEvent[] {
  return log.filter((e) => e.type !== "idle" && !windows.some(([s, u]) => e.t >= s && e.t < u));
}

/**
 * What two runs of one system must agree on in their logs: the whole logs, or, where either
 * leapt (`leapt`), the logs outside the collapsed runs of both.
 */
export function comparableLogs(
  a: readonly RuntimeEvent[],
  b: readonly RuntimeEvent[],
  leapt: boolean,
): [readonly RuntimeEvent[], readonly RuntimeEvent[]] {
  if (!leapt) return [a, b];
  const windows = [...leapWindows(a), ...leapWindows(b)];
  return [outsideLeaps(a, windows), outsideLeaps(b, windows)];
}
