/**
 * The oracles (DESIGN.md "Oracles" 1–7), each a
 * pure function over finished runs, shared by `vmmux check`, the unit tests and the
 * property suites. A verdict lists findings in words a person can act on.
 */
import { ORIGIN_KEYBOARD, ORIGIN_VIRTUALISER, tagOrigin, tagSeq } from "@vmmux/sddf-queues";
import { guestMetrics } from "./metrics.js";
import { type GuestRun, type RunOptions, type RunResult, runScenario } from "./run.js";
import type { Expectations, OracleName, Scenario } from "./scenario.js";

export interface Verdict {
  readonly oracle: OracleName;
  readonly ok: boolean;
  /** Violations; empty when `ok`. */
  readonly findings: readonly string[];
  /** Counted losses and other facts that explain the verdict. */
  readonly notes: readonly string[];
}

const MAX_FINDINGS = 10;

function verdict(oracle: OracleName, findings: string[], notes: string[]): Verdict {
  const shown = findings.slice(0, MAX_FINDINGS);
  if (findings.length > MAX_FINDINGS) shown.push(`... and ${findings.length - MAX_FINDINGS} more`);
  return { oracle, ok: findings.length === 0, findings: shown, notes };
}

function show(byte: number): string {
  return byte >= 0x20 && byte < 0x7f
    ? `'${String.fromCharCode(byte)}'`
    : `0x${byte.toString(16).padStart(2, "0")}`;
}

/**
 * Integrity (oracle 1): per guest, the wire bytes attributed to it by provenance are the
 * bytes it wrote (matched by tag and value), in order, each once. Bytes may be missing only where a documented
 * loss point counted them: T7 drops inside the stream; at the end, text never flushed
 * (T3), a T4 stall, or bytes still in flight when the duration limit stopped the run.
 */
export function integrity(run: RunResult): Verdict {
  const findings: string[] = [];
  const notes: string[] = [];
  const byOrigin = new Map(run.guests.map((g) => [g.origin, g]));
  /** Per origin: each tag's positions in what the guest wrote (a tag may repeat, e.g. CR+LF). */
  const positions = new Map<number, Map<number, number[]>>();
  const positionsOf = (guest: GuestRun) => {
    let map = positions.get(guest.origin);
    if (map === undefined) {
      map = new Map();
      for (const [i, tag] of guest.enqueuedTags.entries()) {
        const list = map.get(tag);
        if (list === undefined) map.set(tag, [i]);
        else list.push(i);
      }
      positions.set(guest.origin, map);
    }
    return map;
  };
  const next = new Map<number, number>();
  /** A hostile guest writes no stream to compare with; its bytes are counted, not judged. */
  let hostileBytes = 0;
  let gaps = 0;
  const gapSites: string[] = [];
  for (const [i, w] of run.wire.entries()) {
    const origin = tagOrigin(w.tag);
    if (origin === ORIGIN_VIRTUALISER) continue;
    const guest = byOrigin.get(origin);
    if (guest === undefined) {
      findings.push(
        `wire byte ${i} (${show(w.byte)}) has provenance 0x${w.tag.toString(16)}, which is no guest's`,
      );
      continue;
    }
    if (guest.hostile === true) {
      hostileBytes++;
      continue;
    }
    const expected = next.get(origin) ?? 0;
    const candidates = positionsOf(guest).get(w.tag);
    const at = candidates?.find((p) => p >= expected);
    if (at === undefined) {
      findings.push(
        candidates === undefined
          ? `${guest.name}: wire byte ${i} claims byte #${tagSeq(w.tag)}, which it never wrote (it wrote ${guest.enqueued.length})`
          : `${guest.name}: byte #${candidates[0]} appears again or out of order at wire byte ${i} (expected #${expected} or later)`,
      );
      continue;
    }
    if (guest.enqueued[at] !== w.byte) {
      findings.push(
        `${guest.name}: byte #${at} left the wire as ${show(w.byte)} but was written as ${show(guest.enqueued[at]!)}`,
      );
    }
    if (at > expected) {
      gaps += at - expected;
      gapSites.push(
        `${guest.name}: byte(s) #${expected}..#${at - 1} missing before wire byte ${i}`,
      );
    }
    next.set(origin, at + 1);
  }
  const counted = run.loss.virtTx.T7;
  if (gaps > counted) {
    findings.push(
      `${gaps} byte(s) are missing inside guest streams but loss point T7 counted only ${counted}`,
      ...gapSites.slice(0, 3),
    );
  } else if (gaps > 0) {
    notes.push(`${gaps} byte(s) lost at T7 (transfer overflow), as counted`);
  }
  if (hostileBytes > 0)
    notes.push(`${hostileBytes} wire byte(s) came from a hostile guest (not judged)`);
  for (const g of run.guests) {
    const missingTail = g.enqueued.length - (next.get(g.origin) ?? 0);
    if (missingTail <= 0) continue;
    if (!run.idle) {
      notes.push(
        `${g.name}: ${missingTail} byte(s) still in flight when the duration limit stopped the run`,
      );
    } else if (missingTail <= g.unpublished) {
      notes.push(`${g.name}: ${missingTail} byte(s) never flushed by the putchar library (T3)`);
    } else if (run.loss.virtTx.T4 > 0) {
      notes.push(
        `${g.name}: ${missingTail} byte(s) stalled behind a unit larger than the driver queue (T4)`,
      );
    } else {
      findings.push(
        `${g.name}: ${missingTail} byte(s) never reached the wire although the system went idle (${g.unpublished} unflushed)`,
      );
    }
  }
  return verdict("integrity", findings, notes);
}

