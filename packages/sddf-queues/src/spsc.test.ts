/**
 * Two real threads over one SharedArrayBuffer queue (reference/sddf-serial.md §2.6): a
 * producer worker and a consumer worker move more than 10 MB with the signalling protocol
 * (the consumer alternates between bulk reads, local-head dequeues and transferAll);
 * every byte and tag arrives in order (checked per byte and by checksum), the queue is
 * sometimes full and sometimes empty, and no wait ever times out.
 */
import { Worker } from "node:worker_threads";
import { describe, expect, it } from "vitest";
import { LAYOUT, type SpscLayout, type SpscReport } from "./testing-internal/spsc-worker.js";

function startWorker(layout: SpscLayout, role: "producer" | "consumer"): Promise<SpscReport> {
  const worker = new Worker(new URL("./testing-internal/spsc-worker.mjs", import.meta.url), {
    workerData: { layout, role },
  });
  return new Promise((resolve, reject) => {
    worker.once("message", (report: SpscReport) => {
      resolve(report);
      void worker.terminate();
    });
    worker.once("error", reject);
    worker.once("exit", (code) => {
      if (code !== 0) reject(new Error(`${role} worker exited with code ${code}`));
    });
  });
}

describe("SerialQueue between two worker threads", () => {
  it("moves 10 MiB in order with matching checksums through a sometimes-full, sometimes-empty queue", async () => {
    const capacity = 4096;
    const layout: SpscLayout = {
      memory: new SharedArrayBuffer(LAYOUT.data + capacity * 5),
      capacity,
      totalBytes: 10 * 1024 * 1024 + 12345,
      seed: 0x5eed,
    };
    const [producer, consumer] = await Promise.all([
      startWorker(layout, "producer"),
      startWorker(layout, "consumer"),
    ]);
    expect(consumer.firstMismatch).toBe(-1);
    expect(consumer.bytes).toBe(layout.totalBytes);
    expect(producer.bytes).toBe(layout.totalBytes);
    expect(consumer.checksum).toBe(producer.checksum);
    expect(producer.blockedEvents).toBeGreaterThan(0);
    expect(consumer.blockedEvents).toBeGreaterThan(0);
    expect(producer.stalls + consumer.stalls).toBe(0);
  }, 60_000);
});
