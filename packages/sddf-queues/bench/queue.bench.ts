/**
 * Throughput of batch enqueue + transfer (reference/sddf-serial.md §2.4) beside a plain
 * TypedArray.set copy and ringbuf.js, in one process, as MB/s and ratios.
 *
 * Every contender moves the same stream of chunks with two copies per byte:
 * - set:      chunk -> ring-sized buffer (split at its end); when full, buffer -> sink.
 * - vmmux:    enqueueBatch(chunk) into queue A; when A is full, transferAll(B, A) and B's
 *             consumer publishes head = tail (the bytes leave, like a UART draining them).
 * - +tags:    the same with provenance shadows on A and B (one u32 tag moved per byte).
 * - ringbuf:  push(chunk) into a ringbuf.js RingBuffer; when full, pop everything into a sink.
 *
 * Run: pnpm --filter @vmmux/sddf-queues bench
 */
import { RingBuffer } from "ringbuf.js";
import { SerialQueue, transferAll } from "../src/index.js";

const MiB = 1024 * 1024;
const queueSizes = [4 * 1024, 64 * 1024, MiB];
const chunkSizes = [1, 64, 4 * 1024];
const REPEATS = 5;

/** Bytes to move in one round: fewer for 1-byte chunks, which are call-bound. */
function streamBytes(chunk: number): number {
  return chunk === 1 ? 2 * MiB : 32 * MiB;
}

function makeQueue(capacity: number, tagged: boolean): SerialQueue {
  const memory = new SharedArrayBuffer(16 + capacity);
  return new SerialQueue(new Uint8Array(memory, 0, 12), new Uint8Array(memory, 16, capacity), {
    ...(tagged ? { tags: new Uint32Array(new SharedArrayBuffer(capacity * 4)) } : {}),
  });
}

type Mover = (chunk: Uint8Array, total: number) => number;

function setCopy(capacity: number): Mover {
  const ring = new Uint8Array(capacity);
  const sink = new Uint8Array(capacity);
  return (chunk, total) => {
    let fill = 0;
    let checksum = 0;
    for (let moved = 0; moved < total; ) {
      let done = 0;
      while (done < chunk.length) {
        const n = Math.min(chunk.length - done, capacity - fill);
        ring.set(done === 0 && n === chunk.length ? chunk : chunk.subarray(done, done + n), fill);
        fill += n;
        done += n;
        if (fill === capacity) {
          sink.set(ring);
          checksum += sink[capacity - 1]!;
          fill = 0;
        }
      }
      moved += chunk.length;
    }
    return checksum;
  };
}

function vmmux(capacity: number, tagged: boolean): Mover {
  const a = makeQueue(capacity, tagged);
  const b = makeQueue(capacity, tagged);
  const chunkTag = tagged ? 0x0100_0000 : undefined;
  return (chunk, total) => {
    let checksum = 0;
    for (let moved = 0; moved < total; ) {
      let done = a.enqueueBatch(chunk, chunkTag);
      while (done < chunk.length) {
        transferAll(b, a);
        checksum += b.byteAt(b.tail - 1);
        b.updateSharedHead(b.tail);
        done += a.enqueueBatch(chunk.subarray(done), chunkTag);
      }
      moved += chunk.length;
    }
    return checksum;
  };
}

function ringbuf(capacity: number): Mover {
  const ring = new RingBuffer(RingBuffer.getStorageForCapacity(capacity, Uint8Array), Uint8Array);
  const sink = new Uint8Array(capacity);
  return (chunk, total) => {
    let checksum = 0;
    for (let moved = 0; moved < total; ) {
      let done = ring.push(chunk, chunk.length);
      while (done < chunk.length) {
        const n = ring.pop(sink, capacity);
        checksum += sink[n - 1]!;
        done += ring.push(chunk, chunk.length - done, done);
      }
      moved += chunk.length;
    }
    return checksum;
  };
}

/**
 * MiB/s of each contender on one configuration: after a warm-up, the contenders take turns
 * for REPEATS rounds (so load from other processes hits all of them alike); median per contender.
 */
function measureAll(movers: Mover[], chunkSize: number): number[] {
  const chunk = new Uint8Array(chunkSize).map((_, i) => i & 0xff);
  const total = streamBytes(chunkSize);
  let keep = 0;
  for (const mover of movers) keep += mover(chunk, Math.min(total, 2 * MiB));
  const samples: number[][] = movers.map(() => []);
  for (let r = 0; r < REPEATS; r++) {
    movers.forEach((mover, i) => {
      const started = performance.now();
      keep += mover(chunk, total);
      samples[i]!.push(total / MiB / ((performance.now() - started) / 1000));
    });
  }
  if (Number.isNaN(keep)) throw new Error("unreachable: keeps the results alive");
  return samples.map((s) => s.sort((x, y) => x - y)[Math.floor(s.length / 2)]!);
}

const size = (n: number) =>
  n >= MiB ? `${n / MiB} MiB` : n >= 1024 ? `${n / 1024} KiB` : `${n} B`;
const rows: string[][] = [];
for (const capacity of queueSizes) {
  for (const chunkSize of chunkSizes) {
    const [set, plain, tagged, rb] = measureAll(
      [setCopy(capacity), vmmux(capacity, false), vmmux(capacity, true), ringbuf(capacity)],
      chunkSize,
    ) as [number, number, number, number];
    rows.push([
      size(capacity),
      size(chunkSize),
      set.toFixed(0),
      plain.toFixed(0),
      tagged.toFixed(0),
      rb.toFixed(0),
      (plain / set).toFixed(2),
      (plain / rb).toFixed(2),
      (tagged / plain).toFixed(2),
    ]);
  }
}

const header = [
  "queue",
  "chunk",
  "set",
  "vmmux",
  "vmmux+tags",
  "ringbuf.js",
  "vmmux/set",
  "vmmux/ringbuf",
  "tags/vmmux",
];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
const line = (cells: string[]) => cells.map((c, i) => c.padStart(widths[i]!)).join("  ");
console.log(
  `batch enqueue + transfer throughput, MiB/s (median of ${REPEATS} interleaved rounds; node ${process.version})`,
);
console.log(line(header));
console.log(widths.map((w) => "-".repeat(w)).join("  "));
for (const r of rows) console.log(line(r));