/** Where virt_rx must send each keyboard byte (sddf-serial §6.2, scheme `sddf`). */
export function expectedRouting(
  run: Pick<RunResult, "keyboard" | "guests" | "switchChar" | "terminateNumChar">,
): { destination: readonly (number | null)[]; finalClient: number } {
  const isDigit = (c: number) => c >= 0x30 && c <= 0x39;
  const destination: (number | null)[] = [];
  let mode: "normal" | "switched" | "number" = "normal";
  let client = 0;
  let digits = "";
  for (const { byte } of run.keyboard) {
    let to: number | null = null;
    if (mode === "normal") {
      if (byte === run.switchChar) mode = "switched";
      else to = client;
    } else if (mode === "switched") {
      if (isDigit(byte)) {
        digits = String.fromCharCode(byte);
        mode = "number";
      } else {
        if (byte === run.switchChar) to = client;
        mode = "normal";
      }
    } else if (byte === run.terminateNumChar) {
      const n = Number.parseInt(digits, 10);
      if (n < run.guests.length) client = n;
      mode = "normal";
    } else if (isDigit(byte) && digits.length < 4) {
      digits += String.fromCharCode(byte);
    } else {
      mode = "normal";
    }
    destination.push(to);
  }
  return { destination, finalClient: client };
}

/**
 * Routing (oracle 2): each typed byte outside a switch sequence reaches exactly the guest
 * selected at that moment, in order; switch sequences reach no guest; an escaped switch
 * character does. A byte counts as reached when the guest read it or when it waits unread
 * in that guest's RX queue at the end. Missing bytes are allowed only as counted drops (R5 in
 * virt_rx, R8 in a guest console) or as bytes still before virt_rx when the run stopped.
 */
export function routing(run: RunResult): Verdict {
  const findings: string[] = [];
  const notes: string[] = [];
  const lostBefore = run.loss.uart.R1_rxFifoOverrun + run.loss.uart.R2_rxDisabledOrFlushed;
  if (lostBefore > 0) {
    notes.push(
      `${lostBefore} keyboard byte(s) were lost in the UART (R1/R2) before virt_rx saw them; the switch state cannot be predicted, routing not judged`,
    );
    return verdict("routing", findings, notes);
  }
  const { destination } = expectedRouting(run);
  let missing = 0;
  let unreadAtEnd = 0;
  for (const g of run.guests) {
    const expected = run.keyboard.map((_, i) => i).filter((i) => destination[i] === g.index);
    unreadAtEnd += g.rxPending.length;
    let at = 0;
    for (const r of [...g.received, ...g.rxPending]) {
      if (tagOrigin(r.tag) !== ORIGIN_KEYBOARD) {
        findings.push(
          `${g.name} received ${show(r.byte)} with provenance 0x${r.tag.toString(16)}, not from the keyboard`,
        );
        continue;
      }
      const seq = tagSeq(r.tag);
      const key = run.keyboard[seq];
      if (key === undefined || key.byte !== r.byte) {
        findings.push(
          `${g.name} received ${show(r.byte)} as keyboard byte #${seq}, which was typed as ${key === undefined ? "nothing" : show(key.byte)}`,
        );
        continue;
      }
      const found = expected.indexOf(seq, at);
      if (found < 0) {
        const where = destination[seq];
        findings.push(
          `keyboard byte #${seq} (${show(r.byte)}) reached ${g.name} but belonged to ${where === null || where === undefined ? "a switch sequence" : run.guests[where]!.name}${expected.includes(seq) ? " (again or out of order)" : ""}`,
        );
        continue;
      }
      missing += found - at;
      at = found + 1;
    }
    missing += expected.length - at;
  }
  const atR5 = run.loss.virtRx.R5;
  const atR8 = run.guests.reduce((n, g) => n + g.inputDropped, 0);
  const allowed = atR5 + atR8 + run.keyboardInFlight;
  if (missing > allowed) {
    findings.push(
      `${missing} typed byte(s) reached no guest; counted: ${atR5} at R5, ${atR8} at R8, ${run.keyboardInFlight} still before virt_rx`,
    );
  } else if (missing > 0) {
    notes.push(
      `${missing} typed byte(s) reached no guest, as counted: ${atR5} at R5 (client RX queue full), ${atR8} at R8 (guest console not ready), ${run.keyboardInFlight} still before virt_rx`,
    );
  }
  if (unreadAtEnd > 0)
    notes.push(`${unreadAtEnd} typed byte(s) were still unread in guest RX queues at the end`);
  return verdict("routing", findings, notes);
}

