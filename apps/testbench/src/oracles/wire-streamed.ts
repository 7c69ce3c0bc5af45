/**
 * Integrity and the split lines from the state a run kept as its wire went
 * (`stream/wire-judge.ts`): the same findings, notes and order as `oracles/wire.ts` reading a
 * kept wire, from per-guest cursors, counts and the first findings (a verdict shows ten).
 */
import type { GuestRun, RunResult } from "../run.js";
import type { WireJudge } from "../stream/wire-judge.js";
import { countedVerdict, show, type Verdict } from "./verdict.js";
import { integrityTail, judgeByte, lineLength, type SplitLine, transcriptSearch } from "./wire.js";

interface Placed {
  readonly index: number;
  readonly text: string;
}

const byIndex = (a: Placed, b: Placed) => a.index - b.index;

export function streamedIntegrity(
  run: RunResult,
  guests: readonly GuestRun[],
  judge: WireJudge,
): Verdict {
  const byOrigin = new Map(guests.map((g) => [g.origin, g]));
  const search = transcriptSearch();
  /** The first findings of each origin, with their wire index; all of them counted. */
  const first: Placed[] = [];
  let count = 0;
  const sites: Placed[] = [];
  const next = new Map<number, number>();
  let hostileBytes = 0;
  let gaps = 0;
  for (const [origin, o] of judge.judges()) {
    const guest = byOrigin.get(origin);
    if (guest === undefined) {
      count += o.count;
      for (const b of o.first)
        first.push({
          index: b.index,
          text: `wire byte ${b.index} (${show(b.byte)}) has provenance 0x${b.tag.toString(16)}, which is no guest's`,
        });
      continue;
    }
    if (guest.hostile === true) {
      hostileBytes += o.count;
      continue;
    }
    if (o.written === null)
      throw new Error(`${guest.name}'s wire bytes were counted, not matched, during the run`);
    for (const m of o.mismatches)
      first.push({
        index: m.index,
        text: `${guest.name}: byte #${m.at} left the wire as ${show(m.wire)} but was written as ${show(m.written)}`,
      });
    count += o.mismatchCount;
    gaps += o.gaps;
    for (const s of o.gapSites)
      sites.push({
        index: s.index,
        text: `${guest.name}: byte(s) #${s.from}..#${s.to - 1} missing before wire byte ${s.index}`,
      });
    // Bytes not found in the transcript as it was then: matched against the whole of it.
    let expected = o.next;
    for (const b of o.kept()) {
      const j = judgeByte(search, guest, b.index, b, expected);
      if (j.finding !== undefined) {
        count++;
        first.push({ index: b.index, text: j.finding });
      }
      if (j.at === undefined) continue;
      if (j.gap !== undefined) {
        gaps += j.gap;
        sites.push({ index: b.index, text: j.gapSite! });
      }
      expected = j.at + 1;
    }
    next.set(origin, expected);
  }
  first.sort(byIndex);
  sites.sort(byIndex);
  const tail = integrityTail(run, guests, {
    gaps,
    gapSites: sites.map((s) => s.text),
    hostileBytes,
    next,
  });
  return countedVerdict(
    "integrity",
    [...first.map((f) => f.text), ...tail.findings],
    count + tail.findings.length,
    tail.notes,
  );
}

export function streamedSplitLines(run: RunResult, judge: WireJudge): SplitLine[] {
  const byOrigin = new Map(run.guests.map((g) => [g.origin, g]));
  return judge.splits.map((s) => {
    const g = byOrigin.get(s.origin)!;
    return { guest: g.name, seq: s.seq, at: s.at, length: lineLength(g.enqueued, s.seq) };
  });
}
