/**
 * Integrity and interleaving judged as the wire goes (`stream/wire-judge.ts`, issue 12 item 2)
 * give the verdicts and split lines that reading the kept wire after the run gives: over every
 * bundled scenario (its first virtual seconds), generated systems (testing/generated-scenarios.ts,
 * with and without a planted virt_tx that drops bytes), and generated transcripts and wires with
 * every kind of defect (gaps, repeats, corrupt bytes, unknown tags, foreign origins, a
 * transcript that lags the wire).
 */
import { readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { ORIGIN_VIRTUALISER, provenanceTag } from "@vmmux/sddf-queues";
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import {
  integrity,
  integrityOfWire,
  interleaving,
  splitLines,
  splitLinesOfWire,
} from "../oracles/wire.js";
import { streamedIntegrity, streamedSplitLines } from "../oracles/wire-streamed.js";
import type { GuestRun, RunResult, WireRecord } from "../run.js";
import { runScenario } from "../run.js";
import { loadScenario, type Scenario, withKnobs } from "../scenario.js";
import { generatedCase, generatedSystem } from "../testing/generated-scenarios.js";
import { VirtTxDroppingBytes } from "../testing/planted.js";
import { syntheticScenario } from "../testing/synthetic.js";
import { wireJudge } from "./streamed.js";
import { WireJudge, type WrittenView } from "./wire-judge.js";

const scenariosDir = fileURLToPath(new URL("../../../../traces/scenarios/", import.meta.url));

/** The same judgements streamed and read from the kept wire (a copy drops the streamed state). */
function expectSame(run: RunResult): void {
  expect(wireJudge(run)).toBeDefined();
  const plain = { ...run };
  expect(wireJudge(plain)).toBeUndefined();
  const honest = run.guests.filter((g) => g.hostile !== true);
  expect(integrity(run)).toEqual(integrityOfWire(run));
  expect(integrity(run, honest)).toEqual(integrityOfWire(run, honest));
  expect(splitLines(run)).toEqual(splitLinesOfWire(run));
  expect(interleaving(run)).toEqual(interleaving(plain));
}

const judged = (scenario: Scenario, options?: Parameters<typeof runScenario>[1]) =>
  runScenario(scenario, { keepWire: true, judgeWire: true, ...options });

describe("the wire oracles judged as the wire goes", () => {
  test.each(
    readdirSync(scenariosDir).filter(
      (f) => f.endsWith(".json") && f !== "scenario.schema.json" && !f.startsWith("real-"),
    ),
  )("bundled %s: same verdicts and split lines", (name) => {
    const scenario = loadScenario(`${scenariosDir}${name}`);
    expectSame(
      judged(withKnobs(scenario, { durationLimit: Math.min(scenario.knobs.durationLimit, 1.5) })),
    );
  });

  test("generated systems, with and without a virt_tx that drops bytes", () => {
    fc.assert(
      fc.property(generatedSystem, fc.boolean(), (g, dropping) => {
        const [scenario, schedule] = generatedCase(g);
        const run = judged(scenario, {
          ...(schedule === undefined ? {} : { schedule }),
          ...(dropping ? { variants: { virtTx: VirtTxDroppingBytes } } : {}),
        });
        expectSame(run);
      }),
      { numRuns: 40 },
    );
  });

  test("the dropping virt_tx is caught both ways (the comparison is not vacuous)", () => {
    const lines = (k: number, t0: number) =>
      Array.from({ length: 20 }, (_, i) => [t0 + i * 0.001, `g${k} line ${i}\r\n`] as const);
    const scenario = syntheticScenario({
      guests: [{ output: lines(1, 0.01) }, { output: lines(2, 0.0105) }],
    });
    const run = judged(scenario, { variants: { virtTx: VirtTxDroppingBytes } });
    expect(integrity(run).ok).toBe(false);
    expect(integrity(run)).toEqual(integrityOfWire(run));
  });

  test("generated transcripts and wires: same verdicts, split lines and findings", () => {
    fc.assert(
      fc.property(syntheticCase, (c) => {
        const { run, judge } = c.build();
        const honest = run.guests.filter((g) => g.hostile !== true);
        for (const subset of [run.guests, honest, run.guests.slice(0, 1)]) {
          expect(streamedIntegrity(run, subset, judge)).toEqual(integrityOfWire(run, subset));
        }
        expect(streamedSplitLines(run, judge)).toEqual(splitLinesOfWire(run));
      }),
    );
  });
});

/** A transcript whose visible length the test moves (what the guest has written so far). */
class Growing implements WrittenView {
  length = 0;
  constructor(
    private readonly bytes: Uint8Array,
    private readonly tags: Uint32Array,
  ) {}
  byteAt(i: number): number {
    if (i >= this.length) throw new RangeError("read past what was written");
    return this.bytes[i]!;
  }
  tagAt(i: number): number {
    if (i >= this.length) throw new RangeError("read past what was written");
    return this.tags[i]!;
  }
}

/** A guest's transcript: text with `\r` before each `\n` sharing its tag; a reboot restarts seq. */
const transcript = fc
  .tuple(fc.stringMatching(/^[ab\n]{0,40}$/), fc.option(fc.stringMatching(/^[ab\n]{1,20}$/)))
  .map(([first, again]) => {
    const bytes: number[] = [];
    const tags: number[] = [];
    for (const text of [first, again ?? ""]) {
      let seq = 0;
      for (const ch of text) {
        if (ch === "\n") {
          bytes.push(0x0d);
          tags.push(seq);
        }
        bytes.push(ch.charCodeAt(0));
        tags.push(seq++);
      }
    }
    return { bytes, seqs: tags };
  });

/** What happens to one of a guest's bytes on the way to the wire. */
const fate = fc.constantFrom("sent", "sent", "sent", "sent", "dropped", "corrupt", "twice");

const syntheticCase = fc
  .record({
    guests: fc.array(
      fc.record({
        transcript,
        fates: fc.array(fate, { minLength: 64, maxLength: 64 }),
        hostile: fc.boolean(),
        unpublished: fc.nat(3),
        cut: fc.nat(64),
      }),
      { minLength: 1, maxLength: 3 },
    ),
    order: fc.array(fc.nat(5), { maxLength: 200 }),
    lags: fc.array(fc.integer({ min: -3, max: 8 }), { minLength: 200, maxLength: 200 }),
    extra: fc.array(fc.constantFrom("virtualiser", "foreign", "unknown-seq"), { maxLength: 3 }),
    T7: fc.nat(4),
    T4: fc.nat(1),
    idle: fc.boolean(),
  })
  .map((c) => ({
    ...c,
    build: () => {
      const guests = c.guests.map((g, k) => {
        const origin = k + 1;
        const enqueued = Uint8Array.from(g.transcript.bytes);
        const enqueuedTags = Uint32Array.from(g.transcript.seqs, (s) => provenanceTag(origin, s));
        // The wire's bytes of this guest: its transcript (up to a cut) with defects.
        const sent: { byte: number; tag: number; at: number }[] = [];
        const upTo = Math.max(0, enqueued.length - (g.cut % 8));
        for (let i = 0; i < upTo; i++) {
          const f = g.fates[i % g.fates.length]!;
          if (f === "dropped") continue;
          const byte = f === "corrupt" ? enqueued[i]! ^ 1 : enqueued[i]!;
          sent.push({ byte, tag: enqueuedTags[i]!, at: i });
          if (f === "twice") sent.push({ byte, tag: enqueuedTags[i]!, at: i });
        }
        const run = {
          name: `g${origin}`,
          origin,
          enqueued,
          enqueuedTags,
          hostile: g.hostile,
          unpublished: g.unpublished,
        } as unknown as GuestRun;
        return { run, sent, view: new Growing(enqueued, enqueuedTags) };
      });
      // Interleave the guests' bytes in the drawn order, then the extra bytes.
      const wire: (WireRecord & { guest: number; at: number })[] = [];
      const cursors = guests.map(() => 0);
      let t = 0;
      for (const pick of [...c.order, ...guests.flatMap((g) => g.sent.map(() => 0))]) {
        const live = guests.flatMap((g, k) => (cursors[k]! < g.sent.length ? [k] : []));
        if (live.length === 0) break;
        const k = live[pick % live.length]!;
        const s = guests[k]!.sent[cursors[k]!++]!;
        wire.push({ byte: s.byte, tag: s.tag, start: t, end: t + 1, guest: k, at: s.at });
        t++;
      }
      for (const e of c.extra) {
        const tag =
          e === "virtualiser"
            ? provenanceTag(ORIGIN_VIRTUALISER, 0)
            : e === "foreign"
              ? provenanceTag(9, 0)
              : provenanceTag(1, 999);
        wire.splice(wire.length >> 1, 0, { byte: 0x7a, tag, start: t, end: t, guest: -1, at: 0 });
      }
      const judge = new WireJudge(
        new Map(guests.map((g) => [g.run.origin, g.run.hostile ? null : g.view] as const)),
      );
      wire.forEach((w, i) => {
        // What the byte's guest has written by now: at least up to the byte, give or take a lag.
        const g = guests[w.guest];
        if (g !== undefined) {
          const want = w.at + 1 + c.lags[i % c.lags.length]!;
          g.view.length = Math.min(g.run.enqueued.length, Math.max(g.view.length, want));
        }
        judge.push(w.byte, w.tag);
      });
      for (const g of guests) g.view.length = g.run.enqueued.length;
      const run = {
        guests: guests.map((g) => g.run),
        wire: wire.map(({ byte, tag, start, end }) => ({ byte, tag, start, end })),
        loss: { virtTx: { T7: c.T7, T4: c.T4 } },
        idle: c.idle,
      } as unknown as RunResult;
      return { run, judge };
    },
  }));
