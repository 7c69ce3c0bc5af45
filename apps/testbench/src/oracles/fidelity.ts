/**
 * The fidelity oracle (issue 13 item 2): a trace-driven guest's bytes on the wire, by
 * provenance, are its trace's output in order plus the echo its input mode adds; the first
 * difference is shown with context. A guest that replays its recorded typing is typed all of it
 * that the run reached, and receives it in order.
 */
import type { RunResult } from "../run.js";
import { type Verdict, verdict } from "./verdict.js";

/** Bytes as a quoted string with control bytes escaped (`\r`, `\x1b`). */
export function quoted(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) {
    if (b === 0x0d) s += "\\r";
    else if (b === 0x0a) s += "\\n";
    else if (b === 0x22 || b === 0x5c) s += `\\${String.fromCharCode(b)}`;
    else if (b >= 0x20 && b < 0x7f) s += String.fromCharCode(b);
    else s += `\\x${b.toString(16).padStart(2, "0")}`;
  }
  return `"${s}"`;
}

/** Whether `prefix` is a prefix of `whole`. */
function isPrefix(prefix: readonly number[], whole: Uint8Array): boolean {
  return prefix.length <= whole.length && prefix.every((b, i) => whole[i] === b);
}

export function fidelity(run: RunResult): Verdict {
  const findings: string[] = [];
  const notes: string[] = [];
  for (const f of run.fidelity ?? []) {
    if (f.skipped !== null) {
      notes.push(`${f.name}: not judged (${f.skipped})`);
      continue;
    }
    const m = f.mismatch;
    if (m !== null) {
      const one = Uint8Array.of(m.actual);
      const doubled = f.doubled
        ? " (a doubled byte: its trace already holds the tty's echo, and its input mode echoes again)"
        : "";
      findings.push(
        `${f.name}: wire byte ${m.index} is ${quoted(one)} where its trace has ${m.expected === null ? "nothing more" : quoted(Uint8Array.of(m.expected))}${doubled}; after ${quoted(m.before)}, the trace goes on ${quoted(m.traceAhead)}`,
      );
    }
    notes.push(
      `${f.name}: ${f.matched}/${f.traceBytes} trace output bytes on the wire in order${f.echoAllowed ? `, ${f.echoed} byte(s) of echo` : ""}`,
    );
    const typing = f.typing;
    if (typing === null) continue;
    const g = run.guests.find((x) => x.name === f.name);
    if (g === undefined) continue;
    const got = [...g.received.map((r) => r.byte), ...g.rxPending.map((r) => r.byte)];
    if (!isPrefix(got, typing.bytes)) {
      const at = got.findIndex((b, i) => typing.bytes[i] !== b);
      findings.push(
        `${f.name}: typed byte ${at} it received is ${quoted(Uint8Array.of(got[at]!))}, its trace typed ${at < typing.bytes.length ? quoted(Uint8Array.of(typing.bytes[at]!)) : "nothing more"}`,
      );
    } else if (
      got.length < typing.bytes.length &&
      typing.lastAt < run.virtualTime &&
      run.keyboardInFlight === 0
    ) {
      findings.push(
        `${f.name}: its trace typed ${typing.bytes.length} byte(s) before the run ended and it was given ${got.length} (received or waiting in its RX queue)`,
      );
    }
    notes.push(
      `${f.name}: ${got.length}/${typing.bytes.length} of its recorded typing given to it`,
    );
  }
  return verdict("fidelity", findings, notes);
}
