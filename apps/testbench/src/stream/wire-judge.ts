/**
 * The integrity and interleaving oracles' state (DESIGN.md oracles 1 and 3), kept as the wire
 * goes so a run need not keep its wire for them: per guest a cursor into what it wrote, counts,
 * the first findings (a verdict shows ten), and the lines other guests split. `oracles/wire.ts`
 * turns it into the same verdicts its post-run reading of a kept wire gives.
 *
 * A wire byte is matched against the guest's transcript as written so far. When it is found
 * there, the post-run search over the whole transcript finds the same position (the search is
 * "first at or after the cursor"). When it is not (a byte the guest never wrote, a repeat, a
 * tag far ahead), the origin's remaining bytes are kept and matched after the run against the
 * whole transcript: exact, and costly only for a broken stream.
 */
import { ORIGIN_VIRTUALISER, tagOrigin, tagSeq } from "@vmmux/sddf-queues";
import type { Scenario } from "../scenario.js";

/** A guest's transcript as it grows (what it handed to its console path so far). */
export interface WrittenView {
  readonly length: number;
  byteAt(i: number): number;
  tagAt(i: number): number;
}

/** Findings a verdict shows (oracles/verdict.ts); more are only counted. */
export const KEPT = 10;
/** Positions searched ahead of a cursor before the origin's bytes are left for after the run. */
const AHEAD = 4096;

/** A wire byte kept with its index. */
export interface KeptByte {
  readonly index: number;
  readonly byte: number;
  readonly tag: number;
}

/** A mismatch found while streaming: the written byte at `at` differs from the wire's. */
export interface Mismatch {
  readonly index: number;
  readonly at: number;
  readonly wire: number;
  readonly written: number;
}

/** A gap in a guest's stream: bytes `from..to-1` missing before wire byte `index`. */
export interface GapSite {
  readonly index: number;
  readonly from: number;
  readonly to: number;
}

/** Growable columns of wire bytes (index, value, tag): an origin's bytes left for after the run. */
class ByteColumns {
  length = 0;
  private index = new Float64Array(64);
  private bytes = new Uint8Array(64);
  private tags = new Uint32Array(64);

  push(index: number, byte: number, tag: number): void {
    if (this.length === this.bytes.length) {
      const grow = <T extends Float64Array | Uint8Array | Uint32Array>(
        a: T,
        make: (n: number) => T,
      ) => {
        const b = make(a.length * 2);
        b.set(a);
        return b;
      };
      this.index = grow(this.index, (n) => new Float64Array(n));
      this.bytes = grow(this.bytes, (n) => new Uint8Array(n));
      this.tags = grow(this.tags, (n) => new Uint32Array(n));
    }
    this.index[this.length] = index;
    this.bytes[this.length] = byte;
    this.tags[this.length] = tag;
    this.length++;
  }

  at(i: number): KeptByte {
    return { index: this.index[i]!, byte: this.bytes[i]!, tag: this.tags[i]! };
  }
}

/** One provenance origin's integrity state. */
export class OriginJudge {
  /** Wire bytes with this origin. */
  count = 0;
  /** The first {@link KEPT} of them (a guest left out of a judgement: "no guest's"). */
  readonly first: KeptByte[] = [];
  /** Next position expected in the transcript. */
  next = 0;
  gaps = 0;
  /** The first three gaps (the verdict quotes three). */
  readonly gapSites: GapSite[] = [];
  readonly mismatches: Mismatch[] = [];
  mismatchCount = 0;
  /** Bytes from the first one not found in the transcript so far on; null: none. */
  deferred: ByteColumns | null = null;

  constructor(readonly written: WrittenView | null) {}

  push(index: number, byte: number, tag: number): void {
    if (this.count < KEPT) this.first.push({ index, byte, tag });
    this.count++;
    const written = this.written;
    if (written === null) return;
    if (this.deferred !== null) {
      this.deferred.push(index, byte, tag);
      return;
    }
    const from = this.next;
    const stop = Math.min(written.length, from + AHEAD);
    let at = -1;
    for (let p = from; p < stop; p++) {
      if (written.tagAt(p) === tag) {
        at = p;
        break;
      }
    }
    if (at < 0) {
      this.deferred = new ByteColumns();
      this.deferred.push(index, byte, tag);
      return;
    }
    const was = written.byteAt(at);
    if (was !== byte) {
      if (this.mismatches.length < KEPT)
        this.mismatches.push({ index, at, wire: byte, written: was });
      this.mismatchCount++;
    }
    if (at > from) {
      this.gaps += at - from;
      if (this.gapSites.length < 3) this.gapSites.push({ index, from, to: at });
    }
    this.next = at + 1;
  }

  /** The deferred bytes, in wire order. */
  *kept(): Generator<KeptByte> {
    const d = this.deferred;
    if (d === null) return;
    for (let i = 0; i < d.length; i++) yield d.at(i);
  }
}

/** A line split by another guest's byte, before its length is known. */
export interface OpenSplit {
  readonly origin: number;
  readonly seq: number;
  readonly at: number;
}

export class WireJudge {
  /** Wire characters so far. */
  total = 0;
  private readonly origins = new Map<number, OriginJudge>();
  private readonly guests: ReadonlySet<number>;
  /** Per guest origin: seq of its last wire byte while its line is open, else undefined. */
  private readonly open = new Map<number, number | undefined>();
  readonly splits: OpenSplit[] = [];

  /**
   * `written` per guest origin: its transcript as it grows, or null for a guest whose bytes
   * are counted, not matched (a hostile guest).
   */
  constructor(written: ReadonlyMap<number, WrittenView | null>) {
    this.guests = new Set(written.keys());
    for (const [origin, view] of written) this.origins.set(origin, new OriginJudge(view));
  }

  push(byte: number, tag: number): void {
    const i = this.total++;
    const origin = tagOrigin(tag);
    if (origin === ORIGIN_VIRTUALISER) return;
    let judge = this.origins.get(origin);
    if (judge === undefined) {
      judge = new OriginJudge(null);
      this.origins.set(origin, judge);
    }
    judge.push(i, byte, tag);
    if (!this.guests.has(origin)) return;
    for (const [other, seq] of this.open) {
      if (other === origin || seq === undefined) continue;
      this.splits.push({ origin: other, seq, at: i });
      this.open.set(other, undefined);
    }
    this.open.set(origin, byte === 0x0a ? undefined : tagSeq(tag));
  }

  /** Origins seen on the wire (and every guest's), in the order first met. */
  judges(): ReadonlyMap<number, OriginJudge> {
    return this.origins;
  }

  /** The origins whose transcripts were matched as the run went. */
  matched(origin: number): boolean {
    return this.origins.get(origin)?.written != null;
  }
}

/**
 * The judge of a run of `scenario` whose k-th guest is `built[k]` (origin `k + 1`), or null
 * when a guest that is judged cannot show what it has written so far. A hostile guest's bytes
 * are counted, not matched (integrity does not judge them).
 */
export function wireJudgeOf(
  scenario: Pick<Scenario, "guests">,
  built: readonly { readonly written?: WrittenView }[],
): WireJudge | null {
  const written = new Map<number, WrittenView | null>();
  for (const [k, g] of scenario.guests.entries()) {
    if (g.kind === "vm" && g.workload === "hostile") {
      written.set(k + 1, null);
      continue;
    }
    const view = built[k]?.written;
    if (view === undefined) return null;
    written.set(k + 1, view);
  }
  return new WireJudge(written);
}
