/**
 * The oracles that read the wire against what the guests wrote (DESIGN.md oracles 1, 3, 5):
 * integrity, interleaving (with the split lines it counts) and determinism.
 */
import { ORIGIN_VIRTUALISER, tagOrigin, tagSeq } from "@vmmux/sddf-queues";
import type { GuestRun, RunResult } from "../run.js";
import { wireJudge, wireStats, wireView } from "../stream/streamed.js";
import { show, type Verdict, verdict } from "./verdict.js";
import { streamedIntegrity, streamedSplitLines } from "./wire-streamed.js";

/** Positions searched linearly ahead of a stream's next expected byte before the full index. */
const SCAN = 4096;

/**
 * Finds wire bytes in what guests wrote (their whole transcripts): `find` gives the first
 * position at or after `from` where the guest wrote `tag`; `positionsOf` every position of each
 * tag (a tag may repeat, e.g. CR+LF), built only when a byte is not found near where the
 * guest's stream has got to.
 */
export function transcriptSearch() {
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
  const find = (guest: GuestRun, tag: number, from: number): number | undefined => {
    const tags = guest.enqueuedTags;
    const stop = Math.min(tags.length, from + SCAN);
    for (let p = from; p < stop; p++) if (tags[p] === tag) return p;
    if (stop === tags.length) return undefined;
    return positionsOf(guest)
      .get(tag)
      ?.find((p) => p >= from);
  };
  return { positionsOf, find };
}

/** What one of a guest's wire bytes says about its stream (integrity's step). */
export interface ByteJudgement {
  /** A violation, if any. */
  readonly finding?: string;
  /** Where the byte was found; its stream continues after it (absent: not found). */
  readonly at?: number;
  /** Bytes skipped before it, and where (a gap). */
  readonly gap?: number;
  readonly gapSite?: string;
}

/** Judge wire byte `i` of `guest` (`expected`: its stream's next position). */
export function judgeByte(
  search: ReturnType<typeof transcriptSearch>,
  guest: GuestRun,
  i: number,
  w: { readonly byte: number; readonly tag: number },
  expected: number,
): ByteJudgement {
  const at = search.find(guest, w.tag, expected);
  if (at === undefined) {
    const candidates = search.positionsOf(guest).get(w.tag);
    return {
      finding:
        candidates === undefined
          ? `${guest.name}: wire byte ${i} claims byte #${tagSeq(w.tag)}, which it never wrote (it wrote ${guest.enqueued.length})`
          : `${guest.name}: byte #${candidates[0]} appears again or out of order at wire byte ${i} (expected #${expected} or later)`,
    };
  }
  return {
    at,
    ...(guest.enqueued[at] !== w.byte
      ? {
          finding: `${guest.name}: byte #${at} left the wire as ${show(w.byte)} but was written as ${show(guest.enqueued[at]!)}`,
        }
      : {}),
    ...(at > expected
      ? {
          gap: at - expected,
          gapSite: `${guest.name}: byte(s) #${expected}..#${at - 1} missing before wire byte ${i}`,
        }
      : {}),
  };
}

/** Integrity's closing part: T7 against the gaps, hostile bytes, and each stream's tail. */
export function integrityTail(
  run: RunResult,
  guests: readonly GuestRun[],
  counts: {
    readonly gaps: number;
    readonly gapSites: readonly string[];
    readonly hostileBytes: number;
    readonly next: ReadonlyMap<number, number>;
  },
): { findings: string[]; notes: string[] } {
  const findings: string[] = [];
  const notes: string[] = [];
  const { gaps, gapSites, hostileBytes, next } = counts;
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
  for (const g of guests) {
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
  return { findings, notes };
}

/**
 * Integrity (oracle 1): per guest, the wire bytes attributed to it by provenance are the
 * bytes it wrote (matched by tag and value), in order, each once. Bytes may be missing only where a documented
 * loss point counted them: T7 drops inside the stream; at the end, text never flushed
 * (T3), a T4 stall, or bytes still in flight when the duration limit stopped the run. `guests`
 * limits the judgement to some guests (the others' bytes are then no guest's).
 * Judged as the run went when it did (`RunOptions.judgeWire`), else from its kept wire.
 */
export function integrity(run: RunResult, guests: readonly GuestRun[] = run.guests): Verdict {
  const judged = wireJudge(run);
  return judged === undefined
    ? integrityOfWire(run, guests)
    : streamedIntegrity(run, guests, judged);
}

/** Integrity read from the run's kept wire (what the streamed judgement must equal). */
export function integrityOfWire(run: RunResult, guests: readonly GuestRun[] = run.guests): Verdict {
  const findings: string[] = [];
  const byOrigin = new Map(guests.map((g) => [g.origin, g]));
  const search = transcriptSearch();
  const next = new Map<number, number>();
  /** A hostile guest writes no stream to compare with; its bytes are counted, not judged. */
  let hostileBytes = 0;
  let gaps = 0;
  const gapSites: string[] = [];
  const wire = wireView(run);
  for (let i = 0; i < wire.length; i++) {
    const w = { byte: wire.byte(i), tag: wire.tag(i) };
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
    const j = judgeByte(search, guest, i, w, expected);
    if (j.finding !== undefined) findings.push(j.finding);
    if (j.at === undefined) continue;
    if (j.gap !== undefined) {
      gaps += j.gap;
      gapSites.push(j.gapSite!);
    }
    next.set(origin, j.at + 1);
  }
  const tail = integrityTail(run, guests, { gaps, gapSites, hostileBytes, next });
  findings.push(...tail.findings);
  return verdict("integrity", findings, tail.notes);
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
  const judged = wireJudge(run);
  return judged === undefined ? splitLinesOfWire(run) : streamedSplitLines(run, judged);
}

/** {@link splitLines} read from the run's kept wire. */
export function splitLinesOfWire(run: RunResult): SplitLine[] {
  const byOrigin = new Map(run.guests.map((g) => [g.origin, g]));
  /** Per origin: seq of its last wire byte while its line is open, else undefined. */
  const open = new Map<number, number | undefined>();
  const out: SplitLine[] = [];
  const wire = wireView(run);
  for (let i = 0; i < wire.length; i++) {
    const w = { byte: wire.byte(i), tag: wire.tag(i) };
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

export function lineLength(bytes: Uint8Array, seq: number): number {
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
  const [x, y] = [wireView(first), wireView(second)];
  const [lx, ly] = [wireStats(first).total, wireStats(second).total];
  const kept = first.wireKept !== false && second.wireKept !== false;
  const n = kept ? Math.min(x.length, y.length) : 0;
  let i = 0;
  while (i < n) {
    if (x.byte(i) !== y.byte(i) || x.tag(i) !== y.tag(i) || x.end(i) !== y.end(i)) break;
    i++;
  }
  if (kept && (i < n || lx !== ly)) {
    findings.push(`first difference at wire byte ${i} (of ${lx} and ${ly})`);
  } else if (lx !== ly) {
    findings.push(`${lx} vs ${ly} wire bytes (one run kept no wire to compare byte by byte)`);
  } else if (first.events !== second.events || first.virtualTime !== second.virtualTime) {
    findings.push(
      `same wire, but ${first.events} vs ${second.events} events, ended at ${first.virtualTime} vs ${second.virtualTime} ns`,
    );
  } else {
    findings.push("same wire; the deliveries, loss counters or event logs differ");
  }
  return verdict("determinism", findings, []);
}
