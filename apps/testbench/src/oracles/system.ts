/**
 * The oracles that judge the system's state and progress (DESIGN.md oracles 4, 6, 7):
 * progress against the scenario's expectations, isolation from a hostile guest, and no lost
 * wake-ups at the end of a run.
 */
import { guestMetrics } from "../metrics.js";
import type { RunResult } from "../run.js";
import type { Expectations } from "../scenario.js";
import { type Verdict, verdict } from "./verdict.js";
import { consoleWaitCause } from "./wakeups-vmm.js";
import { integrity } from "./wire.js";

/**
 * Progress (oracle 4): every guest that wrote gets bytes on the wire; no guest with work due
 * waits longer than the starvation bound ({@link starvationFindings}); the scenario's
 * per-guest expectations (completion, first byte before/after, longest gap) hold. The
 * measured numbers are always noted, so starvation is reported even when it is expected.
 */
export function progress(run: RunResult, expect?: Expectations): Verdict {
  const findings: string[] = [];
  const notes: string[] = [];
  for (const g of run.guests) {
    const m = guestMetrics(run, g);
    const fmt = (s: number | null) => (s === null ? "never" : `${s.toFixed(3)} s`);
    notes.push(
      m.firstByteAt === null
        ? `${g.name}: no byte on the wire, ${m.bytesOnWire}/${m.bytesWritten} bytes out`
        : `${g.name}: first byte at ${fmt(m.firstByteAt)} (${fmt(m.timeToFirstByte)} after the trace's first output), longest gap ${fmt(m.longestGap)}, ${m.bytesOnWire}/${m.bytesWritten} bytes out`,
    );
    if (m.bytesWritten > 0 && m.bytesOnWire === 0) {
      findings.push(`${g.name} wrote ${m.bytesWritten} byte(s) and none reached the wire`);
    }
    const e = expect?.guests?.[g.name];
    if (e === undefined) continue;
    if (e.complete === true && !m.complete) {
      findings.push(
        `${g.name}: expected all ${m.bytesWritten} bytes on the wire, ${m.bytesOnWire} arrived`,
      );
    }
    if (
      e.firstByteBefore !== undefined &&
      (m.firstByteAt === null || m.firstByteAt > e.firstByteBefore)
    ) {
      findings.push(
        m.firstByteAt === null
          ? `${g.name}: no byte on the wire, expected the first before ${e.firstByteBefore} s`
          : `${g.name}: first byte at ${fmt(m.firstByteAt)}, expected before ${e.firstByteBefore} s`,
      );
    }
    if (
      e.firstByteAfter !== undefined &&
      m.firstByteAt !== null &&
      m.firstByteAt < e.firstByteAfter
    ) {
      findings.push(
        `${g.name}: first byte at ${fmt(m.firstByteAt)}, expected after ${e.firstByteAfter} s`,
      );
    }
    if (e.maxGap !== undefined && m.longestGap > e.maxGap) {
      findings.push(`${g.name}: longest gap ${fmt(m.longestGap)}, expected at most ${e.maxGap} s`);
    }
  }
  starvationFindings(run, expect, findings, notes);
  return verdict("progress", findings, notes);
}

/**
 * Starvation (issue 13 item 2): a guest whose longest wait with work due (no CPU while
 * runnable, or no byte out while bytes wait) exceeds the bound is a finding naming the wait
 * and the threads that held the core. A guest whose expectations put its first byte after
 * some time (`firstByteAfter`) states the wait that ends by then.
 */
function starvationFindings(
  run: RunResult,
  expect: Expectations | undefined,
  findings: string[],
  notes: string[],
): void {
  const s = (ns: number) => `${(ns / 1e9).toFixed(3)} s`;
  for (const w of run.starvation ?? []) {
    if (w.runnableNotRunning > 0)
      notes.push(`${w.name}: runnable without running for ${s(w.runnableNotRunning)}`);
    if (w.longestWait <= w.bound) continue;
    const held = w.heldBy.map((h) => `${h.thread} ${s(h.ns)}`).join(", ");
    const text = `${w.name} starved: waited ${s(w.longestWait)} (${s(w.from)} to ${s(w.to)}) with work due and ${w.why}, longer than ${s(w.bound)}; the core went to ${held === "" ? "no thread" : held}`;
    const after = expect?.guests?.[w.name]?.firstByteAfter;
    if (after !== undefined && w.from < after * 1e9)
      notes.push(`${text} (expected: first byte after ${after} s)`);
    else findings.push(text);
  }
}

const DEVICE_NEEDS_RESET = 0x40;

/**
 * Isolation (oracle 6, virtio §2.1.2 and §6.3): a guest that writes arbitrary registers and
 * descriptors crashes no PD (every PD thread is alive and, when the run kept its event log,
 * raised no fault), gets every exit answered (no vCPU left blocked, no unresumed VMM finding),
 * cannot make its VMM's device crash, and its device entered DEVICE_NEEDS_RESET every time the
 * transport found its queues broken. The other guests' output stays intact: integrity holds for
 * them, and their VMMs report nothing. Accesses outside the guest's RAM and device windows are
 * the VMM's `unmapped-access` findings; they must have been contained (answered), not served.
 */
