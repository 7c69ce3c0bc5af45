/**
 * Equivalence of the two ways the transmitter moves characters (`tx.ts`): one timer event
 * per character, or arithmetic draining. A scenario is a replayable list of register
 * accesses, time steps, modem changes and peer traffic on a device at a given baud rate and
 * revision; {@link observeDrain} runs it and returns everything observable: each register
 * read, every interrupt edge with its time, every wire character with its times, and the
 * counters at the end. The two modes must give identical observations.
 */
import fc from "fast-check";
import { type PartsContext, transmitterOptions } from "../behaviour.js";
import { Pl011Device, type Pl011Options } from "../device.js";
import { Cr, Int, LcrH, type Pl011Revision, Reg } from "../registers.js";
import { FifoTransmitter, type Transmitter } from "../tx.js";
import type { PeerWire } from "../wire.js";
import { FakeDeviceHost } from "./fake-host.js";
import { DriverHarness } from "./harness.js";
import { programUart } from "./setup.js";

export type DrainOp =
  | { readonly op: "write"; readonly count: number; readonly checkFull: boolean }
  | { readonly op: "advance"; readonly ns: number }
  | { readonly op: "read"; readonly offset: number }
  | { readonly op: "imsc"; readonly mask: number }
  | { readonly op: "icr"; readonly mask: number }
  | { readonly op: "ifls"; readonly value: number }
  | { readonly op: "lcrh"; readonly flip: number }
  | { readonly op: "cr"; readonly flip: number }
  | { readonly op: "cts"; readonly on: boolean }
  | { readonly op: "send"; readonly count: number; readonly gapNs: number }
  | { readonly op: "listen"; readonly refill: number };

export interface DrainScenario {
  readonly baud: number;
  readonly revision: Pl011Revision;
  readonly imsc: number;
  readonly ifls: number;
  readonly ops: readonly DrainOp[];
}

/** Everything a PD, the peer or the IRQ controller can see of one run. */
export interface DrainObservation {
  readonly reads: number[];
  readonly edges: string[];
  readonly wire: number[];
  readonly counters: Record<string, number>;
  /** The device's trace records with their times (one per character). */
  readonly traces: string[];
  /** What `onTransmit` listeners saw, with the time they saw it. */
  readonly heard: number[];
  readonly end: number;
}

/** An observation and the host events it took (the cost, which may differ). */
export interface DrainRun {
  readonly observed: DrainObservation;
  readonly events: number;
}

const READABLE = [Reg.FR, Reg.RIS, Reg.MIS, Reg.DR, Reg.LCR_H, Reg.IMSC];

export const drainOpArb: fc.Arbitrary<DrainOp> = fc.oneof(
  {
    arbitrary: fc.record({
      op: fc.constant("write" as const),
      count: fc.integer({ min: 1, max: 40 }),
      checkFull: fc.boolean(),
    }),
    weight: 4,
  },
  {
    arbitrary: fc.record({
      op: fc.constant("advance" as const),
      ns: fc.oneof(fc.integer({ min: 0, max: 3_000_000 }), fc.integer({ min: 0, max: 120_000 })),
    }),
    weight: 5,
  },
  {
    arbitrary: fc.record({
      op: fc.constant("read" as const),
      offset: fc.constantFrom(...READABLE),
    }),
    weight: 3,
  },
  {
    arbitrary: fc.record({
      op: fc.constant("imsc" as const),
      mask: fc.constantFrom(0, Int.TX, Int.TX | Int.RX | Int.RT, Int.ALL, Int.RX),
    }),
    weight: 2,
  },
  fc.record({ op: fc.constant("icr" as const), mask: fc.constantFrom(Int.TX, Int.ALL, 0) }),
  fc.record({ op: fc.constant("ifls" as const), value: fc.integer({ min: 0, max: 0x3f }) }),
  fc.record({
    op: fc.constant("lcrh" as const),
    flip: fc.constantFrom(LcrH.BRK, LcrH.FEN, LcrH.PEN, LcrH.STP2, LcrH.WLEN_MASK, 1 << 5),
  }),
  fc.record({
    op: fc.constant("cr" as const),
    flip: fc.constantFrom(Cr.TXE, Cr.LBE, Cr.CTSEN, Cr.UARTEN, Cr.RXE),
  }),
  fc.record({ op: fc.constant("cts" as const), on: fc.boolean() }),
  fc.record({
    op: fc.constant("send" as const),
    count: fc.integer({ min: 1, max: 8 }),
    gapNs: fc.constantFrom(0, 30_000, 200_000),
  }),
  // A listener from now on (every end becomes observable), writing `refill` bytes when it hears one.
  fc.record({ op: fc.constant("listen" as const), refill: fc.integer({ min: 0, max: 2 }) }),
);

