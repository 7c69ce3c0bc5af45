import { describe, expect, it } from "vitest";
import { CorruptIndexError, QueueAssertionError, QueueConfigError } from "./errors.js";
import { provenanceTag } from "./provenance.js";
import { MAX_CAPACITY, SerialQueue, type SerialQueueOptions } from "./queue.js";

interface Fixture {
  q: SerialQueue;
  region: Uint8Array;
  view: DataView;
}

/** A zeroed queue (§1.1: memory regions start zero-filled) with indices preset to `start`. */
function fixture(capacity: number, start = 0, options: SerialQueueOptions = {}): Fixture {
  const region = new Uint8Array(new SharedArrayBuffer(0x1000));
  const view = new DataView(region.buffer);
  view.setUint32(0, start, true);
  view.setUint32(4, start, true);
  const data = new Uint8Array(new SharedArrayBuffer(capacity));
  return { q: new SerialQueue(region, data, { capacity, ...options }), region, view };
}

describe("construction", () => {
  it.each([0, 3, 12, 1.5, -4, MAX_CAPACITY * 2])("rejects capacity %s with BAD_CAPACITY", (c) => {
    const make = () => new SerialQueue(new Uint8Array(16), new Uint8Array(64), { capacity: c });
    expect(make).toThrow(QueueConfigError);
    expect(make).toThrow(expect.objectContaining({ code: "BAD_CAPACITY" }));
  });

  it("rejects a data region smaller than the capacity", () => {
    expect(() => new SerialQueue(new Uint8Array(16), new Uint8Array(8), { capacity: 16 })).toThrow(
      /data region of 8 bytes is smaller than capacity 16/,
    );
  });

  it("takes the capacity from the data region by default and rejects a non-power-of-two one", () => {
    expect(new SerialQueue(new Uint8Array(12), new Uint8Array(32)).capacity).toBe(32);
    expect(() => new SerialQueue(new Uint8Array(12), new Uint8Array(24))).toThrow(
      expect.objectContaining({ code: "BAD_CAPACITY" }),
    );
  });

  it("rejects a queue region smaller than serial_queue_t or not 4-byte aligned", () => {
    expect(() => new SerialQueue(new Uint8Array(11), new Uint8Array(4))).toThrow(
      expect.objectContaining({ code: "BAD_QUEUE_REGION" }),
    );
    const misaligned = new Uint8Array(new ArrayBuffer(32), 2, 16);
    expect(() => new SerialQueue(misaligned, new Uint8Array(4))).toThrow(/not 4-byte aligned/);
  });

  it("rejects a provenance shadow shorter than the capacity", () => {
    const make = () =>
      new SerialQueue(new Uint8Array(12), new Uint8Array(8), { tags: new Uint32Array(7) });
    expect(make).toThrow(expect.objectContaining({ code: "BAD_TAGS" }));
  });
});

describe("shared layout (§2.1)", () => {
  it("keeps tail at 0x0, head at 0x4 and producer_signalled at 0x8, little-endian", () => {
    const { q, view } = fixture(4);
    q.enqueue(1);
    q.enqueue(2);
    q.dequeue();
    q.cancelConsumerSignal();
    expect(view.getUint32(0, true)).toBe(2);
    expect(view.getUint32(4, true)).toBe(1);
    expect(view.getUint32(8, true)).toBe(1);
    view.setUint32(0, 0x0102_0304, true);
    expect(q.tail).toBe(0x0102_0304);
  });

  it("uses a queue region at a 4-byte-aligned offset inside a larger buffer", () => {
    const buffer = new SharedArrayBuffer(64);
    const q = new SerialQueue(new Uint8Array(buffer, 20, 12), new Uint8Array(buffer, 32, 8));
    q.enqueue(0x41);
    expect(new DataView(buffer).getUint32(20, true)).toBe(1);
    expect(new Uint8Array(buffer)[32]).toBe(0x41);
  });

  it("starts in the signal-requested state: zeroed flag means require is true (§3.1)", () => {
    const { q } = fixture(4);
    expect(q.producerSignalled).toBe(0);
    expect(q.requireConsumerSignal()).toBe(true);
  });
});

