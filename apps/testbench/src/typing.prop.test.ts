/**
 * The typing merge's promise, checked against virt_rx's own switch state machine
 * (sddf-serial reference §6.2/§6.3): fed the merged keyboard, virt_rx routes to each guest
 * exactly the bytes that guest typed, in its order, and no byte is sent before its recorded time.
 */
import { SwitchMachine, type SwitchMachineOptions } from "@vmmux/sddf-serial";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { KeyStroke } from "./scenario.js";
import { mergeTyping, switchSequence, TypingMergeError, type Typist } from "./typing.js";

const runs = Number(process.env.VMMUX_PROP_RUNS ?? 300);

/** Bytes a typist may type: printable text plus every byte the switch schemes treat specially. */
const typedText = fc
  .array(fc.constantFrom("a", "7", "\r", "\n", "\u001c", "@", "\\", "m", "é", " "), {
    minLength: 1,
    maxLength: 6,
  })
  .map((chars) => chars.join(""));

const strokes = fc
  .array(fc.record({ at: fc.integer({ min: 0, max: 40 }).map((t) => t / 4), text: typedText }), {
    maxLength: 8,
  })
  .map((list) => [...list].sort((a, b) => a.at - b.at));

function options(scheme: "sddf" | "legacy-at", numClients: number): SwitchMachineOptions {
  return { scheme, numClients, switchChar: 0x1c, terminateNumChar: 0x0d };
}

/** What virt_rx's state machine forwards to each client when fed `keyboard`. */
function route(keyboard: readonly KeyStroke[], opts: SwitchMachineOptions): number[][] {
  const machine = new SwitchMachine(opts);
  const received: number[][] = Array.from({ length: opts.numClients }, () => []);
  for (const stroke of keyboard) {
    for (const byte of Buffer.from(stroke.text, "utf8")) {
      const action = machine.step(byte);
      if (action.kind === "forward") received[machine.currentClient]?.push(byte);
      if (action.kind === "broadcast") for (const r of received) r.push(byte);
    }
  }
  return received;
}

/** The merge's promise as a property of a merge function (the real one or a planted one). */
function routesEveryTypist(merge: typeof mergeTyping) {
  return fc.property(
    fc.constantFrom("sddf" as const, "legacy-at" as const),
    fc
      .integer({ min: 1, max: 4 })
      .chain((numClients) =>
        fc.tuple(
          fc.constant(numClients),
          fc.array(strokes, { minLength: 1, maxLength: numClients }),
        ),
      ),
    (scheme, [numClients, perTypist]) => {
      const opts = options(scheme, numClients);
      // One typist per client: each guest types on its own console.
      const typists: Typist[] = perTypist.map((list, i) => ({
        client: i,
        label: `guest${i}`,
        strokes: list,
      }));
      const merged = merge(typists, [], opts);
      const expected: number[][] = Array.from({ length: numClients }, () => []);
      for (const t of typists) {
        for (const s of t.strokes) expected[t.client]?.push(...Buffer.from(s.text, "utf8"));
      }
      expect(route(merged.strokes, opts)).toEqual(expected);
      for (let i = 1; i < merged.strokes.length; i++) {
        expect(merged.strokes[i]?.at).toBeGreaterThanOrEqual(merged.strokes[i - 1]?.at ?? 0);
      }
      // Every typed stroke keeps its recorded time (switches take the same time, before it).
      const typedTimes = typists.flatMap((t) => t.strokes.map((s) => s.at)).sort((a, b) => a - b);
      const mergedTimes = merged.strokes.map((s) => s.at);
      for (const at of typedTimes) expect(mergedTimes).toContain(at);
    },
  );
}

/** Planted: the merge without escaping, so a typed switch character starts a sequence. */
const mergeWithoutEscaping: typeof mergeTyping = (typists, explicit, opts) => {
  const merged = mergeTyping(typists, explicit, opts);
  const doubled = String.fromCharCode(opts.switchChar).repeat(2);
  const single = String.fromCharCode(opts.switchChar);
  return {
    ...merged,
    strokes: merged.strokes.map((s) => ({ ...s, text: s.text.split(doubled).join(single) })),
  };
};

describe("mergeTyping", () => {
  it("routes every typist's bytes to its own guest, in order, never early", () => {
    fc.assert(routesEveryTypist(mergeTyping), { numRuns: runs });
  });

  it("catches a planted merge that does not escape a typed switch character", () => {
    const result = fc.check(routesEveryTypist(mergeWithoutEscaping), { numRuns: runs, seed: 1 });
    expect(result.failed).toBe(true);
  });

  it("follows the selection made by the scenario's own explicit strokes", () => {
    const opts = options("sddf", 2);
    const explicit = [{ at: 1, text: `${switchSequence(1, opts)}` }];
    const typists: Typist[] = [
      { client: 1, label: "guest1", strokes: [{ at: 2, text: "ls\r" }] },
      { client: 0, label: "guest0", strokes: [{ at: 3, text: "pwd\r" }] },
    ];
    const merged = mergeTyping(typists, explicit, opts);
    // guest1 is already selected by the explicit stroke: only the switch back to 0 is added.
    expect(merged.switches).toBe(1);
    expect(merged.strokes.map((s) => s.text)).toEqual(["\u001c1\r", "ls\r", "\u001c0\r", "pwd\r"]);
    expect(route(merged.strokes, opts)).toEqual([
      [...Buffer.from("pwd\r")],
      [...Buffer.from("ls\r")],
    ]);
  });

  it("escapes a typed switch character so the guest receives it", () => {
    const merged = mergeTyping(
      [{ client: 0, label: "guest0", strokes: [{ at: 0, text: "a\u001cb" }] }],
      [],
      options("sddf", 1),
    );
    expect(merged.escaped).toBe(1);
    expect(merged.strokes[0]?.text).toBe("a\u001c\u001cb");
  });

  it("refuses a typist that virt_rx has no client for, naming it", () => {
    expect(() =>
      mergeTyping([{ client: 2, label: "guest2", strokes: [] }], [], options("sddf", 2)),
    ).toThrow(TypingMergeError);
    expect(() =>
      mergeTyping([{ client: 2, label: "guest2", strokes: [] }], [], options("sddf", 2)),
    ).toThrow(/guest2 is client 2, but virt_rx has 2 clients/);
  });

  it("refuses to type into a switch sequence the explicit strokes left unfinished", () => {
    expect(() =>
      mergeTyping(
        [{ client: 0, label: "guest0", strokes: [{ at: 2, text: "x" }] }],
        [{ at: 1, text: "\u001c" }],
        options("sddf", 2),
      ),
    ).toThrow(/unfinished/);
  });
});
