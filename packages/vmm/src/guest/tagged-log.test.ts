/** A transcript kept as chunked bytes and runs of tags gives back exactly what was pushed. */
import fc from "fast-check";
import { expect, test } from "vitest";
import { TaggedLog } from "./tagged-log.js";

test("bytes and tags come back in order across chunk and run boundaries", () => {
  const log = new TaggedLog();
  const bytes: number[] = [];
  const tags: number[] = [];
  for (let i = 0; i < 70_000; i++) {
    // A repeated tag every 1000 bytes (the printk path's CR takes its LF's tag).
    const tag = 0x0100_0000 + i - Math.floor(i / 1000);
    log.push(i & 0xff, tag);
    bytes.push(i & 0xff);
    tags.push(tag);
  }
  expect(log.length).toBe(70_000);
  for (const i of [0, 999, 1000, 65_535, 65_536, 69_999]) {
    expect([log.byteAt(i), log.tagAt(i)]).toEqual([bytes[i], tags[i]]);
  }
  const { bytes: b, tags: t } = TaggedLog.joined([log]);
  expect(b).toEqual(Uint8Array.from(bytes));
  expect(t).toEqual(Uint32Array.from(tags));
});

test("any pushes, joined over several logs, equal the arrays they stand for", () => {
  const entry = fc.tuple(
    fc.integer({ min: 0, max: 255 }),
    fc.integer({ min: 0, max: 2 ** 32 - 1 }),
  );
  const run = fc.tuple(entry, fc.integer({ min: 1, max: 40 }));
  fc.assert(
    fc.property(fc.array(fc.array(run, { maxLength: 6 }), { maxLength: 3 }), (parts) => {
      const logs = parts.map((runs) => {
        const log = new TaggedLog();
        // Runs of consecutive tags, some wrapping past 2^32 - 1.
        for (const [[byte, tag], n] of runs)
          for (let i = 0; i < n; i++) log.push((byte + i) & 0xff, (tag + i) >>> 0);
        return log;
      });
      const bytes: number[] = [];
      const tags: number[] = [];
      for (const runs of parts)
        for (const [[byte, tag], n] of runs)
          for (let i = 0; i < n; i++) {
            bytes.push((byte + i) & 0xff);
            tags.push((tag + i) >>> 0);
          }
      const joined = TaggedLog.joined(logs);
      expect(joined.bytes).toEqual(Uint8Array.from(bytes));
      expect(joined.tags).toEqual(Uint32Array.from(tags));
      const pieces = [...joined.tagChunks()].flatMap((c) => [...c]);
      expect(pieces).toEqual(tags);
      let at = 0;
      for (const log of logs) {
        const own = tags.slice(at, at + log.length);
        for (let i = 0; i < log.length; i++, at++) expect(log.tagAt(i)).toBe(tags[at]);
        // Chunks smaller than a run, so runs cross chunk boundaries.
        expect([...log.tagChunks(3)].flatMap((c) => [...c])).toEqual(own);
      }
    }),
  );
});
