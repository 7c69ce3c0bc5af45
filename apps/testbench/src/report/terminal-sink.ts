/**
 * The muxed host terminal as it is produced: wire characters grouped into asciicast output
 * events whenever the line was quiet for more than `quietNs`, each timed at the end of its
 * group's first frame (UTF-8 decoded across groups), and a writer that appends them to a
 * cast file as the run goes, under a temporary name renamed at the end.
 */
import { closeSync, createReadStream, openSync, writeSync } from "node:fs";
import { rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { type AsciicastEvent, type AsciicastHeader, formatAsciicast } from "../asciicast.js";

/** Default quiet time that closes a group, ns. */
export const CAST_QUIET_NS = 2_000_000;

export class CastGrouper {
  private readonly decoder = new TextDecoder();
  private group: number[] = [];
  private groupAt = 0;
  private lastEnd = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly onEvent: (event: AsciicastEvent) => void,
    private readonly quietNs = CAST_QUIET_NS,
  ) {}

  /** A character that finished leaving the wire at `end` ns. */
  push(byte: number, end: number): void {
    if (end - this.lastEnd > this.quietNs && this.group.length > 0) this.flush(false);
    if (this.group.length === 0) this.groupAt = end;
    this.group.push(byte);
    this.lastEnd = end;
  }

  /** The run is over: emit what is left. */
  finish(): void {
    this.flush(true);
  }

  private flush(final: boolean): void {
    const data = this.decoder.decode(Uint8Array.from(this.group), { stream: !final });
    if (data.length > 0) this.onEvent({ time: this.groupAt / 1e9, code: "o", data });
    this.group = [];
  }
}

/** The terminal header `vmmux` writes. */
export function terminalHeader(title: string): AsciicastHeader {
  return { version: 2, width: 100, height: 30, title, env: { TERM: "xterm-256color" } };
}

/** Characters gathered before they are written. */
const WRITE_CHUNK = 1 << 16;

/** Write all of `text` (UTF-8) at the file's position, synchronously. */
export function writeTextSync(fd: number, text: string): void {
  const bytes = Buffer.from(text, "utf8");
  for (let at = 0; at < bytes.length; ) at += writeSync(fd, bytes, at);
}

/** Event lines of one cast, one at a time (v3: each time since the previous event's). */
class CastLines {
  private previousUs = 0;

  constructor(
    private readonly header: AsciicastHeader,
    private readonly version: 2 | 3,
  ) {}

  /** The header line. */
  first(): string {
    return formatAsciicast({ header: this.header, events: [] }, this.version);
  }

  /** The line of `event` (time since the start), newline included. */
  line(event: AsciicastEvent): string {
    let e = event;
    if (this.version === 3) {
      const us = Math.round(event.time * 1e6);
      e = { ...event, time: (us - this.previousUs) / 1e6 };
      this.previousUs = us;
    }
    const text = formatAsciicast({ header: this.header, events: [e] }, this.version);
    return text.slice(text.indexOf("\n") + 1);
  }
}

/**
 * Appends the terminal to an asciicast file (v2, or v3 with relative times) as it goes, under
 * a temporary name renamed at `close`. Writes are synchronous in pieces of 64 KiB: a run
 * does not give the event loop a turn, so nothing may wait in memory for the disk.
 */
export class TerminalCastWriter {
  private readonly temporary: string;
  private fd: number | undefined;
  private readonly grouper: CastGrouper;
  private readonly lines: CastLines;
  private pending: string;

  /** `onEvent` sees each event written, with its time since the start (both versions). */
  constructor(
    readonly path: string,
    title: string,
    version: 2 | 3 = 2,
    private readonly onEvent?: (event: AsciicastEvent) => void,
  ) {
    this.temporary = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
    this.fd = openSync(this.temporary, "w");
    this.lines = new CastLines(terminalHeader(title), version);
    this.pending = this.lines.first();
    this.grouper = new CastGrouper((e) => this.write(e));
  }

  /** Give it to `RunOptions.onWire`. */
  readonly onWire = (byte: number, _tag: number, _start: number, end: number): void => {
    this.grouper.push(byte, end);
  };

  private write(event: AsciicastEvent): void {
    this.onEvent?.(event);
    this.pending += this.lines.line(event);
    if (this.pending.length >= WRITE_CHUNK) this.flush();
  }

  private flush(): void {
    if (this.fd === undefined) throw new Error(`${this.path}: the cast writer is closed`);
    writeTextSync(this.fd, this.pending);
    this.pending = "";
  }

  /** Finish the file and move it into place. */
  async close(): Promise<void> {
    this.grouper.finish();
    this.flush();
    closeSync(this.fd!);
    this.fd = undefined;
    await rename(this.temporary, this.path);
  }

  /** Give up: remove the temporary file (nothing once closed). */
  async abort(): Promise<void> {
    if (this.fd === undefined) return;
    closeSync(this.fd);
    this.fd = undefined;
    await rm(this.temporary, { force: true });
  }
}

/**
 * Rewrite an asciicast v2 file as v3, line by line: what `formatAsciicast(parseAsciicast(text), 3)`
 * gives for a file `TerminalCastWriter` wrote, without holding it whole.
 */
export async function castFileToVersion3(path: string): Promise<void> {
  const temporary = join(dirname(path), `.${basename(path)}.${process.pid}.v3.tmp`);
  const fd = openSync(temporary, "w");
  try {
    let lines: CastLines | undefined;
    let batch = "";
    for await (const line of createInterface({ input: createReadStream(path, "utf8") })) {
      if (lines === undefined) {
        lines = new CastLines(JSON.parse(line) as AsciicastHeader, 3);
        batch = lines.first();
      } else if (line.trim() !== "") {
        const [time, code, data] = JSON.parse(line) as [number, AsciicastEvent["code"], string];
        batch += lines.line({ time, code, data });
      }
      if (batch.length >= WRITE_CHUNK) {
        writeTextSync(fd, batch);
        batch = "";
      }
    }
    writeTextSync(fd, batch);
  } catch (error) {
    closeSync(fd);
    await rm(temporary, { force: true });
    throw error;
  }
  closeSync(fd);
  await rename(temporary, path);
}
