/**
 * Model-based suite (reference/sddf-serial.md §2.3–§2.4): random programs of every queue
 * operation, on shared and local index paths, random power-of-two capacities and start
 * indices near the 2^32 and 2^31 wrap points, agree with a plain-array model at every step.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { SerialQueue } from "./queue.js";
import { type QueueFactory, queueModelProperty } from "./testing/commands.js";
import { TruncatingBatchQueue, UnwrappedLengthQueue } from "./testing/planted.js";

const numRuns = Number(process.env.VMMUX_PROP_RUNS ?? 300);
const seed = 0x5ddf;

const real: QueueFactory = (region, data, options) => new SerialQueue(region, data, options);

describe("SerialQueue against the plain-array model", () => {
  it("agrees with the model on every operation", () => {
    fc.assert(queueModelProperty(real), { numRuns, seed });
  });

  it("agrees with the model over an unshared queue region, whose words are plain accesses", () => {
    const unshared: QueueFactory = (region, data, options) => {
      const copy = new Uint8Array(new ArrayBuffer(region.length));
      copy.set(region);
      return new SerialQueue(copy, data, options);
    };
    fc.assert(queueModelProperty(unshared), { numRuns, seed });
  });

  it("catches the planted pre-fix enqueue_batch that truncates at the end of the ring", () => {
    const planted: QueueFactory = (region, data, options) =>
      new TruncatingBatchQueue(region, data, options);
    const result = fc.check(queueModelProperty(planted), { numRuns: Math.max(numRuns, 200), seed });
    expect(result.failed).toBe(true);
  });

  it("catches the planted length computed without u32 wrap", () => {
    const planted: QueueFactory = (region, data, options) =>
      new UnwrappedLengthQueue(region, data, options);
    const result = fc.check(queueModelProperty(planted), { numRuns: Math.max(numRuns, 200), seed });
    expect(result.failed).toBe(true);
  });
});