/** A guest line that another guest's bytes interrupted on the wire. */
export interface SplitLine {
  readonly guest: string;
  /** Provenance sequence of the guest's last byte before the interruption. */
  readonly seq: number;
  /** Wire index of the interrupting byte. */
  readonly at: number;
  /** Length of the whole line as the guest wrote it, `\n` included. */
  readonly length: number;
}

/** Every guest line split by another guest's bytes (virtualiser bytes do not count). */
export function splitLines(run: RunResult): SplitLine[] {
  const byOrigin = new Map(run.guests.map((g) => [g.origin, g]));
  /** Per origin: seq of its last wire byte while its line is open, else undefined. */
  const open = new Map<number, number | undefined>();
  const out: SplitLine[] = [];
  for (const [i, w] of run.wire.entries()) {
    const origin = tagOrigin(w.tag);
    const guest = byOrigin.get(origin);
    if (guest === undefined) continue;
    for (const [other, seq] of open) {
      if (other === origin || seq === undefined) continue;
      const g = byOrigin.get(other)!;
      out.push({ guest: g.name, seq, at: i, length: lineLength(g.enqueued, seq) });
      open.set(other, undefined);
    }
    open.set(origin, w.byte === 0x0a ? undefined : tagSeq(w.tag));
  }
  return out;
}

function lineLength(bytes: Uint8Array, seq: number): number {
  let start = seq;
  while (start > 0 && bytes[start - 1] !== 0x0a) start--;
  let end = seq;
  while (end < bytes.length && bytes[end] !== 0x0a) end++;
  return Math.min(end + 1, bytes.length) - start;
}

/**
 * Interleaving (oracle 3): with the line-atomic mux no guest line is split by another
 * guest's bytes unless it could never travel whole: longer than the driver ring (less the
 * colour codes) or than half the guest's ring (where the putchar library must publish it
 * before its end). Without the option the real system interleaves at virt_tx unit
 * granularity; split lines are then counted, not judged.
 */
export function interleaving(run: RunResult): Verdict {
  const findings: string[] = [];
  const notes: string[] = [];
  const splits = splitLines(run);
  const count = (name: string) => splits.filter((s) => s.guest === name).length;
  const detail = run.guests.map((g) => `${g.name} ${count(g.name)}`).join(", ");
  if (!run.lineAtomic) {
    notes.push(`line-atomic mux off: lines split by another guest's bytes: ${detail}`);
    return verdict("interleaving", findings, notes);
  }
  const overhead = run.colour ? 9 : 0;
  for (const s of splits) {
    const g = run.guests.find((x) => x.name === s.guest)!;
    const limit = Math.min(run.driverTxCapacity - overhead, g.txCapacity / 2);
    if (s.length <= limit) {
      findings.push(
        `${s.guest}: a ${s.length}-byte line (which fits) was split after its byte #${s.seq} by another guest's byte at wire byte ${s.at}`,
      );
    }
  }
  notes.push(
    `lines split: ${detail}; virt_tx reported ${run.loss.virtTx.lineSplit} line(s) it had to leave open`,
  );
  return verdict("interleaving", findings, notes);
}

/** Determinism (oracle 5): two runs of the same scenario and seed are byte-identical. */
export function determinism(first: RunResult, second: RunResult): Verdict {
  if (first.digest === second.digest) {
    return verdict("determinism", [], [`digest ${first.digest.slice(0, 16)} on both runs`]);
  }
  const findings = [
    `the runs differ (digest ${first.digest.slice(0, 12)} vs ${second.digest.slice(0, 12)})`,
  ];
  const n = Math.min(first.wire.length, second.wire.length);
  let i = 0;
  while (i < n) {
    const a = first.wire[i]!;
    const b = second.wire[i]!;
    if (a.byte !== b.byte || a.tag !== b.tag || a.end !== b.end) break;
    i++;
  }
  if (i < n || first.wire.length !== second.wire.length) {
    findings.push(
      `first difference at wire byte ${i} (of ${first.wire.length} and ${second.wire.length})`,
    );
  } else if (first.events !== second.events || first.virtualTime !== second.virtualTime) {
    findings.push(
      `same wire, but ${first.events} vs ${second.events} events, ended at ${first.virtualTime} vs ${second.virtualTime} ns`,
    );
  } else {
    findings.push("same wire; the deliveries, loss counters or event logs differ");
  }
  return verdict("determinism", findings, []);
}

