/**
 * Containment of corrupt peers (DESIGN.md oracle 6, sddf-serial reference §2.3): a client
 * that writes garbage into its queue's shared index, and a driver whose index is out of
 * bounds for a while, make neither virtualiser throw, and cost an honest client nothing:
 * every byte it publishes (TX) or is typed for it (RX) arrives, in order, once the driver
 * is sane again. Corruption happens at the virtualisers' preemption points, where the real
 * peers (they outrank or share the core) could write.
 */
import type { PreemptionPoint } from "@vmmux/microkit-pd";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Profile } from "./config.js";
import { RIG_DRIVER_CHANNEL, RxRig, runInterleaved, TxRig } from "./testing/rig.js";

const NUM_RUNS = Number(process.env.VMMUX_PROP_RUNS ?? 100);
const SEED = 0xc0a7a1;
const SW = 0x1c;

/** What a peer does at one preemption point of the virtualiser. */
type PeerMove = "none" | "corruptClient" | "corruptDriver" | "restoreDriver" | "drain";

const arbMoves = fc.array(
  fc.constantFrom<PeerMove>(
    "none",
    "none",
    "corruptClient",
    "corruptDriver",
    "restoreDriver",
    "drain",
  ),
  { maxLength: 24 },
);
/** A value that puts an index out of bounds whatever the other index is. */
const arbGarbage = fc.integer({ min: 0x1000, max: 0x7fff_0000 });
const arbProfile = fc.constantFrom<Profile>("reference", "hardened");

/** Plays the peers' corrupting moves at successive preemption points. */
class Peers {
  private next = 0;
  driverSaved: number | undefined;
  clientCorrupt = false;
  constructor(
    private readonly moves: readonly PeerMove[],
    private readonly garbage: number,
    private readonly word: (what: "client" | "driver") => {
      load(): number;
      store(v: number): void;
    },
    private readonly drain: () => void,
  ) {}

  at(_point: PreemptionPoint): void {
    const move = this.moves[this.next++ % Math.max(this.moves.length, 1)] ?? "none";
    const driver = this.word("driver");
    if (move === "corruptClient") {
      this.word("client").store(this.garbage);
      this.clientCorrupt = true;
    }
    if (move === "corruptDriver" && this.driverSaved === undefined) {
      this.driverSaved = driver.load();
      driver.store((this.driverSaved + this.garbage) >>> 0);
    }
    if (move === "restoreDriver") this.restore();
    if (move === "drain" && this.driverSaved === undefined) this.drain();
  }

  restore(): void {
    if (this.driverSaved === undefined) return;
    this.word("driver").store(this.driverSaved);
    this.driverSaved = undefined;
  }
}

/** How often each containment path ran over a property's cases (both must be reached). */
function seen(pd: { calls: readonly { op: string; message?: string }[] }, tally: Set<string>) {
  for (const call of pd.calls) {
    if (call.op !== "debug") continue;
    if (/client 0 .x queue corrupt, client disconnected/.test(call.message ?? ""))
      tally.add("client");
    if (/driver .x queue corrupt/.test(call.message ?? "")) tally.add("driver");
  }
}

