/**
 * Property of virt_tx's line-atomic option (DESIGN.md oracle 3): no client line is split on
 * the wire by another client's bytes unless virt_tx reported the split (a line too long for
 * the queues, or a client waiting for space); and holding lines back loses and reorders
 * nothing: each client's wire bytes are a prefix of what it published and the rest is still
 * in its queue.
 */
import { ORIGIN_VIRTUALISER } from "@vmmux/sddf-queues";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { VirtTxConfig } from "./config.js";
import { VirtTxLineBlind } from "./testing/planted.js";
import { simulateTx, type TxSimCommand } from "./testing/tx-sim.js";
import type { VirtTx } from "./virt-tx.js";

const NUM_RUNS = Number(process.env.VMMUX_PROP_RUNS ?? 150);
const SEED = 0x11ea70;
const NL = 0x0a;

const text = fc
  .array(fc.constantFrom(0x61, 0x62, 0x63, NL), { minLength: 1, maxLength: 20 })
  .map((bytes) => Uint8Array.from(bytes));

const scenario = fc.integer({ min: 2, max: 3 }).chain((clients) =>
  fc.record({
    clients: fc.constant(clients),
    clientCapacity: fc.constantFrom(32, 64),
    enableColour: fc.boolean(),
    windowPreemptions: fc.array(fc.constantFrom(0, 3, 2 ** 20), { maxLength: 4 }),
    preemptions: fc.array(fc.constantFrom(0, 0, 0, 2, 8, 2 ** 20), { maxLength: 8 }),
    commands: fc.array(
      fc.oneof(
        {
          weight: 3,
          arbitrary: fc.record({
            kind: fc.constant("write" as const),
            k: fc.integer({ min: 0, max: clients - 1 }),
            bytes: text,
          }),
        },
        {
          weight: 1,
          arbitrary: fc.record({
            kind: fc.constant("driver" as const),
            max: fc.integer({ min: 0, max: 32 }),
          }),
        },
      ),
      { maxLength: 40 },
    ),
  }),
);

/** Lines of any client that have another client's byte between their first and last byte. */
function splitLines(wire: readonly { tag: number; byte: number }[]): number {
  const open = new Map<number, boolean>(); // origin → its current line saw a foreign byte
  let splits = 0;
  let last = -1;
  for (const { tag, byte } of wire) {
    const origin = tag >>> 24;
    if (origin === ORIGIN_VIRTUALISER) continue;
    if (last !== -1 && last !== origin) {
      for (const other of open.keys()) if (other !== origin) open.set(other, true);
    }
    last = origin;
    const state = open.get(origin);
    if (byte === NL) {
      if (state === true) splits += 1;
      open.delete(origin);
    } else if (state === undefined) {
      open.set(origin, false);
    }
  }
  return splits;
}

function linesKept(make?: (config: VirtTxConfig) => VirtTx) {
  return fc.property(scenario, (s) => {
    const { rig, published } = simulateTx(
      {
        clients: s.clients,
        clientCapacity: s.clientCapacity,
        driverCapacity: 128,
        config: { profile: "hardened", lineAtomic: true, enableColour: s.enableColour },
        preemptions: s.preemptions,
        windowPreemptions: s.windowPreemptions,
        ...(make ? { make } : {}),
      },
      s.commands as TxSimCommand[],
    );
    expect(splitLines(rig.wire)).toBeLessThanOrEqual(rig.virt.loss.lineSplit);
    for (let k = 0; k < s.clients; k++) {
      const mine = rig.wire.filter((w) => w.tag >>> 24 === k + 1).map((w) => w.byte);
      const sent = published[k] ?? [];
      expect(mine).toEqual(sent.slice(0, mine.length));
      expect(rig.clients[k]?.lengthProducer()).toBe(sent.length - mine.length);
    }
  });
}

describe("serial_virt_tx line-atomic property", () => {
  it("no line is split by another client's bytes unless the split is reported", () => {
    fc.assert(linesKept(), { numRuns: NUM_RUNS, seed: SEED });
  });

  it("catches the planted bug: trailing partial lines not held back", () => {
    const result = fc.check(
      linesKept((config) => new VirtTxLineBlind(config)),
      { numRuns: NUM_RUNS, seed: SEED },
    );
    expect(result.failed).toBe(true);
  });
});
