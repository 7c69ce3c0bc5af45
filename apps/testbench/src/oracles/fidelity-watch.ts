/**
 * Fidelity of trace-driven guests, watched as the wire goes (issue 13 item 2): each guest's
 * bytes on the wire, taken by provenance, must be its trace's output bytes in order, plus the
 * echo its input mode adds; and a guest that replays its recorded typing (`input: "trace"`)
 * must be typed its trace's input. State per guest is a position in its trace, a counter and
 * the last few bytes (for context): bounded however long the run.
 */
import { tagOrigin } from "@vmmux/sddf-queues";
import type { Scenario } from "../scenario.js";

const CONTEXT = 24;
const encoder = new TextEncoder();

/** What one guest's wire bytes and typing are held to. */
interface Judged {
  readonly name: string;
  /** The trace's output bytes; null when the guest is not judged (hostile, client PD). */
  readonly expected: Uint8Array | null;
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

export class FidelityWatch {
  private readonly pos: number[];
  private readonly seen: number[];
  private readonly echoed: number[];
  private readonly recent: number[][];
  private readonly mismatch: (FidelityMismatch | null)[];

  constructor(private readonly guests: readonly Judged[]) {
    this.pos = guests.map(() => 0);
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
          expected: skipped === null ? encoder.encode(out.join("")) : null,
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
    if (g === undefined || g.expected === null || this.mismatch[k] !== null) return;
    const expected = g.expected;
    const pos = this.pos[k]!;
    const recent = this.recent[k]!;
    const index = this.seen[k]!;
    this.seen[k] = index + 1;
    if (pos < expected.length && expected[pos] === byte) this.pos[k] = pos + 1;
    else if (pos >= expected.length && g.shellAfter) {
      // The guest's shell after the trace: not the trace's business.
    } else if (g.echoAllowed) this.echoed[k]! += 1;
    else
      this.mismatch[k] = {
        index,
        actual: byte,
        expected: pos < expected.length ? expected[pos]! : null,
        before: Uint8Array.from(recent),
        traceAhead: expected.slice(pos, pos + CONTEXT),
      };
    recent.push(byte);
    if (recent.length > CONTEXT) recent.shift();
  }

  finish(): GuestFidelity[] {
    return this.guests.map((g, k) => ({
      name: g.name,
      skipped: g.skipped,
      matched: this.pos[k]!,
      traceBytes: g.expected?.length ?? 0,
      echoed: this.echoed[k]!,
      mismatch: this.mismatch[k]!,
      echoAllowed: g.echoAllowed,
      doubled: g.doubled,
      typing: g.typing,
    }));
  }
}
