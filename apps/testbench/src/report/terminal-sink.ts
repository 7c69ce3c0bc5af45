/**
 * The muxed host terminal as it is produced: wire characters grouped into asciicast output
 * events whenever the line was quiet for more than `quietNs`, each timed at the end of its
 * group's first frame (UTF-8 decoded across groups), and a writer that appends them to a
 * cast file as the run goes, under a temporary name renamed at the end.
 */
import { createWriteStream, type WriteStream } from "node:fs";
import { rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
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

/** Appends the terminal to an asciicast file (v2, or v3 with relative times) as it goes. */
export class TerminalCastWriter {
  private readonly temporary: string;
  private readonly file: WriteStream;
  private readonly grouper: CastGrouper;
  private readonly header: AsciicastHeader;
  private previousUs = 0;
  private failure: Error | undefined;

  constructor(
    readonly path: string,
    title: string,
    private readonly version: 2 | 3 = 2,
  ) {
    this.temporary = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
    this.file = createWriteStream(this.temporary);
    this.file.on("error", (error) => {
      this.failure ??= error;
    });
    this.header = terminalHeader(title);
    this.file.write(formatAsciicast({ header: this.header, events: [] }, version));
    this.grouper = new CastGrouper((e) => this.write(e));
  }

  /** Give it to `RunOptions.onWire`. */
  readonly onWire = (byte: number, _tag: number, _start: number, end: number): void => {
    this.grouper.push(byte, end);
  };

  private write(event: AsciicastEvent): void {
    let e = event;
    if (this.version === 3) {
      const us = Math.round(event.time * 1e6);
      e = { ...event, time: (us - this.previousUs) / 1e6 };
      this.previousUs = us;
    }
    const text = formatAsciicast({ header: this.header, events: [e] }, this.version);
    this.file.write(text.slice(text.indexOf("\n") + 1));
  }

  /** Finish the file and move it into place. */
  async close(): Promise<void> {
    this.grouper.finish();
    await new Promise<void>((resolve, reject) => {
      this.file.once("error", reject);
      this.file.end(() => resolve());
    });
    if (this.failure !== undefined) throw this.failure;
    await rename(this.temporary, this.path);
  }

  /** Give up: remove the temporary file. */
  async abort(): Promise<void> {
    this.file.destroy();
    await rm(this.temporary, { force: true });
  }
}
