/**
 * Export of the event log as Chrome Trace Event JSON, which Perfetto (ui.perfetto.dev) and
 * chrome://tracing open: a "core 0" track showing which thread holds the CPU, one track per PD,
 * monitor and vCPU with its entry points as slices and kernel events as instants, flow arrows
 * from each signal to the `notified` call that consumed it, and counter tracks. A fast-forwarded
 * run of idle periods (an `idle` record) is one core slice `idle ×count`; with `fold`, repeating
 * cycles and regular device runs are folded the same way (perfetto-fold.ts). A stream may hold
 * only a window of the run's time (perfetto-window.ts).
 */
import type { Writable } from "node:stream";
import type { EventListener } from "./cycle-records.js";
import type { RuntimeEvent } from "./event-log.js";
import { GZIP_CHUNK_BYTES, GzipStream } from "./gzip-stream.js";
import {
  type PerfettoTrace,
  TraceBuilder,
  type TraceEvent,
  type TraceOptions,
  type TraceThread,
} from "./perfetto-builder.js";
import { type TimelineWindow, TraceWindow } from "./perfetto-window.js";

export type { PerfettoTrace, TraceEvent, TraceOptions, TraceThread } from "./perfetto-builder.js";
export { TraceBuilder } from "./perfetto-builder.js";
export type { TimelineWindow } from "./perfetto-window.js";

/** Trace events serialised together by {@link PerfettoStream}. */
const EVENTS_PER_BATCH = 512;

export function toPerfetto(
  log: readonly RuntimeEvent[],
  threads: readonly TraceThread[],
  endTime: number,
  options: TraceOptions = {},
): PerfettoTrace {
  const out: TraceEvent[] = [];
  const builder = new TraceBuilder(threads, (event) => out.push(event), options);
  for (const event of log) builder.add(event);
  builder.finish(endTime);
  return { traceEvents: out, displayTimeUnit: "ns" };
}

/** Options of {@link PerfettoStream}. */
export interface PerfettoStreamOptions extends TraceOptions {
  /**
   * Write gzip (a `.json.gz`), compressed synchronously a chunk at a time ({@link GzipStream}),
   * so a synchronous `out` holds nothing and the compressor at most one chunk.
   */
  readonly gzip?: boolean;
  /** With `gzip`: bytes compressed at a time (default {@link GZIP_CHUNK_BYTES}, 1 MiB). */
  readonly gzipChunkBytes?: number;
  /** Bytes of JSON gathered before a write to the stream (default 64 KiB). */
  readonly chunkBytes?: number;
  /**
   * Called with each trace event the whole run makes (a summary made alongside the file), the
   * events a {@link window} leaves out too.
   */
  readonly tap?: (event: TraceEvent) => void;
  /**
   * Write only what overlaps this window of virtual time, clipped at its edges by the rule of
   * perfetto-window.ts (metadata always); default the whole run.
   */
  readonly window?: TimelineWindow;
}

/**
 * A Perfetto (Chrome Trace Event JSON) file written while the run goes: feed it each event as the
 * kernel logs it (`System.onEvent`), then {@link close} it; the output is valid JSON once closed
 * and the same trace `toPerfetto` builds from a retained log. Memory stays bounded by the open
 * slices, not by the run's length.
 */
export class PerfettoStream {
  private readonly builder: TraceBuilder;
  private readonly sink: Writable;
  /** The compressor when `gzip` was asked for (its counters show what it holds). */
  readonly gzip: GzipStream | undefined;
  private readonly done: Promise<void>;
  /** Serialised bytes not yet written (the first `used`); a written buffer is the stream's. */
  private pending: Buffer;
  private used = 0;
  private first = true;
  /** Events not yet serialised: one `JSON.stringify` per batch costs less than one per event. */
  private batch: TraceEvent[] = [];
  private closed = false;
  /** The trace is written out: nothing more goes in. */
  private ended = false;
  /** What the file takes of the trace, when it holds a window of it. */
  private readonly window: TraceWindow | undefined;
  /**
   * What to subscribe to the kernel (`System.onEvent`): each record goes to {@link add}, and with
   * `fold` the cycle records may go to the folder's own sink instead (cycle-records.ts).
   */
  readonly listener: EventListener;

