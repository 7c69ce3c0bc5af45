/**
 * Whatever the user types, escaped with `escapeHostKeys` and delivered in any split into
 * reads, reaches the UART exactly, with no host command; a `Ctrl+] q` appended quits after
 * all of it. Shown to catch `ChunkBlindHostEscape`, which loses an escape split across reads.
 */
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { ChunkBlindHostEscape } from "../testing/host-escape-planted.js";
import { escapeHostKeys, type HostAction, HostEscape } from "./keys.js";

const numRuns = Number(process.env.VMMUX_PROP_RUNS ?? 300);
const seed = 0x11e5;

/** Bytes biased towards the escape, the switch character and `q`. */
const typedBytes = fc.array(
  fc.oneof(
    { weight: 3, arbitrary: fc.integer({ min: 0, max: 255 }) },
    { weight: 1, arbitrary: fc.constantFrom(0x1d, 0x1c, 0x71, 0x3f, 0x0d) },
  ),
  { maxLength: 64 },
);

/** Split `input` at the given cut points into reads. */
function reads(input: Uint8Array, cuts: readonly number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (input.length + 1)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let from = 0;
  for (const p of points) {
    out.push(input.subarray(from, p));
    from = p;
  }
  out.push(input.subarray(from));
  return out;
}

function run(make: () => HostEscape, chunks: readonly Uint8Array[]): HostAction[] {
  const keys = make();
  return [...chunks.flatMap((c) => keys.feed(c)), ...keys.end()];
}

function roundTrip(make: () => HostEscape) {
  return fc.property(typedBytes, fc.array(fc.nat(), { maxLength: 8 }), (user, cuts) => {
    const input = Uint8Array.from(user);
    const wire = Uint8Array.from([...escapeHostKeys(input), 0x1d, 0x71]);
    const actions = run(make, reads(wire, cuts));
    const typed = actions.flatMap((a) => (a.kind === "type" ? [...a.bytes] : []));
    expect(typed).toEqual(user);
    expect(actions.filter((a) => a.kind !== "type")).toEqual([{ kind: "quit" }]);
    expect(actions.at(-1)).toEqual({ kind: "quit" });
  });
}

describe("host escape (property)", () => {
  test("escaped input in any split into reads is typed exactly, then Ctrl+] q quits", () => {
    fc.assert(
      roundTrip(() => new HostEscape()),
      { numRuns, seed },
    );
  });

  test("the property catches an escape filter that forgets Ctrl+] between reads", () => {
    const result = fc.check(
      roundTrip(() => new ChunkBlindHostEscape()),
      { numRuns, seed },
    );
    expect(result.failed).toBe(true);
  });
});
