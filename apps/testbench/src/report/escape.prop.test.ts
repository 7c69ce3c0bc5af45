/**
 * Property: `TerminalControlStripper` fed a text in any pieces gives exactly
 * `stripTerminalControls` of the whole text, for text dense in the bytes its passes look at
 * (ESC, `[`, `]`, `\`, BEL, CR, LF, parameter, intermediate and final bytes) and for arbitrary
 * code units, surrogates included.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { stripTerminalControls, TerminalControlStripper } from "./escape.js";

const RUNS = Number(process.env.VMMUX_PROP_RUNS ?? 200);
const SEED = 20261208;

/** Fragments of escape sequences, whole and broken, mixed with single code units. */
const terminalText = fc
  .array(
    fc.oneof(
      fc.constantFrom(
        "\u001b",
        "[",
        "]",
        "\\",
        "\u0007",
        "\r",
        "\n",
        "0",
        ";",
        "?",
        " ",
        "/",
        "@",
        "A",
        "Z",
        "_",
        "m",
        "~",
        "\u001b[",
        "\u001b]",
        "\u001b\\",
        "\u001b[1;32m",
        "\u001b[?25l",
        "\u001b]0;title\u0007",
        "\r\r\n",
        "\ud83d\ude00",
        "\ud800",
      ),
      fc.string({ unit: "binary", maxLength: 3 }),
    ),
    { maxLength: 40 },
  )
  .map((parts) => parts.join(""));

/** `text` cut at `cuts` (positions taken modulo its length). */
function pieces(text: string, cuts: readonly number[]): string[] {
  const at = [...new Set(cuts.map((c) => (text.length === 0 ? 0 : c % (text.length + 1))))];
  at.sort((a, b) => a - b);
  const out: string[] = [];
  let from = 0;
  for (const c of at) {
    out.push(text.slice(from, c));
    from = c;
  }
  out.push(text.slice(from));
  return out;
}

function streamed(parts: readonly string[]): string {
  const stripper = new TerminalControlStripper();
  let out = "";
  for (const part of parts) out += stripper.push(part);
  return out + stripper.end();
}

describe("TerminalControlStripper", () => {
  it("gives stripTerminalControls of the whole text however it is cut", () => {
    fc.assert(
      fc.property(terminalText, fc.array(fc.nat(), { maxLength: 8 }), (text, cuts) => {
        expect(streamed(pieces(text, cuts))).toBe(stripTerminalControls(text));
      }),
      { numRuns: RUNS, seed: SEED },
    );
  });

  it("gives it one code unit at a time and for every pair of code units after ESC", () => {
    fc.assert(
      fc.property(terminalText, (text) => {
        expect(streamed([...text.split("")])).toBe(stripTerminalControls(text));
      }),
      { numRuns: RUNS, seed: SEED },
    );
    // Every code unit that may end or continue a sequence, after each way one may start.
    for (const start of [
      "\u001b",
      "\u001b[",
      "\u001b[1",
      "\u001b[1 ",
      "\u001b]x",
      "\u001b]x\u001b",
      "\r",
      "\r\r",
    ]) {
      for (let unit = 0; unit < 0x100; unit++) {
        const text = `a${start}${String.fromCharCode(unit)}b\u001b`;
        expect(streamed([text])).toBe(stripTerminalControls(text));
      }
    }
  });

  it("holds back no more than an open sequence", () => {
    const stripper = new TerminalControlStripper();
    expect(stripper.push("ok\u001b[1;3")).toBe("ok");
    expect(stripper.push("2mgreen\r")).toBe("green");
    expect(stripper.push("\r\nend")).toBe("\nend");
    expect(stripper.end()).toBe("");
  });
});