export const drainScenarioArb: fc.Arbitrary<DrainScenario> = fc.record({
  baud: fc.constantFrom(9_600, 57_600, 115_200, 230_400, 921_600, 1_500_000),
  revision: fc.constantFrom<Pl011Revision>("r1p4", "r1p5"),
  imsc: fc.constantFrom(0, Int.TX, Int.TX | Int.RX | Int.RT),
  ifls: fc.integer({ min: 0, max: 0x3f }),
  ops: fc.array(drainOpArb, { minLength: 1, maxLength: 50, size: "medium" }),
});

/** Builds the device under test (a planted variant, say); default `new Pl011Device`. */
export type DrainDeviceFactory = (options: Pl011Options) => Pl011Device;

/** Run `scenario` with `exactCharacterEvents` as given: what could be observed, and the cost. */
export function observeDrain(
  scenario: DrainScenario,
  exactCharacterEvents: boolean,
  makeDevice: DrainDeviceFactory = (o) => new Pl011Device(o),
): DrainRun {
  const host = new FakeDeviceHost();
  const wire: number[] = [];
  const heard: number[] = [];
  const uart = makeDevice({
    host,
    irq: 33,
    revision: scenario.revision,
    exactCharacterEvents,
    transmitSink: (byte, tag, start, end, kind) => wire.push(byte, tag, start, end, kind),
  });
  programUart(uart, { baud: scenario.baud, imsc: scenario.imsc, ifls: scenario.ifls });
  const reads: number[] = [];
  let tag = 1;
  for (const op of scenario.ops) {
    switch (op.op) {
      case "write":
        for (let i = 0; i < op.count; i++) {
          if (op.checkFull) {
            const fr = uart.read(Reg.FR, 4);
            reads.push(fr);
            if (fr & (1 << 5)) break;
          }
          uart.write(Reg.DR, 4, tag & 0xff, tag);
          tag++;
        }
        break;
      case "advance":
        host.runUntil(host.now() + op.ns);
        break;
      case "read":
        reads.push(uart.read(op.offset, 4));
        break;
      case "imsc":
        uart.write(Reg.IMSC, 4, op.mask);
        break;
      case "icr":
        uart.write(Reg.ICR, 4, op.mask);
        break;
      case "ifls":
        uart.write(Reg.IFLS, 4, op.value);
        break;
      case "lcrh":
        uart.write(Reg.LCR_H, 4, uart.read(Reg.LCR_H, 4) ^ op.flip);
        break;
      case "cr":
        uart.write(Reg.CR, 4, uart.read(Reg.CR, 4) ^ op.flip);
        break;
      case "cts":
        uart.setModemInputs({ cts: op.on });
        break;
      case "send":
        for (let i = 0; i < op.count; i++) {
          uart.send(0x40 + i, { at: host.now() + i * op.gapNs, tag: 0x100000 + tag++ });
        }
        break;
      case "listen": {
        let budget = 200;
        uart.onTransmit((b) => {
          heard.push(host.now(), b.byte, b.end);
          for (let i = 0; i < op.refill && budget > 0; i++, budget--) {
            uart.write(Reg.DR, 4, tag & 0xff, tag);
            tag++;
          }
        });
        break;
      }
    }
  }
  host.runUntil(host.now() + 60_000_000);
  uart.settle();
  const observed = {
    reads,
    edges: host.irqChanges.map((c) => `${c.time}:${c.asserted ? 1 : 0}`),
    wire,
    counters: { ...uart.counters },
    traces: host.traces.map((r) => `${r.time}:${r.name}:${JSON.stringify(r.args)}`),
    heard,
    end: host.now(),
  };
  return { observed, events: host.eventsRun };
}

