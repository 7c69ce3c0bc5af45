import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CorruptIndexError, QueueConfigError } from "./errors.js";
import { provenanceTag, UNTAGGED } from "./provenance.js";
import { SerialQueue, type SerialQueueOptions } from "./queue.js";
import { arbCapacity, arbStartIndex, arbTaggedBytes } from "./testing/arbitraries.js";
import { Wrapping32 } from "./wrapping.js";

/** Two handles on one zeroed queue (producer, consumer) with indices preset to `start`. */
function pair(capacity: number, start = 0, options: SerialQueueOptions = {}) {
  const region = new Uint8Array(new SharedArrayBuffer(0x1000));
  const view = new DataView(region.buffer);
  view.setUint32(0, start, true);
  view.setUint32(4, start, true);
  const data = new Uint8Array(capacity);
  const tags = new Uint32Array(capacity);
  const make = () => new SerialQueue(region, data, { capacity, tags, ...options });
  return { producer: make(), consumer: make(), view };
}

describe("Wrapping32 (§2.3 width)", () => {
  it("adds, subtracts and measures distance modulo 2^32", () => {
    expect(Wrapping32.add(0xffff_ffff, 1)).toBe(0);
    expect(Wrapping32.add(0, -1)).toBe(0xffff_ffff);
    expect(Wrapping32.since(2, 0xffff_fffe)).toBe(4);
    expect(Wrapping32.of(-1)).toBe(0xffff_ffff);
    expect(Wrapping32.of(2 ** 32 + 5)).toBe(5);
  });
});

describe("dequeueBatch", () => {
  it("equals that many dequeues: same bytes, same tags, same head, across the 2^32 wrap", () => {
    fc.assert(
      fc.property(
        arbCapacity(0, 6),
        arbStartIndex(),
        arbTaggedBytes(64),
        fc.nat({ max: 70 }),
        fc.nat({ max: 8 }),
        (capacity, start, input, max, at) => {
          const a = pair(capacity, start);
          const b = pair(capacity, start);
          const sent = a.producer.enqueueBatch(
            Uint8Array.from(input.bytes),
            Uint32Array.from(input.tags),
          );
          b.producer.enqueueBatch(Uint8Array.from(input.bytes), Uint32Array.from(input.tags));
          const dst = new Uint8Array(at + max);
          const dstTags = new Uint32Array(at + max);
          const n = a.consumer.dequeueBatch(dst, dstTags, at);
          const expected: number[] = [];
          const expectedTags: number[] = [];
          for (let i = 0; i < max; i++) {
            const byte = b.consumer.dequeue();
            if (byte === undefined) break;
            expected.push(byte);
            expectedTags.push(b.consumer.lastTag);
          }
          expect(n).toBe(Math.min(max, sent));
          expect([...dst.subarray(at, at + n)]).toEqual(expected);
          expect([...dstTags.subarray(at, at + n)]).toEqual(expectedTags);
          expect(a.consumer.head).toBe(b.consumer.head);
          expect(a.consumer.head).toBe(Wrapping32.add(start, n));
        },
      ),
    );
  });

  it("copies at most `max` bytes and leaves the rest of the caller's array alone", () => {
    const { producer, consumer } = pair(8);
    producer.enqueueBatch(Uint8Array.from([1, 2, 3, 4, 5]), provenanceTag(1, 0));
    const dst = new Uint8Array(6).fill(0xee);
    expect(consumer.dequeueBatch(dst, undefined, 1, 3)).toBe(3);
    expect([...dst]).toEqual([0xee, 1, 2, 3, 0xee, 0xee]);
    expect(consumer.lengthConsumer()).toBe(2);
  });

  it("writes UNTAGGED tags when the queue has no provenance shadow", () => {
    const q = new SerialQueue(new Uint8Array(12), new Uint8Array(4));
    q.enqueue(7);
    const tags = new Uint32Array(2).fill(9);
    expect(q.dequeueBatch(new Uint8Array(2), tags)).toBe(1);
    expect([...tags]).toEqual([UNTAGGED, 9]);
  });

  it("the local variant advances only the local head; updateSharedHead publishes it", () => {
    const { producer, consumer } = pair(4, 0xffff_fffe);
    producer.enqueueBatch(Uint8Array.from([1, 2, 3]));
    const local = { head: consumer.head };
    const dst = new Uint8Array(4);
    expect(consumer.dequeueBatchLocal(local, dst, undefined, 0, 2)).toBe(2);
    expect(consumer.dequeueBatchLocal(local, dst, undefined, 2)).toBe(1);
    expect(local.head).toBe(1);
    expect(consumer.head).toBe(0xffff_fffe);
    consumer.updateSharedHead(local.head);
    expect(producer.free()).toBe(4);
    expect([...dst.subarray(0, 3)]).toEqual([1, 2, 3]);
  });

  it("rejects a range outside the caller's arrays", () => {
    const { consumer } = pair(4);
    expect(() => consumer.dequeueBatch(new Uint8Array(2), undefined, 1, 2)).toThrow(
      expect.objectContaining({ code: "BAD_RANGE" }),
    );
    expect(() => consumer.dequeueBatch(new Uint8Array(2), new Uint32Array(1))).toThrow(
      QueueConfigError,
    );
  });
});

