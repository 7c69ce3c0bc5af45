/**
 * The report written as a stream where the page cuts its transcript: a recording longer than
 * `TRANSCRIPT_LIMIT` whose escape sequences, CR LF pairs and a surrogate pair straddle events
 * and the limit gives the string renderer's page, byte for byte.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, test } from "vitest";
import {
  type AsciicastEvent,
  type AsciicastHeader,
  formatAsciicast,
  outputText,
} from "../asciicast.js";
import { stripTerminalControls } from "./escape.js";
import { renderHtmlReport, TRANSCRIPT_LIMIT } from "./html.js";
import { TerminalTranscript, writeHtmlReport } from "./html-stream.js";

const header: AsciicastHeader = { version: 2, width: 100, height: 30, title: "long" };

function events(): AsciicastEvent[] {
  const out: AsciicastEvent[] = [];
  const text = "0123456789abcdef";
  const kinds = [`2m${text}\u001b[1;3`, `2m${text}\r`, `\n${text}\u001b[1;3`];
  let time = 0;
  // Each event ends inside a CSI or between a CR and its LF, the next one finishes it.
  for (let i = 0; i * 17 < TRANSCRIPT_LIMIT - 100; i++) {
    const data = i === 0 ? kinds[0]!.slice(2) : kinds[i % 3]!;
    out.push({ time, code: "o", data });
    time += 0.001;
  }
  // The limit falls inside the surrogate pair; an OSC, then a CSI the recording ends inside.
  const shown = stripTerminalControls(`${outputText({ header, events: out })}2m`).length;
  const pad = "x".repeat(TRANSCRIPT_LIMIT - shown - 1);
  out.push({ time, code: "o", data: `2m${pad}\u{1f600}tail\u001b]0;osc\u0007\u001b[1;` });
  return out;
}

test("a transcript cut at the limit is the string renderer's, however it was made", async () => {
  const dir = mkdtempSync(join(tmpdir(), "vmmux-html-long-"));
  try {
    const terminal = { header, events: events() };
    const input = { title: "long", seed: 1, replayCommand: "vmmux replay long.json", guests: [] };
    const castFile = join(dir, "long.cast");
    writeFileSync(castFile, formatAsciicast(terminal));
    const transcript = new TerminalTranscript();
    for (const e of terminal.events) transcript.add(e);
    const facts = transcript.facts();
    expect(facts.transcript).toMatch(
      /\n\[\.\.\. \d+ more characters; the player has all of them\]$/,
    );
    const html = join(dir, "long.html");
    await writeHtmlReport(html, input, { ...facts, header, castFile });
    expect(readFileSync(html, "utf8")).toBe(renderHtmlReport({ ...input, terminal }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
