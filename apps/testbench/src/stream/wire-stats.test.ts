/** The per-origin wire numbers, on a constructed wire. */
import { ORIGIN_VIRTUALISER, provenanceTag } from "@vmmux/sddf-queues";
import { expect, test } from "vitest";
import { WireStats } from "./wire-stats.js";
import { WireStore } from "./wire-store.js";

test("counts, first and last end, longest gap and latency per origin; virtualiser and stray bytes", () => {
  const g1 = (seq: number) => provenanceTag(1, seq);
  const wire = WireStore.of([
    { byte: 0x61, tag: g1(0), start: 0, end: 100 },
    { byte: 0x1b, tag: provenanceTag(ORIGIN_VIRTUALISER, 0), start: 100, end: 200 },
    { byte: 0x62, tag: g1(1), start: 200, end: 300 },
    { byte: 0x63, tag: provenanceTag(2, 0), start: 300, end: 400 },
    { byte: 0x64, tag: g1(2), start: 1000, end: 1100 },
    { byte: 0x65, tag: provenanceTag(9, 0), start: 1100, end: 1200 },
  ]);
  const enqueued = [50, 60, 70];
  const s = WireStats.of(wire, [1, 2], (origin, seq) => (origin === 1 ? enqueued[seq] : undefined));
  expect(s.origin(1)).toEqual({
    count: 3,
    firstEnd: 100,
    lastEnd: 1100,
    longestGap: 800,
    maxLatency: 1030,
  });
  expect(s.origin(2)).toEqual({
    count: 1,
    firstEnd: 400,
    lastEnd: 400,
    longestGap: 0,
    maxLatency: 0,
  });
  expect(s.origin(3).count).toBe(0);
  expect([s.total, s.virtualiserBytes, s.unattributedBytes]).toEqual([6, 1, 1]);
});

test("the store gives back what was pushed, across chunk boundaries", () => {
  const store = new WireStore();
  for (let i = 0; i < 70_000; i++) store.push(i & 0xff, i * 3, i * 10, i * 10 + 7);
  expect(store.length).toBe(70_000);
  for (const i of [0, 65_535, 65_536, 69_999]) {
    expect([store.byte(i), store.tag(i), store.start(i), store.end(i)]).toEqual([
      i & 0xff,
      i * 3,
      i * 10,
      i * 10 + 7,
    ]);
  }
  expect(store.bytes().subarray(65_534, 65_538)).toEqual(Uint8Array.from([254, 255, 0, 1]));
});

test("every time reads back exactly: fractional ns, gaps past 2^32 ns, frames of any length", () => {
  const store = new WireStore();
  const pushed: [number, number, number, number][] = [];
  let seed = 12345;
  const random = () => {
    seed = (Math.imul(seed, 1_103_515_245) + 12_345) >>> 0;
    return seed / 2 ** 32;
  };
  let end = 1_000;
  for (let i = 0; i < 50_000; i++) {
    const r = random();
    // Mostly a busy wire; sometimes a long quiet gap, a fractional time or an odd frame.
    end += r < 0.001 ? Math.round(5e9 * random()) : 86_771;
    const e = r > 0.001 && r < 0.002 ? end + 0.25 : end;
    const length = r > 0.999 ? 2 ** 33 : r > 0.998 ? -3 : r > 0.997 ? 0.5 : 86_770;
    const record: [number, number, number, number] = [i & 0xff, i * 7, e - length, e];
    pushed.push(record);
    store.push(...record);
  }
  expect(store.length).toBe(pushed.length);
  for (const [i, [byte, tag, start, e]] of pushed.entries()) {
    if (store.byte(i) !== byte || store.tag(i) !== tag) throw new Error(`byte or tag ${i}`);
    if (!Object.is(store.start(i), start) || !Object.is(store.end(i), e))
      throw new Error(`record ${i}: ${store.start(i)}..${store.end(i)}, pushed ${start}..${e}`);
  }
});