describe("enqueueBatch from a range, and its local variant", () => {
  it("takes `count` bytes from `src[from ..]` with tags indexed like `src`", () => {
    const { producer, consumer } = pair(4, 0xffff_ffff);
    const src = Uint8Array.from([9, 1, 2, 3, 9]);
    const tags = Uint32Array.from([0, 11, 12, 13, 0]);
    expect(producer.enqueueBatch(src, tags, 1, 3)).toBe(3);
    const dst = new Uint8Array(3);
    const dstTags = new Uint32Array(3);
    expect(consumer.dequeueBatch(dst, dstTags)).toBe(3);
    expect([...dst]).toEqual([1, 2, 3]);
    expect([...dstTags]).toEqual([11, 12, 13]);
  });

  it("the local variant truncates to free space and publishes nothing", () => {
    const { producer } = pair(4);
    producer.enqueue(1);
    const local = { tail: producer.tail };
    expect(producer.enqueueBatchLocal(local, Uint8Array.from([2, 3, 4, 5]), 7)).toBe(3);
    expect(local.tail).toBe(4);
    expect(producer.tail).toBe(1);
    expect(producer.full(local.tail)).toBe(true);
    producer.updateSharedTail(local.tail);
    expect(producer.tags?.[3]).toBe(7);
  });
});

describe("broken: the sticky record of a corrupt peer index", () => {
  it("under 'break', the first corrupt load is recorded and every later call moves nothing", () => {
    const { producer, consumer, view } = pair(4, 0, { onCorruptIndex: "break" });
    producer.enqueueBatch(Uint8Array.from([1, 2]));
    expect(consumer.broken).toBeUndefined();
    view.setUint32(0, 9, true);
    expect(consumer.dequeueBatch(new Uint8Array(4))).toBe(0);
    expect(consumer.broken).toMatchObject({
      code: "CORRUPT_PEER_INDEX",
      field: "tail",
      value: 9,
      against: 0,
      capacity: 4,
    });
    // Sticky: a repaired index does not revive the handle, and nothing is published.
    view.setUint32(0, 2, true);
    expect(consumer.dequeue()).toBeUndefined();
    expect(consumer.lengthConsumer()).toBe(0);
    expect(consumer.contiguousLength()).toBe(0);
    expect(consumer.empty()).toBe(true);
    expect(consumer.requireConsumerSignal()).toBe(false);
    consumer.updateSharedHead(2);
    expect(consumer.head).toBe(0);
    // The other handle on the same queue is independent.
    expect(producer.broken).toBeUndefined();
    expect(producer.free()).toBe(2);
  });

  it("a broken producer sees a full queue and writes no slot", () => {
    const { producer, view } = pair(4, 100, { onCorruptIndex: "break" });
    producer.enqueue(1);
    producer.cancelConsumerSignal();
    view.setUint32(4, 102, true);
    const before = [...producer.data];
    expect(producer.enqueueBatch(Uint8Array.from([5, 6]))).toBe(0);
    expect(producer.broken).toMatchObject({ field: "head", value: 102, against: 101 });
    expect(producer.enqueue(5)).toBe(false);
    expect(producer.full()).toBe(true);
    expect(producer.free()).toBe(0);
    expect(producer.contiguousFree()).toBe(0);
    expect(producer.lengthProducer()).toBe(0);
    producer.requestConsumerSignal();
    expect(producer.producerSignalled).toBe(1);
    expect([...producer.data]).toEqual(before);
    expect(producer.tail).toBe(101);
  });

  it("under the default 'throw', each corrupt load throws and nothing is recorded", () => {
    const { consumer, view } = pair(4);
    view.setUint32(0, 5, true);
    expect(() => consumer.dequeueBatch(new Uint8Array(1))).toThrow(CorruptIndexError);
    view.setUint32(0, 6, true);
    expect(() => consumer.lengthConsumer()).toThrow(/corrupt tail 0x6/);
    expect(consumer.broken).toBeUndefined();
  });

  it("recover() clears the record; the next call validates the peer's index again", () => {
    const { producer, consumer, view } = pair(4, 0, { onCorruptIndex: "break" });
    producer.enqueueBatch(Uint8Array.from([1, 2]));
    view.setUint32(0, 9, true);
    expect(consumer.dequeue()).toBeUndefined();
    consumer.recover();
    expect(consumer.broken).toBeUndefined();
    expect(consumer.lengthConsumer()).toBe(0);
    expect(consumer.broken?.value).toBe(9);
    view.setUint32(0, 2, true);
    consumer.recover();
    expect(consumer.dequeue()).toBe(1);
  });

  it("fromRegions passes the policy on", () => {
    const buffer = new ArrayBuffer(0x20);
    const q = SerialQueue.fromRegions(
      { buffer, byteOffset: 0, size: 0x10 },
      { buffer, byteOffset: 0x10, size: 0x10 },
      { onCorruptIndex: "break" },
    );
    new DataView(buffer).setUint32(0, 0x11, true);
    expect(q.lengthConsumer()).toBe(0);
    expect(q.broken?.field).toBe("tail");
  });
});
