/**
 * Property: whatever text a guest prints or a finding quotes, the report's structure is the
 * page's own (its three scripts, nothing injected) and the embedded data reads back exactly.
 * Both branches are shown: the real renderer holds, the planted one (data embedded with plain
 * `JSON.stringify`) is caught. And the report written as a stream from a cast file is the
 * string renderer's page, byte for byte, however the file is cut as it is read.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type Asciicast, formatAsciicast } from "../asciicast.js";
import { renderHtmlReportUnescapedData } from "../testing/report-unescaped.js";
import { type HtmlReportInput, renderHtmlReport } from "./html.js";
import { TerminalTranscript, writeHtmlReport } from "./html-stream.js";

const RUNS = Number(process.env.VMMUX_PROP_RUNS ?? 40);
const SEED = 20261126;

const BUNDLE = readFileSync(
  createRequire(import.meta.url).resolve("asciinema-player/dist/bundle/asciinema-player.min.js"),
  "utf8",
);

/** Text built from the fragments that break naive escaping, mixed with arbitrary code units. */
const hostileText = fc
  .array(
    fc.oneof(
      fc.constantFrom(
        "</script>",
        "</SCRIPT ",
        "<script>",
        "<!--",
        "-->",
        "&amp;",
        "<",
        ">",
        "'",
        '"',
        "\u0000",
        "\u001b[31m",
        "\r\n",
        "\u2028",
        "\ud800",
        "\u0085",
        "constructor",
        "__proto__",
      ),
      fc.string({ unit: "binary", maxLength: 6 }),
    ),
    { maxLength: 8 },
  )
  .map((parts) => parts.join(""));

const reportInput = fc
  .record({
    title: hostileText,
    names: fc.tuple(hostileText, hostileText),
    outputs: fc.array(hostileText, { minLength: 1, maxLength: 4 }),
    finding: hostileText,
  })
  .map(({ title, names, outputs, finding }): HtmlReportInput => {
    const terminal: Asciicast = {
      header: { version: 2, width: 80, height: 24 },
      events: outputs.map((data, i) => ({ time: i * 0.5, code: "o" as const, data })),
    };
    return {
      title,
      seed: 1,
      replayCommand: `vmmux replay ${title}`,
      terminal,
      timeline: {
        spans: names.map((track, i) => ({ track, start: i, end: i + 0.5, label: finding })),
      },
      guests: names.map((name) => ({
        name,
        bytesWritten: 1,
        bytesOnWire: 1,
        timeToFirstByte: 0.1,
        longestGap: 0,
        loss: { [finding]: 1 },
      })),
      verdicts: [{ oracle: "integrity", ok: false, findings: [finding] }],
    };
  });

/** The page keeps its own structure and its data reads back exactly. */
function structureHolds(render: (input: HtmlReportInput) => string) {
  return fc.property(reportInput, (input) => {
    const own = render(input).replace(BUNDLE, "");
    expect(own.match(/<script\b/gi)).toHaveLength(3);
    expect(own.match(/<\/script/gi)).toHaveLength(3);
    expect(own.match(/<!--/g)).toBeNull();
    const open = '<script type="application/json" id="vmmux-data">';
    const start = own.indexOf(open) + open.length;
    const data = JSON.parse(own.slice(start, own.search(/<\/script/i)));
    expect(data.cast).toBe(formatAsciicast(input.terminal));
    expect(data.numbers.guests.map((g: { name: string }) => g.name)).toEqual(
      input.guests.map((g) => g.name),
    );
  });
}

describe("report escaping property", () => {
  it("hostile text never changes the page's structure and the embedded data reads back", () => {
    fc.assert(structureHolds(renderHtmlReport), { numRuns: RUNS, seed: SEED });
  });

  it("catches the planted renderer that embeds its data with plain JSON.stringify", () => {
    const result = fc.check(structureHolds(renderHtmlReportUnescapedData), {
      numRuns: Math.max(RUNS, 40),
      seed: SEED,
    });
    expect(result.failed).toBe(true);
  });
});

describe("the report written as a stream", () => {
  it("is renderHtmlReport's page byte for byte, for hostile text and any read size", async () => {
    const dir = mkdtempSync(join(tmpdir(), "vmmux-html-stream-"));
    try {
      await fc.assert(
        fc.asyncProperty(reportInput, fc.integer({ min: 1, max: 64 }), async (input, readBytes) => {
          const { terminal, ...page } = input;
          const castFile = join(dir, "t.cast");
          // The file's own header differs from the page's: the page embeds its own.
          const fileHeader = { ...terminal.header, title: "the file's own" };
          writeFileSync(castFile, formatAsciicast({ header: fileHeader, events: terminal.events }));
          const transcript = new TerminalTranscript();
          for (const event of terminal.events) transcript.add(event);
          const html = join(dir, "t.html");
          await writeHtmlReport(
            html,
            page,
            { ...transcript.facts(), header: terminal.header, castFile },
            { readBytes },
          );
          expect(readFileSync(html, "utf8")).toBe(renderHtmlReport(input));
        }),
        { numRuns: RUNS, seed: SEED },
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
