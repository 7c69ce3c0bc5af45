/**
 * One end of the two-thread queue test (spsc.test.ts): a producer or a consumer of one
 * SerialQueue in a SharedArrayBuffer, using the signalling protocol of
 * reference/sddf-serial.md §3 with Atomics.wait/notify standing in for Microkit
 * notifications (one coalescing bit per receiver, §1.1).
 */
import { parentPort, workerData } from "node:worker_threads";
import { provenanceTag, tagSeq } from "../provenance.js";
import { SerialQueue } from "../queue.js";
import { transferAll } from "../transfer.js";

export interface SpscLayout {
  memory: SharedArrayBuffer;
  capacity: number;
  totalBytes: number;
  seed: number;
}

export interface SpscReport {
  role: "producer" | "consumer";
  bytes: number;
  checksum: number;
  /** Producer: batches that found the queue full or partly full. Consumer: times it found the queue empty. */
  blockedEvents: number;
  /** Waits that timed out: a lost wake-up (or a badly overloaded machine). */
  stalls: number;
  /** Consumer: index of the first byte or tag that did not match, or -1. */
  firstMismatch: number;
  elapsedMs: number;
}

/** Offsets inside the shared memory. */
export const LAYOUT = {
  queue: 0,
  bells: 16, // Int32 [toConsumer, toProducer, producerDone]
  data: 64,
} as const;

/** The byte the producer sends at position `i` (a cheap hash, so the consumer can recheck). */
export function streamByte(i: number): number {
  return (Math.imul(i ^ (i >>> 13), 0x9e3779b1) >>> 24) & 0xff;
}

/** FNV-1a over a byte, continued from `h`. */
export function fnv1a(h: number, byte: number): number {
  return Math.imul(h ^ byte, 0x01000193) >>> 0;
}

const WAIT_TIMEOUT_MS = 10_000;

function makePrng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

function spin(microseconds: number): void {
  const until = performance.now() + microseconds / 1000;
  while (performance.now() < until);
}

function run(layout: SpscLayout, role: "producer" | "consumer"): SpscReport {
  const { memory, capacity, totalBytes } = layout;
  const queue = new SerialQueue(
    new Uint8Array(memory, LAYOUT.queue, 12),
    new Uint8Array(memory, LAYOUT.data, capacity),
    { tags: new Uint32Array(memory, LAYOUT.data + capacity, capacity) },
  );
  const bells = new Int32Array(memory, LAYOUT.bells, 3);
  const random = makePrng(layout.seed ^ (role === "producer" ? 0x1111 : 0x2222));
  let stalls = 0;
  const ring = (bell: number) => {
    Atomics.store(bells, bell, 1);
    Atomics.notify(bells, bell);
  };
  const wait = (bell: number) => {
    while (Atomics.exchange(bells, bell, 0) === 0) {
      if (Atomics.wait(bells, bell, 0, WAIT_TIMEOUT_MS) === "timed-out") stalls++;
    }
  };
  // Phases of 256 KiB alternate which side is slowed down, so the queue is sometimes
  // full (slow consumer) and sometimes empty (slow producer).
  const slowed = (position: number) =>
    ((position >>> 18) & 1) === (role === "producer" ? 1 : 0) && random() < 0.3;
  const started = performance.now();
  let blockedEvents = 0;
  let checksum = 0x811c9dc5;

  if (role === "producer") {
    const chunk = new Uint8Array(3 * capacity);
    const tags = new Uint32Array(3 * capacity);
    let sent = 0;
    while (sent < totalBytes) {
      const size = Math.min(totalBytes - sent, 1 + Math.floor(random() * 3 * capacity));
      for (let i = 0; i < size; i++) {
        chunk[i] = streamByte(sent + i);
        tags[i] = provenanceTag(1, sent + i);
      }
      let done = 0;
      while (done < size) {
        const n = queue.enqueueBatch(chunk.subarray(done, size), tags.subarray(done, size));
        done += n;
        if (n > 0) ring(0); // producer -> consumer: unconditional (§1)
        if (done === size) break;
        blockedEvents++;
        // §3.2: request, re-check, cancel if space appeared, otherwise wait.
        queue.requestConsumerSignal();
        if (!queue.full()) {
          queue.cancelConsumerSignal();
          continue;
        }
        wait(1);
      }
      for (let i = 0; i < size; i++) checksum = fnv1a(checksum, chunk[i]!);
      sent += size;
      if (slowed(sent)) spin(random() * 300);
    }
    Atomics.store(bells, 2, 1);
    ring(0);
    return {
      role,
      bytes: sent,
      checksum,
      blockedEvents,
      stalls,
      firstMismatch: -1,
      elapsedMs: performance.now() - started,
    };
  }

  let received = 0;
  let firstMismatch = -1;
  const accept = (byte: number, tag: number) => {
    if (
      firstMismatch < 0 &&
      (byte !== streamByte(received) || tagSeq(tag) !== (received & 0xffffff))
    ) {
      firstMismatch = received;
    }
    checksum = fnv1a(checksum, byte);
    received++;
  };
  // Transfer path target: a private queue of the same capacity. transferAll re-reads the
  // shared tail while the producer keeps publishing, and moves at most one capacity per call,
  // so this destination can never overflow.
  const privateQueue = new SerialQueue(new Uint8Array(12), new Uint8Array(capacity), {
    tags: new Uint32Array(capacity),
  });
  for (;;) {
    let moved = 0;
    const path = random();
    if (path < 0.2) {
      const result = transferAll(privateQueue, queue);
      if (result.dropped > 0) throw new Error(`transferAll dropped ${result.dropped} bytes`);
      for (let b = privateQueue.dequeue(); b !== undefined; b = privateQueue.dequeue()) {
        accept(b, privateQueue.lastTag);
      }
      moved = result.moved;
    } else if (path < 0.6) {
      // Bulk path: contiguous chunk straight from the data region, one head publish.
      const n = queue.contiguousLength();
      const head = queue.head;
      for (let i = 0; i < n; i++) accept(queue.byteAt(head + i), queue.tagAt(head + i));
      queue.updateSharedHead((head + n) >>> 0);
      moved = n;
    } else {
      // Byte path: local head, published every few bytes.
      const local = { head: queue.head };
      const limit = 1 + Math.floor(random() * capacity);
      for (let b = queue.dequeueLocal(local); b !== undefined; b = queue.dequeueLocal(local)) {
        accept(b, queue.lastTag);
        if (++moved >= limit) break;
      }
      queue.updateSharedHead(local.head);
    }
    if (moved > 0) {
      if (queue.requireConsumerSignal()) {
        queue.cancelConsumerSignal();
        ring(1);
      }
      if (slowed(received)) spin(random() * 300);
      continue;
    }
    if (Atomics.load(bells, 2) === 1 && queue.empty()) break;
    blockedEvents++;
    wait(0);
  }
  return {
    role,
    bytes: received,
    checksum,
    blockedEvents,
    stalls,
    firstMismatch,
    elapsedMs: performance.now() - started,
  };
}

if (parentPort !== null) {
  const { layout, role } = workerData as { layout: SpscLayout; role: "producer" | "consumer" };
  parentPort.postMessage(run(layout, role));
}
