/** The chunked gzip writer: a standard single-member file, bounded, near one stream's size. */
import * as zlib from "node:zlib";
import { describe, expect, it } from "vitest";
import { collector, gzipOf } from "../testing/gzip.js";
import { crc32, GzipStream, tableCrc32 } from "./gzip-stream.js";

/** JSON-like text with repeats near and far, as a trace has. */
function traceLike(events: number): string {
  const parts: string[] = [];
  for (let i = 0; i < events; i++) {
    const name = ["notified", "protected", "idle ×3", "fault"][(i * 7) % 4];
    parts.push(
      `{"name":"${name}","ph":"X","pid":1,"tid":${i % 9},"ts":${i * 13.5},"dur":${i % 97}}`,
    );
  }
  return `{"traceEvents":[${parts.join(",")}]}`;
}

describe("GzipStream", () => {
  it("writes one gzip member: RFC 1952 header, deflate, CRC-32 and length", async () => {
    const text = traceLike(3000);
    const file = await gzipOf([text], 4096);
    expect([...file.subarray(0, 10)]).toEqual([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]);
    expect(file.readUInt32LE(file.length - 8)).toBe(zlib.crc32(text));
    expect(file.readUInt32LE(file.length - 4)).toBe(Buffer.byteLength(text));
    expect(zlib.gunzipSync(file).toString()).toBe(text);
    // One member: the deflate stream ends exactly before the trailer (no second member after).
    const body = file.subarray(10, file.length - 8);
    expect(zlib.inflateRawSync(body).toString()).toBe(text);
  });

  it("gives the empty file for no input", async () => {
    const file = await gzipOf([], 16);
    expect(zlib.gunzipSync(file).length).toBe(0);
    expect(file.length).toBe(10 + 2 + 8); // header, one empty final block, trailer
  });

  it("compresses each full chunk as it is written and never holds more than one", () => {
    const sink = collector();
    const gz = new GzipStream(sink.out, { chunkBytes: 1000 });
    const text = Buffer.from(traceLike(2000));
    for (let at = 0; at < text.length; at += 777) {
      gz.write(text.subarray(at, at + 777));
      expect(gz.buffered).toBe(gz.bytesIn % 1000);
      // What `out` has so far inflates to everything taken but the held part.
      const sofar = zlib.inflateRawSync(sink.bytes().subarray(10), {
        finishFlush: zlib.constants.Z_SYNC_FLUSH,
      });
      expect(sofar.equals(text.subarray(0, gz.bytesIn - gz.buffered))).toBe(true);
    }
    // A chunk is compressed the moment it is full: the most ever held is one chunk.
    expect(gz.peakBuffered).toBe(1000);
    expect(sink.ended()).toBe(false);
    expect(gz.bytesOut).toBe(sink.bytes().length);
  });

  it("stays within 0.5% of one whole-stream gzip with 1 MiB chunks", async () => {
    const text = Buffer.from(traceLike(120_000)); // about 8 MB
    const chunked = await gzipOf([text], 0x10_0000);
    const whole = zlib.gzipSync(text);
    expect(zlib.gunzipSync(chunked).equals(text)).toBe(true);
    expect(chunked.length / whole.length).toBeLessThan(1.005);
    // With the window carried over, even 64 KiB chunks lose little.
    const small = await gzipOf([text], 0x1_0000);
    expect(small.length / whole.length).toBeLessThan(1.01);
  });

  it("rejects a chunk size that is not a positive integer", () => {
    for (const bad of [0, -1, 1.5, Number.NaN]) {
      expect(() => new GzipStream(collector().out, { chunkBytes: bad })).toThrow(RangeError);
    }
  });
});

describe("crc32", () => {
  it("the table form agrees with zlib's, in one go and in parts", () => {
    const data = Buffer.from(traceLike(500));
    expect(tableCrc32(data)).toBe(zlib.crc32(data));
    expect(tableCrc32(data.subarray(300), tableCrc32(data.subarray(0, 300)))).toBe(
      zlib.crc32(data),
    );
    expect(crc32(Buffer.from("123456789"))).toBe(0xcbf43926); // RFC 1952 §8's check value
    expect(tableCrc32(Buffer.alloc(0))).toBe(0);
  });
});
