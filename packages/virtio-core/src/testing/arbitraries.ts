/**
 * fast-check arbitraries for chains and queue-pair scripts, shared with packages above.
 */
import fc from "fast-check";
import { Reg } from "../constants.js";
import type { MmioWidth } from "../mmio.js";
import {
  HOSTILE_DATA_BASE,
  HOSTILE_QUEUE_BASE,
  HOSTILE_RAM_BASE,
  HOSTILE_RAM_SIZE,
  type HostileOp,
} from "./hostile.js";
import type { QueuePairConfig, QueuePairOp } from "./queue-pair.js";

/** Buffer lengths of one chain: 0–3 readable and 0–3 writable, at least one buffer. */
export function chainShapeArb(maxLen = 64) {
  const lens = (n: number) => fc.array(fc.integer({ min: 1, max: maxLen }), { maxLength: n });
  return fc
    .record({ readable: lens(3), writable: lens(3), indirect: fc.boolean() })
    .filter((c) => c.readable.length + c.writable.length > 0);
}

export function queuePairOpArb(): fc.Arbitrary<QueuePairOp> {
  return fc.oneof(
    { weight: 5, arbitrary: chainShapeArb().map((c) => ({ op: "add" as const, ...c })) },
    {
      weight: 3,
      arbitrary: fc.integer({ min: 1, max: 8 }).map((max) => ({ op: "device" as const, max })),
    },
    { weight: 2, arbitrary: fc.constant({ op: "arm" as const }) },
    { weight: 2, arbitrary: fc.constant({ op: "collect" as const }) },
  );
}

/** Sizes 1–64, EVENT_IDX and INDIRECT on or off, start index anywhere (often near the wrap). */
export function queuePairConfigArb(): fc.Arbitrary<QueuePairConfig> {
  return fc.record({
    size: fc.constantFrom(1, 2, 4, 8, 16, 64),
    features: fc.record({ eventIdx: fc.boolean(), indirect: fc.boolean() }),
    startIndex: fc.oneof(
      fc.integer({ min: 0xffc0, max: 0xffff }),
      fc.integer({ min: 0, max: 0xffff }),
    ),
  });
}

export function queuePairScriptArb() {
  return fc.record({
    config: queuePairConfigArb(),
    ops: fc.array(queuePairOpArb(), { minLength: 5, maxLength: 150, size: "large" }),
  });
}

const REG_OFFSETS = Object.values(Reg);

/** Values a hostile guest likes: status steps, sizes, all-ones, addresses in and out of RAM. */
function valueArb() {
  return fc.oneof(
    fc.constantFrom(0, 1, 2, 3, 4, 7, 8, 0xb, 0xf, 0x40, 0x80, 0xff, 3, 64, 128, 0xffff_ffff),
    fc.integer({ min: 0, max: 0xffff_ffff }),
    fc.integer({ min: 0, max: 0x1f_ffff }).map((o) => HOSTILE_RAM_BASE + o),
  );
}

function addrArb() {
  return fc.oneof(
    {
      weight: 6,
      arbitrary: fc.integer({ min: 0, max: 0xf_fff0 }).map((o) => HOSTILE_DATA_BASE + o),
    },
    {
      weight: 2,
      arbitrary: fc.integer({ min: 0, max: 0xf_ffff }).map((o) => HOSTILE_QUEUE_BASE + o),
    },
    {
      weight: 2,
      arbitrary: fc.constantFrom(
        0,
        0x1000,
        HOSTILE_RAM_BASE - 16,
        HOSTILE_RAM_BASE + HOSTILE_RAM_SIZE - 8,
        HOSTILE_RAM_BASE + HOSTILE_RAM_SIZE,
        2 ** 40,
        2 ** 63,
      ),
    },
  );
}

function lenArb() {
  return fc.oneof(
    { weight: 6, arbitrary: fc.integer({ min: 0, max: 64 }) },
    { weight: 2, arbitrary: fc.integer({ min: 1, max: 8 }).map((k) => 16 * k) },
    { weight: 1, arbitrary: fc.constantFrom(0xffff_ffff, 0x1_0001 & 0xffff_ffff, 24) },
  );
}

