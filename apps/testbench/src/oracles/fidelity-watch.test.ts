/**
 * The fidelity watch follows a guest's trace with a cursor, event by event: its result is the
 * one a comparison against the whole trace's output bytes gives (matched count, first mismatch
 * with its context), for any trace and any wire, multi-byte characters across events included.
 */
import { provenanceTag } from "@vmmux/sddf-queues";
import fc from "fast-check";
import { expect, test } from "vitest";
import { syntheticScenario } from "../testing/synthetic.js";
import { FidelityWatch } from "./fidelity-watch.js";

const encoder = new TextEncoder();
const CONTEXT = 24;

/** The judgement by the whole trace's bytes (what the watch must equal). */
function byWholeTrace(events: readonly string[], wire: readonly number[]) {
  const expected = encoder.encode(events.join(""));
  let pos = 0;
  const recent: number[] = [];
  for (const [index, byte] of wire.entries()) {
    if (pos < expected.length && expected[pos] === byte) pos++;
    else
      return {
        matched: pos,
        mismatch: {
          index,
          actual: byte,
          expected: pos < expected.length ? expected[pos]! : null,
          before: Uint8Array.from(recent.slice(-CONTEXT)),
          traceAhead: expected.slice(pos, pos + CONTEXT),
        },
        traceBytes: expected.length,
      };
    recent.push(byte);
  }
  return { matched: pos, mismatch: null, traceBytes: expected.length };
}

const text = fc.array(fc.constantFrom("a", "b", "\r\n", "é", "€", "😀", ""), { maxLength: 12 });

test("a cursor over the trace's events judges as the whole trace's bytes do", () => {
  fc.assert(
    fc.property(
      fc.array(
        text.map((parts) => parts.join("")),
        { maxLength: 8 },
      ),
      fc.nat(),
      fc.option(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { nil: undefined }),
      (events, cut, change) => {
        const scenario = syntheticScenario({
          kind: "vm",
          guests: [
            { output: events.map((e, i) => [0.001 * (i + 1), e] as const), input: "record" },
            { output: [] },
          ],
        });
        const whole = encoder.encode(events.join(""));
        const wire = [...whole.subarray(0, whole.length === 0 ? 0 : cut % (whole.length + 1))];
        if (change !== undefined) wire.splice(change[0] % (wire.length + 1), 0, change[1]);
        const watch = FidelityWatch.of(scenario);
        for (const [i, byte] of wire.entries()) watch.push(byte, provenanceTag(1, i));
        const got = watch.finish()[0]!;
        expect({
          matched: got.matched,
          mismatch: got.mismatch,
          traceBytes: got.traceBytes,
        }).toEqual(byWholeTrace(events, wire));
      },
    ),
  );
});

test("the mismatch shows the trace ahead across later events", () => {
  const scenario = syntheticScenario({
    kind: "vm",
    guests: [
      {
        output: [
          [0.001, "ab"],
          [0.002, "c"],
          [0.003, "def"],
        ],
        input: "record",
      },
      { output: [] },
    ],
  });
  const watch = FidelityWatch.of(scenario);
  for (const [i, byte] of [0x61, 0x78].entries()) watch.push(byte, provenanceTag(1, i));
  const [g] = watch.finish();
  expect(g?.mismatch?.traceAhead).toEqual(encoder.encode("bcdef"));
  expect(g?.traceBytes).toBe(6);
});