describe("enqueue and dequeue", () => {
  it("delivers bytes in FIFO order and reports empty as undefined", () => {
    const { q } = fixture(8);
    for (const b of [10, 20, 30]) expect(q.enqueue(b)).toBe(true);
    expect([q.dequeue(), q.dequeue(), q.dequeue(), q.dequeue()]).toEqual([10, 20, 30, undefined]);
  });

  it("uses all capacity slots: full exactly at length == capacity, no sacrificial slot", () => {
    const { q } = fixture(4);
    for (let i = 0; i < 4; i++) {
      expect(q.full()).toBe(false);
      expect(q.enqueue(i)).toBe(true);
    }
    expect(q.full()).toBe(true);
    expect(q.enqueue(9)).toBe(false);
    expect(q.tail).toBe(4);
    expect(q.lengthConsumer()).toBe(4);
    expect(q.lengthProducer()).toBe(4);
    expect(q.free()).toBe(0);
  });

  it("wraps the free-running indices across 2^32 with continuous slots", () => {
    const { q, view } = fixture(4, 2 ** 32 - 2);
    for (const b of [1, 2, 3, 4]) expect(q.enqueue(b)).toBe(true);
    expect(q.tail).toBe(2);
    expect(q.head).toBe(2 ** 32 - 2);
    expect(q.full()).toBe(true);
    expect(q.lengthConsumer()).toBe(4);
    expect([...q.data]).toEqual([3, 4, 1, 2]);
    expect([q.dequeue(), q.dequeue(), q.dequeue()]).toEqual([1, 2, 3]);
    expect(view.getUint32(4, true)).toBe(1);
    expect(q.dequeue()).toBe(4);
    expect(q.empty()).toBe(true);
  });

  it("carries each byte's provenance tag and reports it as lastTag", () => {
    const { q } = fixture(4, 0, { tags: new Uint32Array(4) });
    q.enqueue(0x61, provenanceTag(1, 7));
    q.enqueue(0x62);
    expect(q.tagAt(0)).toBe(provenanceTag(1, 7));
    expect(q.byteAt(1)).toBe(0x62);
    expect(q.dequeue()).toBe(0x61);
    expect(q.lastTag).toBe(provenanceTag(1, 7));
    expect(q.dequeue()).toBe(0x62);
    expect(q.lastTag).toBe(0);
  });

  it("reads tags as UNTAGGED on a queue without a shadow", () => {
    const { q } = fixture(2);
    q.enqueue(1, 99);
    expect(q.tagAt(0)).toBe(0);
    q.dequeue();
    expect(q.lastTag).toBe(0);
  });
});

describe("local index paths", () => {
  it("enqueueLocal publishes nothing until updateSharedTail", () => {
    const { q } = fixture(4);
    const local = { tail: q.tail };
    expect(q.enqueueLocal(local, 7)).toBe(true);
    expect(q.enqueueLocal(local, 8)).toBe(true);
    expect(local.tail).toBe(2);
    expect(q.empty()).toBe(true);
    q.updateSharedTail(local.tail);
    expect(q.lengthConsumer()).toBe(2);
    expect([q.dequeue(), q.dequeue()]).toEqual([7, 8]);
  });

  it("enqueueLocal stops at full(localTail) while the shared tail lags", () => {
    const { q } = fixture(2, 2 ** 32 - 1);
    const local = { tail: q.tail };
    expect(q.enqueueLocal(local, 1)).toBe(true);
    expect(q.enqueueLocal(local, 2)).toBe(true);
    expect(local.tail).toBe(1);
    expect(q.full(local.tail)).toBe(true);
    expect(q.full()).toBe(false);
    expect(q.enqueueLocal(local, 3)).toBe(false);
  });

  it("dequeueLocal frees nothing for the producer until updateSharedHead", () => {
    const { q } = fixture(2);
    q.enqueue(5);
    q.enqueue(6);
    const local = { head: q.head };
    expect(q.dequeueLocal(local)).toBe(5);
    expect(q.dequeueLocal(local)).toBe(6);
    expect(q.dequeueLocal(local)).toBeUndefined();
    expect(q.empty(local.head)).toBe(true);
    expect(q.empty()).toBe(false);
    expect(q.free()).toBe(0);
    q.updateSharedHead(local.head);
    expect(q.free()).toBe(2);
  });
});

describe("debug-build checks in checked mode (§2.4)", () => {
  it("update_shared_tail: a tail moving backwards asserts", () => {
    const { q } = fixture(4, 10, { checked: true });
    q.enqueue(1);
    q.enqueue(2);
    expect(() => q.updateSharedTail(11)).toThrow(QueueAssertionError);
    expect(() => q.updateSharedTail(11)).toThrow(/tail moves backwards/);
    expect(q.tail).toBe(12);
  });

  it("update_shared_tail: a length above capacity asserts", () => {
    const { q } = fixture(4, 2 ** 32 - 1, { checked: true });
    expect(() => q.updateSharedTail(4)).toThrow(/length exceeds capacity/);
    q.updateSharedTail(3);
    expect(q.lengthConsumer()).toBe(4);
  });

  it("update_shared_head: moving backwards or past the tail asserts", () => {
    const { q } = fixture(4, 100, { checked: true });
    q.enqueue(1);
    q.enqueue(2);
    expect(() => q.updateSharedHead(103)).toThrow(/head moves backwards or past tail/);
    q.updateSharedHead(101);
    expect(() => q.updateSharedHead(100)).toThrow(
      expect.objectContaining({ code: "ASSERTION_FAILED" }),
    );
  });

  it("without checked mode the same misuse is not asserted, as in release builds", () => {
    const { q } = fixture(4, 10);
    q.enqueue(1);
    q.updateSharedTail(10);
    expect(q.tail).toBe(10);
  });
});

