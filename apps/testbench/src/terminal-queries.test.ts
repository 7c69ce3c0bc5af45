import fc from "fast-check";
import { describe, expect, test } from "vitest";
import {
  type QueryMode,
  querySummary,
  TerminalQueryFilter,
  TerminalSink,
} from "./terminal-queries.js";

function filtered(mode: QueryMode, ...chunks: string[]) {
  const filter = new TerminalQueryFilter(mode);
  let out = "";
  for (const c of chunks) out += filter.write(c);
  out += filter.end();
  return { out, filter };
}

const QUERIES = [
  "\x1b[6n", // DSR cursor position (what the recorded guests' shells send)
  "\x1b[5n",
  "\x1b[?6n",
  "\x1b[c",
  "\x1b[0c",
  "\x1b[>c",
  "\x1b[=c",
  "\x1b[>q",
  "\x1b[18t",
  "\x1b[?25$p",
  "\x1b[?u",
  "\x1b]11;?\x07",
  "\x1b]4;1;?\x1b\\",
  "\x1b]52;c;?\x07",
  "\x1bP$qm\x1b\\",
  "\x1bP+q544e\x1b\\",
  "\x1bZ",
  "\x05",
  "\x9b6n",
  "\x1b[?1000h",
  "\x1b[?1004h",
];

const HARMLESS = [
  "\x1b[31m",
  "\x1b[0m",
  "\x1b[2J",
  "\x1b[999;999H",
  "\x1b[r",
  "\x1b7",
  "\x1b8",
  "\x1b(B",
  "\x1b[?25l",
  "\x1b[?2004h",
  "\x1b[>4;1m",
  "\x1b[22t",
  "\x1b]0;title\x07",
  "\x1b]8;;http://x\x1b\\",
  "\x1bP1$r0m\x1b\\",
];

describe("TerminalQueryFilter", () => {
  test("drop: the recorded shells' resize probe loses only its cursor-position query", () => {
    const probe = "\x1b7\x1b[r\x1b[999;999H\x1b[6n\x1b8uname -a\r\n";
    const { out, filter } = filtered("drop", probe);
    expect(out).toBe("\x1b7\x1b[r\x1b[999;999H\x1b8uname -a\r\n");
    expect([...filter.counts]).toEqual([["^[[6n", 1]]);
  });

  test("show: a query becomes visible text in place; raw: bytes unchanged but counted", () => {
    expect(filtered("show", "a\x1b[6nb").out).toBe("a^[[6nb");
    const raw = filtered("raw", "a\x1b[6nb\x1b]11;?\x07");
    expect(raw.out).toBe("a\x1b[6nb\x1b]11;?\x07");
    expect(raw.filter.total).toBe(2);
  });

  test.each(QUERIES)("%j is a query", (q) => {
    const { out, filter } = filtered("drop", `x${q}y`);
    expect(out).toBe("xy");
    expect(filter.total).toBe(1);
  });

  test.each(HARMLESS)("%j is passed on", (s) => {
    const { out, filter } = filtered("drop", `x${s}y`);
    expect(out).toBe(`x${s}y`);
    expect(filter.total).toBe(0);
  });

  test("a DECSET that mixes reporting and other modes keeps the other modes", () => {
    const { out, filter } = filtered("drop", "\x1b[?25;1000;1006h");
    expect(out).toBe("\x1b[?25h");
    expect(filter.total).toBe(1);
  });

  test("a sequence split across writes is recognised; an unfinished one is passed on at the end", () => {
    expect(filtered("drop", "a\x1b", "[", "6", "nb").out).toBe("ab");
    expect(filtered("drop", "a\x1b]11", ";?", "\x1b", "\\b").out).toBe("ab");
    expect(filtered("drop", "a\x1b[6").out).toBe("a\x1b[6");
  });

  test("an over-long OSC string is passed on whole, not held", () => {
    const long = `\x1b]52;c;${"A".repeat(10_000)}\x07tail`;
    const { out, filter } = filtered("drop", long);
    expect(out).toBe(long);
    expect(filter.total).toBe(0);
  });

  test("the summary names the count, the forms and the flag", () => {
    const { filter } = filtered("drop", "\x1b[6n\x1b[6n\x1b[c");
    expect(querySummary(filter, "drop")).toBe(
      "3 terminal queries in the guests' output left out so your terminal does not answer into your shell (^[[6n x2, ^[[c); --queries raw keeps them",
    );
    expect(querySummary(filter, "raw")).toBeUndefined();
  });
});

/** Text made of plain characters, controls, harmless sequences and queries. */
const pieces = fc.array(
  fc.oneof(
    fc.string({ maxLength: 6 }),
    fc.constantFrom(...QUERIES, ...HARMLESS),
    fc.constantFrom("\x1b", "\x1b[", "\x1b]", "\x07", "\x9c", "\r\n", "\x1b\\"),
  ),
  { maxLength: 30 },
);

function chunked(text: string, cuts: readonly number[]): string[] {
  const at = [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((a, b) => a - b);
  const chunks: string[] = [];
  let from = 0;
  for (const c of at) {
    chunks.push(text.slice(from, c));
    from = c;
  }
  chunks.push(text.slice(from));
  return chunks;
}

describe("TerminalQueryFilter properties", () => {
  test("output and counts do not depend on how the text is cut into writes", () => {
    fc.assert(
      fc.property(
        pieces,
        fc.array(fc.nat(), { maxLength: 8 }),
        fc.constantFrom<QueryMode>("show", "drop", "raw"),
        (parts, cuts, mode) => {
          const text = parts.join("");
          const whole = filtered(mode, text);
          const split = filtered(mode, ...chunked(text, cuts));
          expect(split.out).toBe(whole.out);
          expect([...split.filter.counts]).toEqual([...whole.filter.counts]);
        },
      ),
    );
  });

  test("raw is the identity; drop leaves nothing a second pass would call a query", () => {
    fc.assert(
      fc.property(pieces, (parts) => {
        const text = parts.join("");
        expect(filtered("raw", text).out).toBe(text);
        const once = filtered("drop", text);
        const twice = filtered("drop", once.out);
        expect(twice.filter.total).toBe(0);
        expect(twice.out).toBe(once.out);
      }),
    );
  });
});

describe("TerminalSink", () => {
  test("bytes in any flush pattern give the same text as decoding the whole wire", () => {
    fc.assert(
      fc.property(
        pieces,
        fc.array(fc.nat(), { maxLength: 8 }),
        fc.constantFrom<QueryMode>("show", "drop", "raw"),
        (parts, flushes, mode) => {
          const text = `${parts.join("")}é→😀`;
          const bytes = new TextEncoder().encode(text);
          let out = "";
          const sink = new TerminalSink((t) => {
            out += t;
          }, mode);
          const at = new Set(flushes.map((f) => f % (bytes.length + 1)));
          bytes.forEach((b, i) => {
            if (at.has(i)) sink.flush();
            sink.byte(b);
          });
          sink.end();
          const whole = filtered(mode, new TextDecoder().decode(bytes));
          expect(out).toBe(whole.out);
          expect(sink.filter.total).toBe(whole.filter.total);
        },
      ),
    );
  });
});