/** One hostile-guest action (see `runHostile`). */
export function hostileOpArb(): fc.Arbitrary<HostileOp> {
  const queue = fc.integer({ min: 0, max: 1 });
  return fc.oneof(
    {
      weight: 4,
      arbitrary: fc.record({
        k: fc.constant("probe" as const),
        size: fc.constantFrom(1, 2, 4, 8, 16, 64),
        features: fc.integer({ min: 0, max: 3 }),
        driverOk: fc.oneof(
          { weight: 4, arbitrary: fc.constant(true) },
          { weight: 1, arbitrary: fc.constant(false) },
        ),
      }),
    },
    {
      weight: 4,
      arbitrary: fc.record({
        k: fc.constant("read" as const),
        offset: fc.oneof(fc.constantFrom(...REG_OFFSETS), fc.integer({ min: 0, max: 0x20f })),
        width: fc.constantFrom<MmioWidth>(4, 4, 4, 1, 2, 8),
      }),
    },
    {
      weight: 6,
      arbitrary: fc.record({
        k: fc.constant("write" as const),
        offset: fc.oneof(fc.constantFrom(...REG_OFFSETS), fc.integer({ min: 0, max: 0x20f })),
        width: fc.constantFrom<MmioWidth>(4, 4, 4, 1, 2, 8),
        value: valueArb(),
      }),
    },
    {
      weight: 3,
      arbitrary: fc.record({
        k: fc.constant("queueReg" as const),
        sel: fc.oneof(fc.integer({ min: 0, max: 3 }), fc.constant(0xffff_ffff)),
        offset: fc.constantFrom(
          Reg.QueueNum,
          Reg.QueueReady,
          Reg.QueueDescLow,
          Reg.QueueDescHigh,
          Reg.QueueDriverLow,
          Reg.QueueDriverHigh,
          Reg.QueueDeviceLow,
          Reg.QueueDeviceHigh,
        ),
        value: valueArb(),
      }),
    },
    {
      weight: 6,
      arbitrary: fc.record({
        k: fc.constant("desc" as const),
        queue,
        table: fc.oneof(fc.constant(-1), fc.constant(-1), fc.integer({ min: 0, max: 63 })),
        index: fc.integer({ min: 0, max: 63 }),
        addr: addrArb(),
        len: lenArb(),
        flags: fc.oneof(fc.integer({ min: 0, max: 7 }), fc.constant(0xffff)),
        next: fc.oneof(fc.integer({ min: 0, max: 70 }), fc.constant(0xffff)),
      }),
    },
    {
      weight: 3,
      arbitrary: fc.record({
        k: fc.constant("avail" as const),
        queue,
        slot: fc.integer({ min: 0, max: 63 }),
        head: fc.oneof(fc.integer({ min: 0, max: 70 }), fc.constant(0xffff)),
      }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        k: fc.constant("availIdx" as const),
        queue,
        delta: fc.oneof(
          { weight: 9, arbitrary: fc.integer({ min: -1, max: 3 }) },
          { weight: 1, arbitrary: fc.integer({ min: 0, max: 0xffff }) },
        ),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        k: fc.constant("usedIdx" as const),
        queue,
        value: fc.integer({ min: 0, max: 0xffff }),
      }),
    },
    {
      weight: 8,
      arbitrary: fc.record({
        k: fc.constant("chain" as const),
        queue,
        first: fc.integer({ min: 0, max: 63 }),
        readable: fc.array(fc.integer({ min: 1, max: 48 }), { maxLength: 3 }),
        writable: fc.array(fc.integer({ min: 1, max: 48 }), { maxLength: 2 }),
        indirect: fc.boolean(),
      }),
    },
    { weight: 6, arbitrary: fc.record({ k: fc.constant("notify" as const), queue }) },
    { weight: 2, arbitrary: fc.constant({ k: "ack" as const }) },
    {
      weight: 1,
      arbitrary: fc.record({ k: fc.constant("irqMask" as const), masked: fc.boolean() }),
    },
  );
}

/** Longest script of the default campaign: ~520 actions on average, as CI has always run. */
export const HOSTILE_SCRIPT_MAX_LENGTH = 1150;

/**
 * A hostile script of up to `maxLength` actions, lengths spread over the whole range. The
 * length is free so fast-check can shrink a failing script to the few actions that matter.
 */
export function hostileScriptArb(maxLength = HOSTILE_SCRIPT_MAX_LENGTH): fc.Arbitrary<HostileOp[]> {
  return fc.array(hostileOpArb(), { maxLength, size: "max" });
}
