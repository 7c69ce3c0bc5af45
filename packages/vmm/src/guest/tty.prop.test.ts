/**
 * Echo consistency of canonical mode (termios ICANON|ECHO|ECHOE|ECHOK|ECHOKE, OPOST|ONLCR):
 * for any typed input, what the echo paints on a terminal after a prompt is the prompt and the
 * completed lines, one per row, then the line being edited — erase and kill never reach
 * into the prompt or a finished line.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { EraseBeyondLineTty } from "../testing/planted.js";
import { BACKSPACE, ERASE, KILL, onlcrBytes, Tty } from "./tty.js";

const numRuns = Number(process.env.VMMUX_PROP_RUNS ?? 200);
const seed = 0x77_0001;
const PROMPT = "$ ";

/** A dumb terminal: printable bytes overwrite, BS moves left, CR to column 0, LF down. */
function render(bytes: readonly number[]): string[] {
  const rows: string[][] = [[]];
  let col = 0;
  for (const b of bytes) {
    const row = rows[rows.length - 1]!;
    if (b === 0x08) col = Math.max(0, col - 1);
    else if (b === 0x0d) col = 0;
    else if (b === 0x0a) rows.push([]);
    else {
      row[col] = String.fromCharCode(b);
      col++;
    }
  }
  return rows.map((r) =>
    Array.from(r, (c) => c ?? " ")
      .join("")
      .trimEnd(),
  );
}

const keys = fc.array(
  fc.oneof(
    fc.constantFrom("a", "b", "z", " ", "1"),
    fc.constantFrom(
      String.fromCharCode(ERASE),
      String.fromCharCode(BACKSPACE),
      String.fromCharCode(KILL),
    ),
    fc.constantFrom("\r", "\n"),
  ),
  { maxLength: 40 },
);

function echoMatchesLines(make: () => Tty, typed: readonly string[]): boolean {
  const tty = make();
  const screen = [...PROMPT].map((c) => c.charCodeAt(0));
  for (const key of typed) screen.push(...onlcrBytes(tty.input(new TextEncoder().encode(key))));
  const lines: string[] = [];
  for (let l = tty.readLine(); l !== undefined; l = tty.readLine()) lines.push(l);
  const expected = [...lines, tty.line].map((l) => l.trimEnd());
  expected[0] = `${PROMPT}${expected[0]}`.trimEnd();
  const shown = render(screen);
  return shown.length === expected.length && shown.every((row, i) => row === expected[i]);
}

describe("tty echo", () => {
  it("paints exactly the prompt, the completed lines and the pending line", () => {
    fc.assert(
      fc.property(keys, (typed) => echoMatchesLines(() => new Tty(), typed)),
      { numRuns, seed },
    );
  });

  it("catches the planted tty whose erase on an empty line rubs out the prompt", () => {
    const result = fc.check(
      fc.property(keys, (typed) => echoMatchesLines(() => new EraseBeyondLineTty(), typed)),
      { numRuns, seed },
    );
    expect(result.failed).toBe(true);
  });
});