describe("virtualisers contain corrupt peers", () => {
  it("virt_tx: no throw, and the honest client's bytes all reach the wire in order", () => {
    const tally = new Set<string>();
    fc.assert(
      fc.property(
        arbProfile,
        fc.boolean(),
        arbMoves,
        arbGarbage,
        fc.array(
          fc.tuple(fc.integer({ min: 0, max: 1 }), fc.uint8Array({ minLength: 1, maxLength: 24 })),
          {
            maxLength: 16,
          },
        ),
        (profile, enableColour, moves, garbage, writes) => {
          const r = new TxRig({
            clients: 2,
            clientCapacity: 64,
            driverCapacity: 128,
            config: { profile, enableColour },
          });
          const memory = (name: string, offset: number) => ({
            load: () => r.pd.memory(name).load32(offset),
            store: (v: number) => r.pd.memory(name).store32(offset, v),
          });
          // Client 0 corrupts its tail (0x0); the driver its head (0x4).
          const peers = new Peers(
            moves,
            garbage,
            (what) =>
              what === "client" ? memory("tx_client0_queue", 0) : memory("tx_driver_queue", 4),
            () => r.take(),
          );
          const honest: number[] = [];
          const notify = (ch: number) =>
            runInterleaved(r.pd, r.virt.notified(ch, r.pd), (p) => peers.at(p));
          for (const [k, bytes] of writes) {
            // A client that wrote garbage into its own index stops writing (its handle would
            // refuse); the honest one goes on.
            if (k === 0 && peers.clientCorrupt) continue;
            const n = r.publish(k, bytes);
            if (k === 1) honest.push(...bytes.subarray(0, n));
            notify(k + 1);
            if (
              peers.driverSaved === undefined &&
              r.take() > 0 &&
              r.driver.requireConsumerSignal()
            ) {
              r.driver.cancelConsumerSignal();
              notify(RIG_DRIVER_CHANNEL);
            }
          }
          // Liveness: the driver is sane again and drains; the honest client asks once more.
          peers.restore();
          for (let round = 0; round < 64; round++) {
            r.drain();
            r.kick(1);
          }
          r.drain();
          const got = r.wire.filter((w) => w.tag >>> 24 === 2).map((w) => w.byte);
          expect(got).toEqual(honest);
          seen(r.pd, tally);
        },
      ),
      { numRuns: NUM_RUNS, seed: SEED },
    );
    expect([...tally].sort()).toEqual(["client", "driver"]);
  });

  it("virt_rx: no throw, and every byte typed for the honest client reaches it in order", () => {
    const tally = new Set<string>();
    fc.assert(
      fc.property(
        arbProfile,
        arbMoves,
        arbGarbage,
        fc.array(
          fc.tuple(fc.integer({ min: 0, max: 1 }), fc.uint8Array({ minLength: 1, maxLength: 12 })),
          {
            maxLength: 12,
          },
        ),
        (profile, moves, garbage, typed) => {
          const r = new RxRig({
            clients: 2,
            clientCapacity: 512,
            driverCapacity: 64,
            config: { profile },
          });
          const memory = (name: string, offset: number) => ({
            load: () => r.pd.memory(name).load32(offset),
            store: (v: number) => r.pd.memory(name).store32(offset, v),
          });
          // Client 0 corrupts its head (0x4); the driver its tail (0x0).
          const peers = new Peers(
            moves,
            garbage,
            (what) =>
              what === "client" ? memory("rx_client0_queue", 4) : memory("rx_driver_queue", 0),
            () => {},
          );
          const honest: number[] = [];
          const run = () =>
            runInterleaved(r.pd, r.virt.notified(RIG_DRIVER_CHANNEL, r.pd), (p) => peers.at(p));
          for (const [k, raw] of typed) {
            if (k === 0 && peers.clientCorrupt) continue;
            const bytes = [SW, 0x30 + k, 0x0d, ...[...raw].filter((b) => b !== SW)];
            // The driver produces only while its own index is sane; it waits for space, and
            // for virt_rx to take everything, before the next segment.
            let at = 0;
            for (let spin = 0; spin < 256; spin++) {
              if (peers.driverSaved === undefined) {
                while (at < bytes.length && r.driver.enqueue(bytes[at] as number)) {
                  if (k === 1 && at >= 3) honest.push(bytes[at] as number);
                  at += 1;
                }
                if (at === bytes.length && r.driver.empty()) break;
              }
              run();
              if (peers.driverSaved !== undefined && spin % 4 === 3) peers.restore();
            }
            expect(at).toBe(bytes.length);
          }
          peers.restore();
          run();
          const received = r.read(1).bytes;
          expect(received).toEqual(honest);
          seen(r.pd, tally);
        },
      ),
      { numRuns: NUM_RUNS, seed: SEED },
    );
    expect([...tally].sort()).toEqual(["client", "driver"]);
  });
});
