/**
 * The oracles the serial-only system supports (DESIGN.md "Oracles" 1, 2, 4, 5), each a
 * pure function over finished runs, shared by `vmmux check`, the unit tests and the
 * property suites. A verdict lists findings in words a person can act on.
 */
import { ORIGIN_KEYBOARD, ORIGIN_VIRTUALISER, tagOrigin, tagSeq } from "@vmmux/sddf-queues";
import { guestMetrics } from "./metrics.js";
import type { GuestRun, RunResult } from "./run.js";
import type { Expectations, OracleName } from "./scenario.js";

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
  ];
  return verdicts.map((v) => {
    const expected = expect?.oracles?.[v.oracle] ?? "pass";
    return { verdict: v, expected, asExpected: v.ok === (expected === "pass") };
  });
}