describe("contiguous length and free", () => {
  it("stop at the end of the ring", () => {
    const { q } = fixture(8, 5);
    for (let i = 0; i < 5; i++) q.enqueue(i);
    // slots 5,6,7 then 0,1
    expect(q.contiguousLength()).toBe(3);
    expect(q.free()).toBe(3);
    expect(q.contiguousFree()).toBe(3);
    q.dequeue();
    q.dequeue();
    q.dequeue();
    expect(q.contiguousLength()).toBe(2);
    expect(q.contiguousFree()).toBe(6);
  });
});

describe("enqueueBatch", () => {
  it("truncates to the free space, splits at the ring's end and publishes once", () => {
    const { q } = fixture(8, 6, { tags: new Uint32Array(8) });
    q.enqueue(0xee);
    const n = q.enqueueBatch(
      Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]),
      Uint32Array.from([11, 12, 13, 14, 15, 16, 17, 18, 19]),
    );
    expect(n).toBe(7);
    expect(q.tail).toBe(14);
    expect([...q.data]).toEqual([2, 3, 4, 5, 6, 7, 0xee, 1]);
    expect([...q.tags!]).toEqual([12, 13, 14, 15, 16, 17, 0, 11]);
    expect(q.enqueueBatch(Uint8Array.from([1]))).toBe(0);
  });

  it("splits a batch across the 2^32 wrap at the ring's end and publishes the wrapped tail", () => {
    const { q } = fixture(8, 2 ** 32 - 3);
    expect(q.contiguousFree()).toBe(3);
    expect(q.enqueueBatch(Uint8Array.from([1, 2, 3, 4, 5]))).toBe(5);
    expect(q.tail).toBe(2);
    expect([...q.data]).toEqual([4, 5, 0, 0, 0, 1, 2, 3]);
    expect(q.contiguousLength()).toBe(3);
    expect([q.dequeue(), q.dequeue(), q.dequeue(), q.dequeue()]).toEqual([1, 2, 3, 4]);
    expect(q.head).toBe(1);
  });

  it("gives every byte the same tag when one tag is passed, UNTAGGED when none", () => {
    const { q } = fixture(4, 0, { tags: new Uint32Array(4).fill(7) });
    q.enqueueBatch(Uint8Array.from([1, 2]), 0xfd00_0001);
    q.enqueueBatch(Uint8Array.from([3]));
    expect([...q.tags!]).toEqual([0xfd00_0001, 0xfd00_0001, 0, 7]);
  });

  it("rejects a tag array shorter than the bytes", () => {
    const { q } = fixture(4, 0, { tags: new Uint32Array(4) });
    expect(() => q.enqueueBatch(Uint8Array.from([1, 2]), Uint32Array.from([1]))).toThrow(
      expect.objectContaining({ code: "BAD_TAGS" }),
    );
  });
});

describe("signal flag (§3.1)", () => {
  it("request stores 0, cancel stores 1, require reads it", () => {
    const { q } = fixture(2);
    q.cancelConsumerSignal();
    expect(q.requireConsumerSignal()).toBe(false);
    q.requestConsumerSignal();
    expect(q.producerSignalled).toBe(0);
    expect(q.requireConsumerSignal()).toBe(true);
  });
});

describe("corrupt peer indices", () => {
  it("a producer tail more than capacity ahead of head is reported on the consumer's load", () => {
    const { q, view } = fixture(4);
    view.setUint32(0, 5, true);
    expect(() => q.dequeue()).toThrow(CorruptIndexError);
    expect(() => q.lengthConsumer()).toThrow(
      /corrupt tail 0x5 at queue offset 0x0: length 5 exceeds capacity 4/,
    );
    expect(() => q.empty()).toThrow(
      expect.objectContaining({ code: "CORRUPT_PEER_INDEX", field: "tail" }),
    );
    expect(() => q.contiguousLength()).toThrow(CorruptIndexError);
  });

  it("a consumer head that passes the tail is reported on the producer's load", () => {
    const { q, view } = fixture(4, 100);
    q.enqueue(1);
    view.setUint32(4, 102, true);
    expect(() => q.free()).toThrow(
      /corrupt head 0x66 at queue offset 0x4: head passes tail \(length -1\)/,
    );
    for (const op of [
      () => q.enqueue(1),
      () => q.free(),
      () => q.full(),
      () => q.contiguousFree(),
      () => q.lengthProducer(),
      () => q.enqueueBatch(Uint8Array.from([1])),
    ]) {
      expect(op).toThrow(expect.objectContaining({ code: "CORRUPT_PEER_INDEX", field: "head" }));
    }
    expect(q.tail).toBe(101);
  });

  it("a corrupt index never moves data: the data region is unchanged after the error", () => {
    const { q, view } = fixture(4);
    q.enqueueBatch(Uint8Array.from([1, 2, 3]));
    view.setUint32(4, 0x8000_0000, true);
    const before = [...q.data];
    expect(() => q.enqueueBatch(Uint8Array.from([9, 9, 9, 9]))).toThrow(CorruptIndexError);
    expect([...q.data]).toEqual(before);
  });
});
