/**
 * The chunked gzip writer round-trips (gzip-stream.ts, RFC 1952 §2.3 and RFC 1951 §3.2.3): for
 * random text written in random pieces (as strings, or as bytes cut anywhere, even inside a
 * UTF-8 sequence), with random chunk sizes below, around and above the 32 KiB window and random
 * levels, node:zlib's `gunzipSync` gives back exactly the bytes written. Cases with several
 * chunks longer than the window are generated, and a planted wrong dictionary is caught.
 */

import * as zlib from "node:zlib";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { gzipOf, StaleWindowGzip } from "../testing/gzip.js";
import { GzipStream } from "./gzip-stream.js";

const WINDOW = 0x8000;

/** A few words in chunks down to one byte, or many in chunks around and above the window. */
const sizes = fc.oneof(
  fc.record({
    length: fc.integer({ min: 0, max: 200 }),
    chunkBytes: fc.oneof(fc.integer({ min: 1, max: 64 }), fc.integer({ min: 65, max: 5_000 })),
  }),
  fc.record({
    length: fc.integer({ min: 2_000, max: 12_000 }),
    chunkBytes: fc.oneof(
      fc.integer({ min: 1_000, max: WINDOW - 1 }),
      fc.integer({ min: WINDOW, max: 0x14000 }),
    ),
  }),
);

const input = fc
  .record({
    words: fc.array(fc.string({ unit: "binary", maxLength: 40 }), { minLength: 1, maxLength: 24 }),
    /** Which words the text has, in order (a seeded generator: shrinking stays quick). */
    seed: fc.nat(),
    asStrings: fc.boolean(),
    cuts: fc.array(fc.integer({ min: 1, max: 70_000 }), { minLength: 1, maxLength: 30 }),
    sizes,
    level: fc.option(fc.integer({ min: 0, max: 9 }), { nil: undefined }),
  })
  .map(({ sizes, ...rest }) => ({ ...rest, ...sizes }));
type Input = typeof input extends fc.Arbitrary<infer T> ? T : never;

/** The writes of a case and the bytes they make. */
function writesOf(c: Input): { writes: (string | Buffer)[]; bytes: Buffer } {
  let state = c.seed;
  const text = Array.from({ length: c.length }, () => {
    state = (Math.imul(state, 1_103_515_245) + 12_345) >>> 0;
    return c.words[(state >>> 8) % c.words.length]!;
  });
  const bytes = Buffer.concat(text.map((w) => Buffer.from(w)));
  if (c.asStrings) return { writes: text, bytes };
  const writes: Buffer[] = [];
  for (let at = 0, i = 0; at < bytes.length; i++) {
    const n = c.cuts[i % c.cuts.length]!;
    writes.push(bytes.subarray(at, at + n));
    at += n;
  }
  return { writes, bytes };
}

/** Whether the gzip of `c` made by `make` inflates to the bytes written. */
async function roundTrips(c: Input, make: typeof GzipStream): Promise<boolean> {
  const { writes, bytes } = writesOf(c);
  const options = {
    chunkBytes: c.chunkBytes,
    ...(c.level === undefined ? {} : { level: c.level }),
  };
  const file = await gzipOf(writes, c.chunkBytes, (out) => new make(out, options));
  try {
    return zlib.gunzipSync(file).equals(bytes);
  } catch {
    return false; // a CRC or length mismatch, or a broken deflate stream
  }
}

describe("GzipStream round trip", () => {
  it("gunzipSync gives back exactly what was written, however it was cut", async () => {
    let longChunks = 0;
    await fc.assert(
      fc.asyncProperty(input, async (c) => {
        if (c.chunkBytes >= WINDOW && writesOf(c).bytes.length > 2 * c.chunkBytes) longChunks++;
        expect(await roundTrips(c, GzipStream)).toBe(true);
      }),
    );
    // Several chunks longer than the window (where the carried dictionary matters) were tried.
    expect(longChunks).toBeGreaterThan(0);
  });

  it("catches a planted dictionary taken from the wrong end of the previous chunk", async () => {
    const found = await fc.check(
      fc.asyncProperty(input, async (c) => roundTrips(c, StaleWindowGzip)),
      { endOnFailure: true },
    );
    expect(found.failed).toBe(true);
    const c = found.counterexample![0];
    expect(c.chunkBytes).toBeGreaterThanOrEqual(WINDOW);
  });
});