  constructor(
    out: Writable,
    threads: readonly TraceThread[],
    private readonly options: PerfettoStreamOptions = {},
  ) {
    this.gzip = options.gzip
      ? new GzipStream(out, { chunkBytes: options.gzipChunkBytes ?? GZIP_CHUNK_BYTES })
      : undefined;
    this.sink = this.gzip ?? out;
    this.done = new Promise((resolve, reject) => {
      out.once("finish", () => resolve());
      out.once("error", reject);
      this.sink.once("error", reject);
    });
    this.pending = Buffer.allocUnsafe(2 * this.chunkBytes);
    this.used = this.pending.write('{"displayTimeUnit":"ns","traceEvents":[');
    this.window =
      options.window === undefined
        ? undefined
        : new TraceWindow(options.window, (event) => this.queue(event));
    this.builder = new TraceBuilder(threads, (event) => this.emit(event), options);
    const cycles = this.builder.cycles;
    const listener = (event: RuntimeEvent) => this.add(event);
    this.listener = cycles === null ? listener : Object.assign(listener, { cycles });
  }

  /**
   * Resolves once the output has taken what was written so far. Writes are not awaited during a
   * run (the kernel is synchronous); a caller that runs in slices awaits this between them to
   * keep memory bounded.
   */
  drained(): Promise<void> {
    if (!this.sink.writableNeedDrain) return Promise.resolve();
    return new Promise((resolve) => this.sink.once("drain", () => resolve()));
  }

  /**
   * `listener` marked as reading none of the cycle records (cycle-records.ts), so that it leaves
   * them to a stream's {@link listener} (it may still be called with some).
   */
  static readsNoCycles<L extends (event: RuntimeEvent) => void>(listener: L): L & EventListener {
    return Object.assign(listener, { noCycles: true });
  }

  /** Convert one logged event (events in log order). */
  add(event: RuntimeEvent): void {
    // Thread states show as the slices around them; most records are these.
    if (this.closed || event.type === "state") return;
    this.builder.add(event);
  }

  /** End the trace at `endTime` (ns), flush, and resolve when the output stream has finished. */
  close(endTime: number): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      this.builder.finish(endTime);
      this.window?.finish(endTime);
      this.serialise();
      this.append("]}\n");
      this.sink.end(this.pending.subarray(0, this.used));
      this.ended = true;
    }
    return this.done;
  }

  private emit(event: TraceEvent): void {
    if (this.ended) return;
    this.options.tap?.(event);
    if (this.window === undefined) this.queue(event);
    else this.window.add(event);
  }

  /** Queue one event of the file for serialising. */
  private queue(event: TraceEvent): void {
    if (this.batch.push(event) >= EVENTS_PER_BATCH) this.serialise();
  }

  private get chunkBytes(): number {
    return this.options.chunkBytes ?? 0x1_0000;
  }

  private serialise(): void {
    if (this.batch.length === 0) return;
    const text = JSON.stringify(this.batch);
    this.batch = [];
    if (!this.first) this.append(",");
    this.append(text.slice(1, -1));
    this.first = false;
    if (this.used >= this.chunkBytes) this.write();
  }

  /** Append `text` as UTF-8 (written before if it may not fit). */
  private append(text: string): void {
    const most = 3 * text.length;
    if (this.used + most > this.pending.length) {
      this.write();
      if (most > this.pending.length) this.pending = Buffer.allocUnsafe(most + this.chunkBytes);
    }
    this.used += this.pending.write(text, this.used);
  }

  /** Hand what is serialised to the stream, in a buffer of its own. */
  private write(): void {
    if (this.used === 0) return;
    this.sink.write(this.pending.subarray(0, this.used));
    this.pending = Buffer.allocUnsafe(Math.max(this.pending.length, 2 * this.chunkBytes));
    this.used = 0;
  }
}