/**
 * A planted wrong drain: the self-timed wake-ups (TX level crossing, drain end) are one
 * character time late, so an interrupt edge moves. The equivalence property must catch it.
 */
class LateWakeTransmitter extends FifoTransmitter {
  protected override endAfter(n: number): number {
    return super.endAfter(n + 1);
  }
}

/** A device whose arithmetic draining wakes one character late (see above). */
export class LateDrainDevice extends Pl011Device {
  protected override makeTransmitter(ctx: PartsContext, wire: PeerWire): Transmitter {
    if (ctx.options.variant === "qemu") return super.makeTransmitter(ctx, wire);
    return new LateWakeTransmitter(
      ctx.regs,
      ctx.txFifo,
      ctx.rx,
      ctx.output,
      transmitterOptions(ctx, wire),
    );
  }
}

/** Traffic for the device and driver together: virt_tx bursts, typed input, time steps. */
export type DriverTrafficOp =
  | { readonly op: "transmit"; readonly count: number }
  | { readonly op: "type"; readonly count: number; readonly gapNs: number }
  | { readonly op: "advance"; readonly ns: number };

export interface DriverTraffic {
  readonly profile: "reference" | "hardened";
  readonly revision: Pl011Revision;
  readonly baud: number;
  readonly ops: readonly DriverTrafficOp[];
}

export const driverTrafficArb: fc.Arbitrary<DriverTraffic> = fc.record({
  profile: fc.constantFrom("reference" as const, "hardened" as const),
  revision: fc.constantFrom<Pl011Revision>("r1p4", "r1p5"),
  baud: fc.constantFrom(9_600, 115_200, 921_600),
  ops: fc.array(
    fc.oneof(
      {
        arbitrary: fc.record({
          op: fc.constant("transmit" as const),
          count: fc.integer({ min: 1, max: 200 }),
        }),
        weight: 3,
      },
      fc.record({
        op: fc.constant("type" as const),
        count: fc.integer({ min: 1, max: 6 }),
        gapNs: fc.constantFrom(0, 50_000, 300_000),
      }),
      {
        arbitrary: fc.record({
          op: fc.constant("advance" as const),
          ns: fc.integer({ min: 0, max: 20_000_000 }),
        }),
        weight: 3,
      },
    ),
    { minLength: 1, maxLength: 30 },
  ),
});

/** Run driver traffic on a {@link DriverHarness}-like setup; everything the peers can see. */
export function observeDriverDrain(
  traffic: DriverTraffic,
  exactCharacterEvents: boolean,
): DrainRun {
  const wire: number[] = [];
  const h = new DriverHarness({
    profile: traffic.profile,
    txCapacity: 256,
    driver: { defaultBaud: traffic.baud },
    device: {
      revision: traffic.revision,
      exactCharacterEvents,
      transmitSink: (byte, tag, start, end, kind) => wire.push(byte, tag, start, end, kind),
    },
  });
  h.init();
  let tag = 1;
  for (const op of traffic.ops) {
    switch (op.op) {
      case "transmit": {
        const bytes = Array.from({ length: op.count }, (_, i) => (tag + i) & 0xff);
        const tags = Array.from({ length: op.count }, (_, i) => tag + i);
        tag += h.transmit(bytes, tags);
        break;
      }
      case "type":
        for (let i = 0; i < op.count; i++) {
          h.uart.send(0x61 + i, { at: h.host.now() + i * op.gapNs, tag: 0x100000 + tag++ });
        }
        break;
      case "advance":
        h.runUntil(h.host.now() + op.ns);
        break;
    }
  }
  h.runUntil(h.host.now() + 200_000_000);
  h.uart.settle();
  const observed = {
    reads: [...h.received, ...h.receivedTags, h.notifiesToTx, h.notifiesToRx],
    edges: h.host.irqChanges.map((c) => `${c.time}:${c.asserted ? 1 : 0}`),
    wire,
    counters: { ...h.uart.counters, ...prefixed(h.driver.counters) },
    traces: h.host.traces.map((r) => `${r.time}:${r.name}:${JSON.stringify(r.args)}`),
    heard: [],
    end: h.host.now(),
  };
  return { observed, events: h.host.eventsRun };
}

function prefixed(counters: object): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(counters)) out[`driver.${k}`] = v as number;
  return out;
}