/**
 * Progress (oracle 4): every guest that wrote gets bytes on the wire; the scenario's
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
      `${g.name}: first byte at ${fmt(m.firstByteAt)} (${fmt(m.timeToFirstByte)} after the trace's first output), longest gap ${fmt(m.longestGap)}, ${m.bytesOnWire}/${m.bytesWritten} bytes out`,
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
        `${g.name}: first byte at ${fmt(m.firstByteAt)}, expected before ${e.firstByteBefore} s`,
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
  return verdict("progress", findings, notes);
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
    const others = integrity({ ...run, guests: run.guests.filter((g) => g.hostile !== true) });
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
    const reference =
      run.profile === "reference" && w.producer.endsWith("console")
        ? " (libvmm's console ignores the TX-channel signal under reference, virtio §4.8 L13)"
        : "";
    findings.push(
      w.need <= w.free
        ? `${where}: the space exists and nothing will wake it (lost wake-up)${reference}`
        : `${where}: the consumer was not asked to signal and will not wake it${reference}`,
    );
  }
  if (run.waits.length === 0) notes.push("no producer was waiting for a signal at the end");
  return verdict("wakeups", findings, notes);
}

/** One perturbed run of {@link exploreWakeups}. */
export interface ExploredRun {
  /** The schedule seed (`RunOptions.schedule.seed`). */
  readonly seed: number;
  readonly verdict: Verdict;
}

export interface ExploreOptions extends Pick<RunOptions, "variants"> {
  /** Number of perturbed runs. */
  readonly runs: number;
  /** First schedule seed (default 1); run `i` uses `firstSeed + i`. */
  readonly firstSeed?: number;
  /** Cost-model spread (default 0.9, {@link SchedulePerturbation}). */
  readonly spread?: number;
  /** Stop at the first violation (default true). */
  readonly stopAtFirst?: boolean;
}

/**
 * Explore interleavings for oracle 7: rerun the scenario with `runs` schedule perturbations
 * (seeded cost-model jitter, {@link SchedulePerturbation}) and judge each run's end. Returns
 * every run judged, the violating ones first found last when `stopAtFirst`.
 */
export function exploreWakeups(scenario: Scenario, options: ExploreOptions): ExploredRun[] {
  const out: ExploredRun[] = [];
  const first = options.firstSeed ?? 1;
  for (let i = 0; i < options.runs; i++) {
    const seed = first + i;
    const run = runScenario(scenario, {
      ...(options.variants === undefined ? {} : { variants: options.variants }),
      schedule: { seed, ...(options.spread === undefined ? {} : { spread: options.spread }) },
    });
    const verdict = wakeups(run);
    out.push({ seed, verdict });
    if (!verdict.ok && (options.stopAtFirst ?? true)) break;
  }
  return out;
}

/**
 * The explored runs as one `wakeups` judgement (for `vmmux check --explore n`): a violation
 * names the schedule seed that strands a producer, so the run can be replayed
 * (`runScenario(scenario, { schedule: { seed } })`).
 */
export function judgeExplored(explored: readonly ExploredRun[], expect?: Expectations): Judgement {
  const findings: string[] = [];
  for (const r of explored)
    for (const f of r.verdict.findings) findings.push(`schedule seed ${r.seed}: ${f}`);
  const first = explored[0]?.seed;
  const last = explored.at(-1)?.seed;
  const notes = [
    first === undefined
      ? "no schedule explored"
      : `${explored.length} perturbed schedule(s) judged (seeds ${first}..${last})`,
  ];
  const v = verdict("wakeups", findings, notes);
  const expected = expect?.oracles?.wakeups ?? "pass";
  return { verdict: v, expected, asExpected: v.ok === (expected === "pass") };
}

/** One oracle's verdict against the scenario's expectation of it. */
export interface Judgement {
  readonly verdict: Verdict;
  readonly expected: "pass" | "violation";
  /** The verdict is what the scenario expects (an expected violation is a finding). */
  readonly asExpected: boolean;
}

/** Run every oracle over `run` (and `rerun` for determinism) and judge against `expect`. */
export function judge(run: RunResult, rerun: RunResult, expect?: Expectations): Judgement[] {
  const verdicts = [
    integrity(run),
    routing(run),
    interleaving(run),
    determinism(run, rerun),
    progress(run, expect),
    isolation(run),
    wakeups(run),
  ];
  return verdicts.map((v) => {
    const expected = expect?.oracles?.[v.oracle] ?? "pass";
    return { verdict: v, expected, asExpected: v.ok === (expected === "pass") };
  });
}
