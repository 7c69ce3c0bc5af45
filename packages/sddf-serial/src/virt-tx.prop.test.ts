/**
 * Properties of serial_virt_tx (reference §5.3–§5.6, DESIGN.md oracle 1): with queues
 * large enough that every unit fits the driver queue, N clients' output reaches the wire
 * complete and in each client's order (attributed by provenance tag), every client unit is
 * framed by its own colour, and no interleaving of the driver at virt_tx's preemption
 * points strands a client (§3.3).
 */
import { ORIGIN_VIRTUALISER } from "@vmmux/sddf-queues";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { COLOUR_END, colourStart } from "./colour.js";
import type { Profile, VirtTxConfig } from "./config.js";
import { VirtTxWithoutRecheck } from "./testing/planted.js";
import { simulateTx, type TxSimCommand } from "./testing/tx-sim.js";
import type { VirtTx } from "./virt-tx.js";

const NUM_RUNS = Number(process.env.VMMUX_PROP_RUNS ?? 150);
const SEED = 0x7a1e55;

const scenario = fc.integer({ min: 1, max: 4 }).chain((clients) =>
  fc.record({
    clients: fc.constant(clients),
    clientCapacity: fc.constantFrom(16, 32, 64),
    extra: fc.constantFrom(9, 12, 16, 64),
    enableColour: fc.boolean(),
    // 0 = the driver does not run there; 2^20 = it drains everything.
    windowPreemptions: fc.array(fc.constantFrom(0, 3, 2 ** 20), { maxLength: 4 }),
    preemptions: fc.array(
      fc.oneof(
        { weight: 6, arbitrary: fc.constant(0) },
        { weight: 2, arbitrary: fc.integer({ min: 1, max: 8 }) },
        { weight: 1, arbitrary: fc.constant(2 ** 20) },
      ),
      {
        maxLength: 12,
      },
    ),
    commands: fc.array(
      fc.oneof(
        {
          weight: 3,
          arbitrary: fc.record({
            kind: fc.constant("write" as const),
            k: fc.integer({ min: 0, max: clients - 1 }),
            bytes: fc.uint8Array({ minLength: 1, maxLength: 40 }),
          }),
        },
        {
          weight: 2,
          arbitrary: fc.record({
            kind: fc.constant("driver" as const),
            max: fc.integer({ min: 0, max: 16 }),
          }),
        },
      ),
      { maxLength: 40 },
    ),
  }),
);

/** Split the wire into (colour client, bytes) frames; undefined if the framing is broken. */
function frames(wire: readonly { byte: number; tag: number }[], clients: number) {
  const out: { k: number; tags: number[] }[] = [];
  let i = 0;
  const matches = (code: Uint8Array) =>
    code.every((b, j) => {
      const w = wire[i + j];
      return w !== undefined && w.byte === b && w.tag >>> 24 === ORIGIN_VIRTUALISER;
    });
  while (i < wire.length) {
    let k = -1;
    for (let c = 0; c < Math.min(clients, 6); c++) if (matches(colourStart(c))) k = c;
    if (k < 0) return undefined;
    i += 5;
    const tags: number[] = [];
    while (i < wire.length && (wire[i]?.tag as number) >>> 24 !== ORIGIN_VIRTUALISER) {
      tags.push(wire[i]?.tag as number);
      i += 1;
    }
    if (!matches(COLOUR_END)) return undefined;
    i += 4;
    out.push({ k, tags });
  }
  return out;
}

function lossless(profile: Profile, make?: (config: VirtTxConfig) => VirtTx) {
  return fc.property(scenario, (s) => {
    const { rig, published, quiescent, strandedAfter } = simulateTx(
      {
        clients: s.clients,
        clientCapacity: s.clientCapacity,
        // Large enough: a full client queue plus its colour pair always fits.
        driverCapacity: 2 ** Math.ceil(Math.log2(s.clientCapacity + s.extra)),
        config: { profile, enableColour: s.enableColour, enableRx: true },
        preemptions: s.preemptions,
        windowPreemptions: s.windowPreemptions,
        ...(make ? { make } : {}),
      },
      s.commands as TxSimCommand[],
    );
    expect(strandedAfter).toBeUndefined();
    expect(quiescent).toBe(true);
    for (let k = 0; k < s.clients; k++) {
      const mine = rig.wire.filter((w) => w.tag >>> 24 === k + 1);
      expect(mine.map((w) => w.byte)).toEqual(published[k]);
      expect(mine.map((w) => w.tag & 0xffffff)).toEqual(mine.map((_, i) => i));
      expect(rig.clients[k]?.lengthProducer()).toBe(0);
    }
    expect([rig.virt.loss.T4, rig.virt.loss.T7, rig.virt.loss.lineSplit]).toEqual([0, 0, 0]);
    if (s.enableColour) {
      // The begin string (virtualiser bytes, no colour) comes first.
      const framed = frames(rig.wire.slice(rig.config.beginStr.length), s.clients);
      expect(framed).toBeDefined();
      for (const frame of framed ?? []) {
        expect(frame.tags.length).toBeGreaterThan(0);
        for (const tag of frame.tags) expect((tag >>> 24) - 1).toBe(frame.k);
      }
    }
  });
}

describe("serial_virt_tx lossless-and-ordered property", () => {
  for (const profile of ["reference", "hardened"] as const) {
    it(`${profile}: every published byte reaches the wire once, in its client's order, in its colour`, () => {
      fc.assert(lossless(profile), { numRuns: NUM_RUNS, seed: SEED });
    });
  }

  it("catches the planted bug: no re-check after requesting the driver signal (lost wake-up)", () => {
    const result = fc.check(
      lossless("reference", (config) => new VirtTxWithoutRecheck(config)),
      { numRuns: NUM_RUNS, seed: SEED },
    );
    expect(result.failed).toBe(true);
  });
});
