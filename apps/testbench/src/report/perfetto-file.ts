/**
 * Writes a Perfetto (Chrome Trace Event JSON) timeline to a file as a stream of events,
 * never as one string (a long run's trace is larger than the biggest string V8 can build),
 * gzip-compressed when the path ends in `.gz` (`.json.gz` opens in ui.perfetto.dev as is;
 * microkit-pd's `GzipStream`, synchronous, one chunk held at most). The file appears whole or
 * not at all: it is written under a temporary name and renamed.
 */
import { closeSync, openSync, writeSync } from "node:fs";
import { rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { Writable } from "node:stream";
import { GzipStream, type PerfettoTrace, type TraceEvent } from "@vmmux/microkit-pd";

/** Events serialised per write. */
const BATCH = 2000;

/** Write `text`, waiting for the stream to drain when it asks to (back-pressure). */
function write(out: Writable, text: string): Promise<void> {
  return new Promise((resolve) => {
    if (out.write(text)) resolve();
    else out.once("drain", resolve);
  });
}

/** A stream of trace events into `path`; `close()` finishes and renames it into place. */
export class PerfettoFileWriter {
  private readonly temporary: string;
  private readonly file: Writable;
  private readonly out: Writable;
  private readonly finished: Promise<void>;
  private first = true;
  private failure: Error | undefined;
  private readonly settled: Promise<void>;

  constructor(readonly path: string) {
    this.temporary = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
    // Synchronous: a missing directory fails here, and nothing waits in memory for the disk.
    this.file = syncFileStream(this.temporary);
    this.out = path.endsWith(".gz") ? new GzipStream(this.file) : this.file;
    this.finished = new Promise((resolve, reject) => {
      const fail = (error: Error) => {
        this.failure ??= error;
        reject(error);
      };
      this.file.on("close", resolve);
      this.file.on("error", fail);
      this.out.on("error", fail);
    });
    // Failures are reported by `add` and `close`; this keeps an early one from going unheard.
    this.settled = this.finished.catch(() => undefined);
    this.out.write('{"traceEvents":[');
  }

  /** Append events, in order. */
  async add(events: readonly TraceEvent[]): Promise<void> {
    for (let i = 0; i < events.length; i += BATCH) {
      if (this.failure !== undefined) throw this.failure;
      const parts: string[] = [];
      for (const e of events.slice(i, i + BATCH)) {
        parts.push(this.first ? JSON.stringify(e) : `,${JSON.stringify(e)}`);
        this.first = false;
      }
      // A failed file never drains: stop waiting when it has failed.
      await Promise.race([write(this.out, parts.join("")), this.settled]);
    }
  }

  /** End the document and move the file into place. */
  async close(): Promise<void> {
    if (this.failure !== undefined) throw this.failure;
    this.out.end('],"displayTimeUnit":"ns"}');
    await this.finished;
    await rename(this.temporary, this.path);
  }

  /** Give up: remove the temporary file. */
  async abort(): Promise<void> {
    this.out.destroy();
    this.file.destroy();
    await rm(this.temporary, { force: true });
  }
}

/**
 * Write `trace` to `path` (`.json`, or `.json.gz` compressed) without building its text
 * whole; the bytes of a `.json` file are those of `JSON.stringify(trace)`.
 */
export async function writePerfettoFile(trace: PerfettoTrace, path: string): Promise<void> {
  const writer = new PerfettoFileWriter(path);
  try {
    await writer.add(trace.traceEvents);
    await writer.close();
  } catch (error) {
    await writer.abort();
    throw error;
  }
}

/**
 * A file written synchronously as each chunk comes: a run is synchronous, so an ordinary file
 * stream would hold everything written during it until the run ends; this one holds nothing
 * (memory stays flat however long the run, issue 12 item 2).
 */
export function syncFileStream(path: string): Writable {
  const fd = openSync(path, "w");
  let open = true;
  const close = () => {
    if (open) closeSync(fd);
    open = false;
  };
  return new Writable({
    decodeStrings: false,
    write(chunk: string | Buffer, _encoding, done) {
      try {
        const bytes = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
        for (let at = 0; at < bytes.length; ) at += writeSync(fd, bytes, at);
        done();
      } catch (error) {
        done(error as Error);
      }
    },
    final(done) {
      close();
      done();
    },
    destroy(error, done) {
      close();
      done(error);
    },
  });
}
