/**
 * Per-origin numbers of the wire, accumulated character by character as the run goes (state:
 * a few numbers per provenance origin), from which `metrics.ts` builds the report's figures.
 */
import { ORIGIN_KEYBOARD, ORIGIN_VIRTUALISER, tagOrigin, tagSeq } from "@vmmux/sddf-queues";
import type { WireView } from "./wire-store.js";

/** What one origin's bytes did on the wire. */
export interface OriginStats {
  count: number;
  /** End of the first and last character, ns (NaN: none). */
  firstEnd: number;
  lastEnd: number;
  /** Longest time between two consecutive characters' ends, ns. */
  longestGap: number;
  /** Longest time from entering the serial TX queue to the end of the frame, ns (0: unknown). */
  maxLatency: number;
}

/** What an origin's characters count as. */
const GUEST = 0;
const VIRTUALISER = 1;
const UNATTRIBUTED = 2;

/** When byte `seq` of `origin` entered its serial TX queue, ns (undefined: not recorded). */
export type EnqueueTimeOf = (origin: number, seq: number) => number | undefined;

export class WireStats {
  private readonly byOrigin = new Map<number, OriginStats>();
  private readonly guestOrigins: ReadonlySet<number>;
  /** Wire characters in all. */
  total = 0;
  /** Characters the virtualisers added (begin string, colour codes). */
  virtualiserBytes = 0;
  /** Characters whose provenance is no guest of the run (nor the virtualiser). */
  unattributedBytes = 0;
  /** The origin of the last character, its numbers and its class. */
  private lastOrigin = Number.NaN;
  private lastStats: OriginStats | undefined;
  private lastClass = GUEST;

  constructor(
    guestOrigins: Iterable<number>,
    private readonly enqueueTimeOf: EnqueueTimeOf = () => undefined,
  ) {
    this.guestOrigins = new Set(guestOrigins);
  }

  /** Feed every character of a stored wire. */
  static of(
    wire: WireView,
    guestOrigins: Iterable<number>,
    enqueueTimeOf?: EnqueueTimeOf,
  ): WireStats {
    const stats = new WireStats(guestOrigins, enqueueTimeOf);
    for (let i = 0; i < wire.length; i++) stats.push(wire.tag(i), wire.end(i));
    return stats;
  }

  /** One character left the wire at `end` ns. */
  push(tag: number, end: number): void {
    this.total++;
    const origin = tagOrigin(tag);
    // Runs of one origin are the rule: its numbers and class are kept at hand.
    if (origin !== this.lastOrigin) this.select(origin);
    if (this.lastClass === VIRTUALISER) this.virtualiserBytes++;
    else if (this.lastClass === UNATTRIBUTED) this.unattributedBytes++;
    let s = this.lastStats;
    if (s === undefined) {
      s = { count: 0, firstEnd: end, lastEnd: end, longestGap: 0, maxLatency: 0 };
      this.byOrigin.set(origin, s);
      this.lastStats = s;
    } else {
      s.longestGap = Math.max(s.longestGap, end - s.lastEnd);
      s.lastEnd = end;
    }
    s.count++;
    const enqueuedAt = this.enqueueTimeOf(origin, tagSeq(tag));
    if (enqueuedAt !== undefined) s.maxLatency = Math.max(s.maxLatency, end - enqueuedAt);
  }

  private select(origin: number): void {
    this.lastOrigin = origin;
    this.lastStats = this.byOrigin.get(origin);
    this.lastClass =
      origin === ORIGIN_VIRTUALISER
        ? VIRTUALISER
        : !this.guestOrigins.has(origin) || origin === ORIGIN_KEYBOARD
          ? UNATTRIBUTED
          : GUEST;
  }

  origin(origin: number): OriginStats {
    return (
      this.byOrigin.get(origin) ?? {
        count: 0,
        firstEnd: Number.NaN,
        lastEnd: Number.NaN,
        longestGap: 0,
        maxLatency: 0,
      }
    );
  }
}
