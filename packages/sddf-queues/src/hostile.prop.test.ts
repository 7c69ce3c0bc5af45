/**
 * Hostile peer (reference/sddf-serial.md §2.2–§2.3, DESIGN.md oracle 6): the other side of a
 * queue may write any value into the shared tail, head and flag at any time. Whatever it
 * writes, every operation either completes with results inside the queue's bounds or throws
 * `CorruptIndexError`; no other exception, no access outside the ring, no loop without end.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CorruptIndexError } from "./errors.js";
import { SerialQueue, type SerialQueueOptions } from "./queue.js";
import { arbCapacity, arbStartIndex } from "./testing/arbitraries.js";
import { TrustingQueue } from "./testing/planted.js";
import { transferAll } from "./transfer.js";

const numRuns = Number(process.env.VMMUX_PROP_RUNS ?? 300);
const seed = 0x4051;
const GUARD = 16;
const GUARD_BYTE = 0x5a;
const GUARD_TAG = 0xdead_beef;

type Factory = (region: Uint8Array, data: Uint8Array, options: SerialQueueOptions) => SerialQueue;

const OPS = [
  "enqueue",
  "dequeue",
  "enqueueLocal",
  "dequeueLocal",
  "enqueueBatch",
  "transferOut",
  "transferIn",
  "free",
  "contiguousFree",
  "contiguousLength",
  "lengthConsumer",
  "lengthProducer",
  "empty",
  "full",
] as const;

type Action =
  | { kind: "peer"; field: 0 | 1 | 2; relative: boolean; value: number }
  | { kind: "op"; op: (typeof OPS)[number]; size: number };

const arbAction: fc.Arbitrary<Action> = fc.oneof(
  fc.record({
    kind: fc.constant("peer" as const),
    field: fc.constantFrom<0 | 1 | 2>(0, 1, 2),
    relative: fc.boolean(),
    value: fc.oneof(fc.integer({ min: -130, max: 130 }), fc.nat({ max: 2 ** 32 - 1 })),
  }),
  fc.record({
    kind: fc.constant("op" as const),
    op: fc.constantFrom(...OPS),
    size: fc.nat({ max: 150 }),
  }),
);

/**
 * `sticky`: the queue runs under `onCorruptIndex: "break"`; then no call may throw at all,
 * and once `broken` is set no call may change the ring, the shared words or the peer queue
 * of a transfer (a broken queue moves nothing, in either direction).
 */
function hostileProperty(factory: Factory, sticky = false) {
  return fc.property(
    arbCapacity(0, 6),
    arbStartIndex(),
    fc.array(arbAction, { maxLength: 60 }),
    (capacity, start, actions) => {
      const region = new Uint8Array(new SharedArrayBuffer(12));
      const words = new DataView(region.buffer);
      words.setUint32(0, start, true);
      words.setUint32(4, start, true);
      const data = new Uint8Array(capacity + GUARD).fill(GUARD_BYTE);
      const tags = new Uint32Array(capacity + GUARD).fill(GUARD_TAG);
      const q = factory(region, data, {
        capacity,
        tags,
        ...(sticky ? { onCorruptIndex: "break" as const } : {}),
      });
      const other = new SerialQueue(new Uint8Array(12), new Uint8Array(64));
      const inBounds = (what: string, n: number, max = capacity) => {
        if (!(Number.isInteger(n) && n >= 0 && n <= max)) throw new Error(`${what} = ${n}`);
      };
      const snapshot = () => `${[...region]}|${[...data]}|${[...tags]}`;
      for (const action of actions) {
        if (action.kind === "peer") {
          const offset = action.field * 4;
          const base = action.relative ? words.getUint32(action.field === 0 ? 4 : 0, true) : 0;
          words.setUint32(offset, (base + action.value) >>> 0, true);
          continue;
        }
        const frozen = q.broken === undefined ? undefined : snapshot();
        try {
          switch (action.op) {
            case "enqueue":
              q.enqueue(action.size & 0xff, action.size);
              break;
            case "dequeue": {
              const b = q.dequeue();
              if (b !== undefined) inBounds("dequeued byte", b, 255);
              break;
            }
            case "enqueueLocal": {
              const local = { tail: q.tail };
              for (let i = 0; i < action.size && q.enqueueLocal(local, i); i++);
              q.updateSharedTail(local.tail);
              break;
            }
            case "dequeueLocal": {
              const local = { head: q.head };
              for (let i = 0; i < action.size && q.dequeueLocal(local) !== undefined; i++);
              q.updateSharedHead(local.head);
              break;
            }
            case "enqueueBatch":
              inBounds("batch count", q.enqueueBatch(new Uint8Array(action.size).fill(7), 3));
              break;
            case "transferOut": {
              const r = transferAll(other, q);
              inBounds("moved + dropped", r.moved + r.dropped);
              if (frozen !== undefined)
                inBounds("moved from a broken queue", r.moved + r.dropped, 0);
              other.updateSharedHead(other.tail);
              break;
            }
            case "transferIn": {
              other.enqueueBatch(new Uint8Array(action.size % 64).fill(9));
              const head = other.head;
              transferAll(q, other);
              if (frozen !== undefined && other.head !== head) {
                throw new Error("a broken queue consumed its source");
              }
              break;
            }
            case "free":
              inBounds("free", q.free());
              break;
            case "contiguousFree":
              inBounds("contiguousFree", q.contiguousFree());
              break;
            case "contiguousLength":
              inBounds("contiguousLength", q.contiguousLength());
              break;
            case "lengthConsumer":
              inBounds("lengthConsumer", q.lengthConsumer());
              break;
            case "lengthProducer":
              inBounds("lengthProducer", q.lengthProducer());
              break;
            case "empty":
              q.empty();
              break;
            case "full":
              q.full();
              break;
          }
        } catch (e) {
          if (sticky || !(e instanceof CorruptIndexError)) throw e;
        }
        if (frozen !== undefined && snapshot() !== frozen) {
          throw new Error(`${action.op} changed state after the queue broke`);
        }
        for (let i = capacity; i < data.length; i++) {
          if (data[i] !== GUARD_BYTE || tags[i] !== GUARD_TAG) {
            throw new Error(`write outside the ring at data offset ${i}`);
          }
        }
      }
    },
  );
}

describe("queue against a hostile peer", () => {
  it("contains any index a peer writes: bounded results or CorruptIndexError, nothing else", () => {
    fc.assert(
      hostileProperty((r, d, o) => new SerialQueue(r, d, o)),
      { numRuns, seed },
    );
  });

  it("under onCorruptIndex 'break': never throws, and a broken queue changes nothing", () => {
    fc.assert(
      hostileProperty((r, d, o) => new SerialQueue(r, d, o), true),
      { numRuns, seed },
    );
  });

  it("catches the planted queue that trusts its peer's indices", () => {
    const result = fc.check(
      hostileProperty((r, d, o) => new TrustingQueue(r, d, o)),
      { numRuns: Math.max(numRuns, 300), seed },
    );
    expect(result.failed).toBe(true);
  });
});
