/**
 * The HTML report written as a stream (issue 12: memory does not grow with the run): the page
 * before the recording, then the recording read back from its cast file in pieces, then the
 * rest. The file is byte-identical to {@link renderHtmlReport} of the same run; only the
 * recording's facts the page shows (events, last time, transcript) are gathered as the cast
 * is made ({@link TerminalTranscript}).
 */
import { closeSync, createReadStream, openSync } from "node:fs";
import { type AsciicastEvent, type AsciicastHeader, formatAsciicast } from "../asciicast.js";
import { jsonForScript, TerminalControlStripper } from "./escape.js";
import {
  type ReportPageInput,
  reportPage,
  type TerminalFacts,
  TRANSCRIPT_LIMIT,
  transcriptHtml,
} from "./html.js";
import { writeTextSync } from "./terminal-sink.js";

/**
 * Gathers what the page shows of a recording from its events as they are made: their number,
 * the last one's time and the transcript's first {@link TRANSCRIPT_LIMIT} characters (escape
 * sequences removed as `stripTerminalControls` removes them) with the count of all of them.
 */
export class TerminalTranscript {
  private readonly stripper = new TerminalControlStripper();
  private readonly shown: string[] = [];
  private shownLength = 0;
  private length = 0;
  private events = 0;
  private lastTime: number | undefined;
  private ended = false;

  /** Each event of the recording, in order (absolute times). */
  readonly add = (event: AsciicastEvent): void => {
    this.events++;
    this.lastTime = event.time;
    if (event.code === "o") this.text(this.stripper.push(event.data));
  };

  private text(text: string): void {
    this.length += text.length;
    if (this.shownLength >= TRANSCRIPT_LIMIT || text.length === 0) return;
    const part = text.slice(0, TRANSCRIPT_LIMIT - this.shownLength);
    this.shown.push(part);
    this.shownLength += part.length;
  }

  /** The recording is complete: what the page shows of it. */
  facts(): TerminalFacts {
    if (!this.ended) {
      this.text(this.stripper.end());
      this.ended = true;
    }
    return {
      events: this.events,
      lastTime: this.lastTime,
      transcript: transcriptHtml(this.shown.join(""), this.length),
    };
  }
}

/** A recording kept in an asciicast v2 file, with what the page shows of it. */
export interface StreamedTerminal extends TerminalFacts {
  /** The header the page embeds in place of the file's own first line. */
  readonly header: AsciicastHeader;
  /** The v2 file: one header line, then one event per line. */
  readonly castFile: string;
}

/** Bytes of the cast file read at a time. */
const READ_CHUNK = 1 << 16;

export interface StreamedReportOptions {
  /** The data encoder (`renderHtmlReportWith`'s); default `jsonForScript`. */
  readonly encodeJson?: (value: unknown) => string;
  /** Bytes of the cast file read at a time (default 64 KiB); small in tests, to cut it often. */
  readonly readBytes?: number;
}

/**
 * Write the report of `input` to `path`, reading the recording from `terminal.castFile` in
 * pieces: the same bytes as `renderHtmlReport` of the input with the file's recording (its
 * first line replaced by `terminal.header`'s). Throws `ReportError` as the renderer does,
 * before anything is written.
 */
export async function writeHtmlReport(
  path: string,
  input: ReportPageInput,
  terminal: StreamedTerminal,
  options: StreamedReportOptions = {},
): Promise<void> {
  const encodeJson = options.encodeJson ?? jsonForScript;
  const [before, after] = reportPage(input, terminal, encodeJson);
  const fd = openSync(path, "w");
  try {
    const write = (text: string) => writeTextSync(fd, text);
    // A piece of the cast text ends at a complete character (the stream decodes UTF-8 whole),
    // so no surrogate pair is split and the pieces' encodings join to the whole's.
    const encoded = (text: string) => encodeJson(text).slice(1, -1);
    write(before);
    write(encoded(formatAsciicast({ header: terminal.header, events: [] })));
    let inHeader = true;
    const stream = createReadStream(terminal.castFile, {
      encoding: "utf8",
      highWaterMark: options.readBytes ?? READ_CHUNK,
    });
    for await (const chunk of stream as AsyncIterable<string>) {
      let text = chunk;
      if (inHeader) {
        const newline = text.indexOf("\n");
        if (newline < 0) continue;
        inHeader = false;
        text = text.slice(newline + 1);
      }
      if (text.length > 0) write(encoded(text));
    }
    write(after);
  } finally {
    closeSync(fd);
  }
}