export function isolation(run: RunResult): Verdict {
  const findings: string[] = [];
  const notes: string[] = [];
  for (const t of run.threads) {
    if (t.kind === "pd" && (t.state === "dead" || t.state === "inactive")) {
      findings.push(
        `PD ${t.name} ended ${t.state === "dead" ? "dead (it crashed)" : "inactive (it faulted and was never resumed)"}`,
      );
    }
  }
  if (run.pdFaults === null)
    notes.push("no event log kept: PD faults judged by thread states only");
  else
    for (const f of run.pdFaults.slice(0, 3))
      findings.push(
        `PD ${f.thread} faulted at ${(f.t / 1e9).toFixed(6)} s (to ${f.handler}): ${f.what}`,
      );
  const hostile = run.guests.filter((g) => g.hostile === true);
  for (const g of run.guests) {
    const v = g.vmm;
    if (v == null) continue;
    const isHostile = g.hostile === true;
    if (v.crashedBy !== null) findings.push(`${g.name}: its device crashed: ${v.crashedBy}`);
    if (v.unanswered > 0)
      findings.push(`${g.name}: ${v.unanswered} exit(s) left unanswered (its vCPU stays blocked)`);
    if (v.unresumed > 0)
      findings.push(`${g.name}: ${v.unresumed} VMM finding(s) did not resume the vCPU`);
    if (v.needsResetMissed > 0)
      findings.push(
        `${g.name}: the transport found broken queues ${v.needsResetMissed} time(s) without entering DEVICE_NEEDS_RESET`,
      );
    const kinds = Object.entries(v.findingCounts)
      .map(([kind, n]) => `${kind} ${n}`)
      .join(", ");
    if (!isHostile) {
      if (kinds !== "" && hostile.length > 0)
        findings.push(`${g.name} (not hostile): its VMM reported ${kinds}`);
      continue;
    }
    const ops = v.hostileOps;
    notes.push(
      `${g.name} (hostile): ${ops === null ? "?" : `${ops.completed}/${ops.total}`} ops done; VMM findings: ${kinds === "" ? "none" : kinds}; DEVICE_NEEDS_RESET entered ${v.needsResetRequests - v.needsResetMissed} time(s)${(v.deviceStatus & DEVICE_NEEDS_RESET) !== 0 ? ", still set at the end" : ""}`,
    );
    if (v.needsResetReasons.length > 0)
      notes.push(`${g.name}: first reason: ${v.needsResetReasons[0]}`);
  }
  if (hostile.length > 0) {
    const others = integrity(
      run,
      run.guests.filter((g) => g.hostile !== true),
    );
    for (const f of others.findings) findings.push(`another guest disturbed: ${f}`);
  }
  return verdict("isolation", findings, notes);
}

/**
 * No lost wake-ups (oracle 7, sddf-serial §3.2–§3.3): at the end of the run no producer
 * waits for a signal that will never come while the space it needs exists. A waiting
 * producer is fine while its consumer still has bytes to drain and was asked to signal
 * (`producer_signalled == 0`): the next dequeue wakes it. It is stranded when the ring
 * already has the space it needs (or the request is missing) and nothing is left for the
 * consumer to dequeue, or the consumer was never asked. A waiter still inside an entry point
 * or runnable has not decided yet and is not judged; a need larger than the whole ring is the
 * T4 stall, counted elsewhere.
 */
export function wakeups(run: RunResult): Verdict {
  const findings: string[] = [];
  const notes: string[] = [];
  for (const w of run.waits) {
    const where = `${w.producer} waits on ${w.queue} (needs ${w.need}, ${w.free} of ${w.capacity} free, ${w.length} to drain, signal ${w.signalRequested ? "requested" : "not requested"})`;
    if (w.waiterBusy || w.waiterState === "running" || w.waiterState === "runnable") {
      notes.push(
        `${where}: ${w.waiter} is still ${w.waiterBusy ? "in an entry point" : w.waiterState}; not judged`,
      );
      continue;
    }
    if (w.need > w.capacity) {
      notes.push(`${where}: the unit can never fit (T4)`);
      continue;
    }
    if (w.signalRequested && w.length > 0) {
      notes.push(`${where}: the consumer signals after its next dequeue`);
      continue;
    }
    const reference = consoleWaitCause(run, w.producer);
    findings.push(
      w.need <= w.free
        ? `${where}: the space exists and nothing will wake it (lost wake-up)${reference}`
        : `${where}: the consumer was not asked to signal and will not wake it${reference}`,
    );
  }
  if (run.waits.length === 0) notes.push("no producer was waiting for a signal at the end");
  return verdict("wakeups", findings, notes);
}
