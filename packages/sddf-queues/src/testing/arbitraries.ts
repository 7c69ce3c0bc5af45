/**
 * fast-check arbitraries for sDDF serial queues, for this package's suites and the
 * packages above it.
 */

import fc from "fast-check";
import { MAX_CAPACITY } from "../layout.js";

/** A power-of-two capacity between 2^minLog and 2^maxLog (§2.3). */
export function arbCapacity(minLog = 0, maxLog = 6): fc.Arbitrary<number> {
  return fc
    .integer({ min: minLog, max: Math.min(maxLog, Math.log2(MAX_CAPACITY)) })
    .map((k) => 2 ** k);
}

/**
 * A starting value for a fresh queue's free-running indices, biased towards the places
 * where u32 arithmetic goes wrong: just below 2^32 and around 2^31.
 */
export function arbStartIndex(): fc.Arbitrary<number> {
  return fc.oneof(
    fc.constant(0),
    fc.integer({ min: 2 ** 32 - 200, max: 2 ** 32 - 1 }),
    fc.integer({ min: 2 ** 31 - 100, max: 2 ** 31 + 100 }),
    fc.nat({ max: 2 ** 32 - 1 }),
  );
}

/** A provenance tag (any u32, zero included). */
export function arbTag(): fc.Arbitrary<number> {
  return fc.oneof(fc.constant(0), fc.nat({ max: 2 ** 32 - 1 }));
}

/** Bytes with one tag each. */
export function arbTaggedBytes(
  maxLength: number,
): fc.Arbitrary<{ bytes: number[]; tags: number[] }> {
  return fc
    .array(fc.tuple(fc.nat({ max: 255 }), arbTag()), { maxLength })
    .map((pairs) => ({ bytes: pairs.map((p) => p[0]), tags: pairs.map((p) => p[1]) }));
}
