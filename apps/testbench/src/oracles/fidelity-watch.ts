/**
 * Fidelity of trace-driven guests, watched as the wire goes (issue 13 item 2): each guest's
 * bytes on the wire, taken by provenance, must be its trace's output bytes in order, plus the
 * echo its input mode adds; and a guest that replays its recorded typing (`input: "trace"`)
 * must be typed its trace's input. State per guest is a cursor in its trace (an event and a
 * byte in it, each event encoded when the cursor reaches it, as the guest encodes it when it
 * prints it), a counter and the last few bytes (for context): bounded however long the run.
 */
import { tagOrigin } from "@vmmux/sddf-queues";
import type { Scenario } from "../scenario.js";

const CONTEXT = 24;
const encoder = new TextEncoder();

/** What one guest's wire bytes and typing are held to. */
interface Judged {
  readonly name: string;
  /** The trace's output, event by event; null when the guest is not judged (hostile, client PD). */
  readonly expected: readonly string[] | null;
  /** The guest echoes typed bytes and its recorded typing is not replayed: echo may interleave. */
  readonly echoAllowed: boolean;
  /** Echo mode on a replayed recording that holds its echo. */
  readonly doubled: boolean;
  /** Bytes after the whole trace are the guest's shell (`thenShell`), not judged. */
  readonly shellAfter: boolean;
  /** Its recorded typing with each byte's time (ns), when it replays it (`input: "trace"`). */
  readonly typing: { readonly bytes: Uint8Array; readonly lastAt: number } | null;
  /** Why it is not judged, in words. */
  readonly skipped: string | null;
}

/** The first wire byte of a guest that its trace does not explain. */
export interface FidelityMismatch {
  /** 0-based index among the guest's bytes on the wire. */
  readonly index: number;
  readonly actual: number;
  /** The trace's byte there (null: past the trace's end). */
  readonly expected: number | null;
  /** The guest's wire bytes before it, at most 24. */
  readonly before: Uint8Array;
  /** The trace's bytes from there on, at most 24. */
  readonly traceAhead: Uint8Array;
}

/** One guest's fidelity at the end of a run. */
export interface GuestFidelity {
  readonly name: string;
  readonly skipped: string | null;
  /** Trace output bytes matched on the wire, of `traceBytes`. */
  readonly matched: number;
  readonly traceBytes: number;
  /** Wire bytes taken as the echo the input mode adds. */
  readonly echoed: number;
  readonly mismatch: FidelityMismatch | null;
  readonly echoAllowed: boolean;
  /** The guest echoes the recorded typing that the recording already shows echoed. */
  readonly doubled: boolean;
  /** The trace's typing (bytes) and the time of its last byte (ns); null when not replayed. */
  readonly typing: { readonly bytes: Uint8Array; readonly lastAt: number } | null;
}

/** Where a guest's wire bytes have got to in its trace's output. */
class TraceCursor {
  /** Output bytes matched so far. */
  pos = 0;
  /** Output bytes in the whole trace. */
  readonly length: number;
  private event = -1;
  private bytes = new Uint8Array(0);
  private offset = 0;

  constructor(private readonly events: readonly string[]) {
    this.length = events.reduce((n, e) => n + utf8Length(e), 0);
    this.skipEmpty();
  }

  /** The trace's byte at the cursor (undefined: past its end). */
  get current(): number | undefined {
    return this.bytes[this.offset];
  }

  advance(): void {
    this.pos++;
    this.offset++;
    this.skipEmpty();
  }

  /** Up to `n` of the trace's bytes from the cursor on. */
  ahead(n: number): Uint8Array {
    const out: number[] = [];
    let bytes = this.bytes.subarray(this.offset);
    for (let e = this.event; out.length < n; ) {
      for (const b of bytes.subarray(0, n - out.length)) out.push(b);
      if (++e >= this.events.length) break;
      bytes = encoder.encode(this.events[e]);
    }
    return Uint8Array.from(out);
  }

  private skipEmpty(): void {
    while (this.offset >= this.bytes.length && this.event + 1 < this.events.length) {
      this.event++;
      this.bytes = encoder.encode(this.events[this.event]);
      this.offset = 0;
    }
  }
}

/** Bytes of `s` in UTF-8 as `TextEncoder` writes it (a lone surrogate as U+FFFD, 3 bytes). */
export function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c < 0xdc00 && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d < 0xe000) {
        n += 4;
        i++;
      } else n += 3;
    } else n += 3;
  }
  return n;
}

export class FidelityWatch {
  private readonly cursor: (TraceCursor | null)[];
  private readonly seen: number[];
  private readonly echoed: number[];
  private readonly recent: number[][];
  private readonly mismatch: (FidelityMismatch | null)[];

  constructor(private readonly guests: readonly Judged[]) {
    this.cursor = guests.map((g) => (g.expected === null ? null : new TraceCursor(g.expected)));
    this.seen = guests.map(() => 0);
    this.echoed = guests.map(() => 0);
    this.recent = guests.map(() => []);
    this.mismatch = guests.map(() => null);
  }

  /** Judges of `scenario`'s guests (guest k has provenance origin k + 1). */
  static of(scenario: Scenario): FidelityWatch {
    return new FidelityWatch(
      scenario.guests.map((g) => {
        const skipped =
          g.kind !== "vm"
            ? "an sDDF client prints through the putchar library, which adds bytes of its own"
            : g.workload === "hostile"
              ? "a hostile guest has no trace"
              : null;
        const typed = g.trace.events.filter((e) => e.code === "i");
        const shift = g.kind === "vm" ? g.boot : 0;
        const out = g.trace.events.filter((e) => e.code === "o").map((e) => e.data);
        return {
          name: g.name,
          expected: skipped === null ? out : null,
          echoAllowed: g.input === "echo" && g.replaysTyping !== true,
          doubled: g.input === "echo" && g.replaysTyping === true,
          shellAfter: g.kind === "vm" && g.thenShell,
          typing:
            g.replaysTyping === true
              ? {
                  bytes: encoder.encode(typed.map((e) => e.data).join("")),
                  lastAt: Math.round(((typed.at(-1)?.time ?? 0) + shift) * 1e9),
                }
              : null,
          skipped,
        };
      }),
    );
  }

  /** A byte that left the wire with provenance `tag`. */
  push(byte: number, tag: number): void {
    const k = tagOrigin(tag) - 1;
    const g = this.guests[k];
    const cursor = this.cursor[k];
    if (g === undefined || cursor == null || this.mismatch[k] !== null) return;
    const recent = this.recent[k]!;
    const index = this.seen[k]!;
    this.seen[k] = index + 1;
    const expected = cursor.current;
    if (expected === byte) cursor.advance();
    else if (expected === undefined && g.shellAfter) {
      // The guest's shell after the trace: not the trace's business.
    } else if (g.echoAllowed) this.echoed[k]! += 1;
    else
      this.mismatch[k] = {
        index,
        actual: byte,
        expected: expected ?? null,
        before: Uint8Array.from(recent),
        traceAhead: cursor.ahead(CONTEXT),
      };
    recent.push(byte);
    if (recent.length > CONTEXT) recent.shift();
  }

  finish(): GuestFidelity[] {
    return this.guests.map((g, k) => ({
      name: g.name,
      skipped: g.skipped,
      matched: this.cursor[k]?.pos ?? 0,
      traceBytes: this.cursor[k]?.length ?? 0,
      echoed: this.echoed[k]!,
      mismatch: this.mismatch[k]!,
      echoAllowed: g.echoAllowed,
      doubled: g.doubled,
      typing: g.typing,
    }));
  }
}
