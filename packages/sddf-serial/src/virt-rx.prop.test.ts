/**
 * Routing property of serial_virt_rx (reference §6.2, DESIGN.md oracle 2): every ordinary
 * typed byte reaches exactly the client selected at that moment, in order and with its
 * provenance tag; switch sequences, valid or not, reach no client; an escaped switch
 * character does. Input arrives in passes of random size, as the driver's batches would.
 */
import { ORIGIN_KEYBOARD } from "@vmmux/sddf-queues";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { VirtRxConfig } from "./config.js";
import { VirtRxUnpublishedSwitch } from "./testing/planted.js";
import { RxRig } from "./testing/rig.js";
import type { VirtRx } from "./virt-rx.js";

const NUM_RUNS = Number(process.env.VMMUX_PROP_RUNS ?? 200);
const SEED = 0x5e41a1;
const SW = 0x1c;
const CR = 0x0d;
const digits = (n: number) => Array.from(String(n), (d) => d.charCodeAt(0));

type Token =
  | { kind: "ordinary"; byte: number }
  | { kind: "escape" }
  | { kind: "switch"; client: number; pad: number }
  | { kind: "badDigit"; byte: number }
  | { kind: "badClient"; client: number }
  | { kind: "tooLong"; extra: number };

const nonDigit = fc
  .integer({ min: 0, max: 255 })
  .filter((b) => (b < 0x30 || b > 0x39) && b !== SW && b !== CR);

function tokenArb(numClients: number): fc.Arbitrary<Token> {
  return fc.oneof(
    {
      weight: 8,
      arbitrary: fc
        .integer({ min: 0, max: 255 })
        .filter((b) => b !== SW)
        .map((byte) => ({ kind: "ordinary" as const, byte })),
    },
    { weight: 1, arbitrary: fc.constant({ kind: "escape" as const }) },
    {
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant("switch" as const),
        client: fc.integer({ min: 0, max: numClients - 1 }),
        pad: fc.integer({ min: 0, max: 2 }),
      }),
    },
    { weight: 1, arbitrary: nonDigit.map((byte) => ({ kind: "badDigit" as const, byte })) },
    {
      weight: 1,
      arbitrary: fc
        .integer({ min: numClients, max: 9999 })
        .map((client) => ({ kind: "badClient" as const, client })),
    },
    {
      weight: 1,
      arbitrary: fc
        .integer({ min: 0, max: 9 })
        .map((extra) => ({ kind: "tooLong" as const, extra })),
    },
  );
}

function encode(token: Token): number[] {
  switch (token.kind) {
    case "ordinary":
      return [token.byte];
    case "escape":
      return [SW, SW];
    case "switch": {
      const d = digits(token.client);
      const padded = Array(Math.min(token.pad, 4 - d.length)).fill(0x30);
      return [SW, ...padded, ...d, CR];
    }
    case "badDigit":
      return [SW, token.byte];
    case "badClient":
      return [SW, ...digits(token.client), CR];
    case "tooLong":
      return [SW, 0x31, 0x32, 0x33, 0x34, 0x30 + token.extra];
  }
}

/** The independent expectation: per client, the (byte, keyboard seq) pairs it must get. */
function expected(tokens: readonly Token[], numClients: number): [number, number][][] {
  const out: [number, number][][] = Array.from({ length: numClients }, () => []);
  let current = 0;
  let seq = 0;
  for (const token of tokens) {
    const bytes = encode(token);
    if (token.kind === "ordinary") out[current]?.push([token.byte, seq]);
    if (token.kind === "escape") out[current]?.push([SW, seq + 1]);
    if (token.kind === "switch") current = token.client;
    seq += bytes.length;
  }
  return out;
}

const scenario = fc.integer({ min: 1, max: 4 }).chain((numClients) =>
  fc.record({
    numClients: fc.constant(numClients),
    tokens: fc.array(tokenArb(numClients), { maxLength: 60 }),
    cuts: fc.array(fc.integer({ min: 1, max: 24 }), { minLength: 1, maxLength: 20 }),
  }),
);

function routingHolds(make?: (config: VirtRxConfig) => VirtRx) {
  return fc.property(scenario, ({ numClients, tokens, cuts }) => {
    const rig = new RxRig({
      clients: numClients,
      clientCapacity: 1024,
      driverCapacity: 256,
      ...(make ? { make } : {}),
    });
    const stream = tokens.flatMap(encode);
    const got: [number, number][][] = Array.from({ length: numClients }, () => []);
    const collect = () => {
      for (let k = 0; k < numClients; k++) {
        const { bytes, tags } = rig.read(k);
        for (const [i, b] of bytes.entries()) got[k]?.push([b, (tags[i] as number) & 0xffffff]);
        // Every byte a client gets was typed on the keyboard.
        for (const tag of tags) expect(tag >>> 24).toBe(ORIGIN_KEYBOARD);
      }
    };
    let at = 0;
    for (let i = 0; at < stream.length; i++) {
      const size = cuts[i % cuts.length] as number;
      rig.type(stream.slice(at, at + size));
      at += size;
      collect();
    }
    expect(got).toEqual(expected(tokens, numClients));
  });
}

describe("serial_virt_rx routing property", () => {
  it("each ordinary byte reaches exactly the selected client, in order; sequences reach none", () => {
    fc.assert(routingHolds(), { numRuns: NUM_RUNS, seed: SEED });
  });

  it("catches the planted bug: old client's bytes not published at a switch", () => {
    const result = fc.check(
      routingHolds((config) => new VirtRxUnpublishedSwitch(config)),
      { numRuns: NUM_RUNS, seed: SEED },
    );
    expect(result.failed).toBe(true);
  });
});
