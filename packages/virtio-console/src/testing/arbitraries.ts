/**
 * fast-check arbitraries for console-level hostile-guest runs ({@link HostileOp} lists).
 * Weighted towards operations that make progress (well-formed chains, kicks, drains) so
 * that the hostile ones meet a device with work in flight.
 */
import fc from "fast-check";
import {
  FUZZ_ADDRESSES,
  FUZZ_OFFSETS,
  FUZZ_QUEUE_SIZE,
  FUZZ_STATUS_VALUES,
  type HostileOp,
} from "./hostile.js";

const queueArb = fc.constantFrom(0, 1, 1, 2);
const lenArb = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 0, max: 600 }) },
  { weight: 2, arbitrary: fc.integer({ min: 600, max: 0x2400 }) },
  { weight: 1, arbitrary: fc.constantFrom(0xffff_ffff, 0x1_0000, 0x8000_0000) },
);

export interface HostileArbOptions {
  /** Largest avail.idx jump; libvmm reprocesses that many stale slots per kick (L15). */
  readonly maxPublish?: number;
}

export function hostileOpArb(options: HostileArbOptions = {}): fc.Arbitrary<HostileOp> {
  const maxPublish = options.maxPublish ?? 65535;
  return fc.oneof(
    {
      weight: 8,
      arbitrary: fc.record({
        op: fc.constant("chain" as const),
        queue: fc.constantFrom(0, 1, 1, 1),
        index: fc.integer({ min: 0, max: FUZZ_QUEUE_SIZE - 1 }),
        parts: fc.array(
          fc.record({
            offset: fc.integer({ min: 0, max: 0xf000 }),
            len: fc.oneof(fc.integer({ min: 1, max: 300 }), fc.integer({ min: 300, max: 0x1800 })),
            writable: fc.boolean(),
          }),
          { minLength: 1, maxLength: 3 },
        ),
      }),
    },
    { weight: 6, arbitrary: fc.record({ op: fc.constant("notify" as const), queue: queueArb }) },
    {
      weight: 5,
      arbitrary: fc.record({
        op: fc.constant("drain" as const),
        max: fc.integer({ min: 1, max: 5000 }),
      }),
    },
    {
      weight: 3,
      arbitrary: fc.record({
        op: fc.constant("input" as const),
        len: fc.integer({ min: 1, max: 3000 }),
      }),
    },
    {
      weight: 3,
      arbitrary: fc.record({
        op: fc.constant("desc" as const),
        queue: fc.constantFrom(0, 1),
        index: fc.integer({ min: 0, max: 15 }),
        addr: fc.oneof(
          fc.constantFrom(...FUZZ_ADDRESSES),
          fc.integer({ min: 0, max: 0xffff }).map((o) => (FUZZ_ADDRESSES[0] as number) + o),
        ),
        len: lenArb,
        flags: fc.integer({ min: 0, max: 7 }),
        next: fc.integer({ min: 0, max: 12 }),
      }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        op: fc.constant("avail" as const),
        queue: fc.constantFrom(0, 1),
        slot: fc.integer({ min: 0, max: FUZZ_QUEUE_SIZE - 1 }),
        head: fc.oneof(fc.integer({ min: 0, max: 9 }), fc.constant(0xffff)),
      }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        op: fc.constant("publish" as const),
        queue: fc.constantFrom(0, 1),
        count: fc.oneof(
          fc.integer({ min: 1, max: 3 }),
          fc.integer({ min: 9, max: Math.max(9, maxPublish) }),
        ),
      }),
    },
    {
      weight: 2,
      arbitrary: fc.oneof(
        fc.record({
          op: fc.constant("write" as const),
          offset: fc.constant(0x070),
          width: fc.constant(4 as const),
          value: fc.constantFrom(...FUZZ_STATUS_VALUES),
        }),
        fc.record({
          op: fc.constant("write" as const),
          offset: fc.constantFrom(...FUZZ_OFFSETS),
          width: fc.constantFrom(1 as const, 2 as const, 4 as const, 4 as const, 8 as const),
          value: fc.oneof(fc.integer({ min: 0, max: 16 }), fc.constant(0xffff_ffff), fc.nat()),
        }),
        fc.record({
          op: fc.constant("read" as const),
          offset: fc.constantFrom(...FUZZ_OFFSETS),
          width: fc.constantFrom(1 as const, 2 as const, 4 as const),
        }),
      ),
    },
    { weight: 1, arbitrary: fc.constant({ op: "reprobe" as const }) },
    {
      weight: 1,
      arbitrary: fc.record({
        op: fc.constant("resize" as const),
        cols: fc.integer({ min: 0, max: 300 }),
        rows: fc.integer({ min: 0, max: 100 }),
      }),
    },
  );
}

/** A hostile run: a list of operations. */
export function hostileRunArb(
  minLength = 400,
  maxLength = 800,
  options: HostileArbOptions = {},
): fc.Arbitrary<HostileOp[]> {
  return fc.array(hostileOpArb(options), { minLength, maxLength });
}
