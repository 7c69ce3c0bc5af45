/**
 * Replayable scripts of register and wire operations against a {@link Pl011Device}, a
 * checker that runs a script against an abstract FIFO model, and fast-check arbitraries
 * for them (STYLE.md: fuzz inputs are a serialisable list of API calls).
 *
 * Checked after every device event and every operation (pl011 reference §3.3, §3.8, §6–§7):
 * - the interrupt line equals `(RIS & IMSC) != 0` and MIS equals `RIS & IMSC`;
 * - the RX FIFO holds exactly the model's entries: every character the receiver stored,
 *   in arrival order, none lost unless the model FIFO was full (overrun, counted) or the
 *   receiver was off (counted); DR reads return the model's oldest entry and its tag;
 * - transmitted characters keep write order, and every written character is either sent,
 *   still queued, or counted as dropped/flushed.
 */
import fc from "fast-check";
import type { Pl011Device, Pl011Variant } from "../device.js";
import { Cr, Fr, LcrH, Reg } from "../registers.js";
import type { FakeDeviceHost } from "./fake-host.js";

export type UartOp =
  | {
      readonly op: "send";
      readonly count: number;
      readonly gapNs: number;
      readonly error?: "framing" | "parity";
    }
  | { readonly op: "break" }
  | { readonly op: "advance"; readonly ns: number }
  | { readonly op: "readDr"; readonly max: number }
  | { readonly op: "imsc"; readonly mask: number }
  | { readonly op: "icr"; readonly mask: number }
  | { readonly op: "ifls"; readonly value: number }
  | { readonly op: "receiver"; readonly on: boolean }
  | { readonly op: "fen"; readonly on: boolean }
  | { readonly op: "writeDr"; readonly count: number };

export interface UartScenario {
  readonly variant: Pl011Variant;
  readonly revision: "r1p4" | "r1p5";
  readonly ops: readonly UartOp[];
}

/** A violated invariant, with the step it happened at. */
export class UartModelViolation extends Error {
  readonly code = "PL011_MODEL_VIOLATION";
}

export const uartOpArb: fc.Arbitrary<UartOp> = fc.oneof(
  {
    arbitrary: fc.record({
      op: fc.constant("send" as const),
      count: fc.integer({ min: 1, max: 40 }),
      gapNs: fc.integer({ min: 0, max: 200_000 }),
    }),
    weight: 4,
  },
  fc.record({
    op: fc.constant("send" as const),
    count: fc.constant(1),
    gapNs: fc.integer({ min: 0, max: 200_000 }),
    error: fc.constantFrom("framing" as const, "parity" as const),
  }),
  fc.constant({ op: "break" as const }),
  {
    arbitrary: fc.record({
      op: fc.constant("advance" as const),
      ns: fc.integer({ min: 0, max: 3_000_000 }),
    }),
    weight: 4,
  },
  {
    arbitrary: fc.record({
      op: fc.constant("readDr" as const),
      max: fc.integer({ min: 1, max: 40 }),
    }),
    weight: 3,
  },
  {
    arbitrary: fc.record({
      op: fc.constant("imsc" as const),
      mask: fc.integer({ min: 0, max: 0x7ff }),
    }),
    weight: 2,
  },
  fc.record({ op: fc.constant("icr" as const), mask: fc.integer({ min: 0, max: 0x7ff }) }),
  fc.record({ op: fc.constant("ifls" as const), value: fc.integer({ min: 0, max: 0x3f }) }),
  fc.record({ op: fc.constant("receiver" as const), on: fc.boolean() }),
  fc.record({ op: fc.constant("fen" as const), on: fc.boolean() }),
  {
    arbitrary: fc.record({
      op: fc.constant("writeDr" as const),
      count: fc.integer({ min: 1, max: 40 }),
    }),
    weight: 2,
  },
);

export const uartScenarioArb: fc.Arbitrary<UartScenario> = fc.record({
  variant: fc.constantFrom<Pl011Variant>("hardware", "qemu"),
  revision: fc.constantFrom("r1p4" as const, "r1p5" as const),
  ops: fc.array(uartOpArb, { minLength: 1, maxLength: 60, size: "medium" }),
});

/**
 * Run `scenario` on `uart` (already programmed, on `host`) and throw
 * {@link UartModelViolation} at the first broken invariant.
 */
export function checkUartScenario(
  uart: Pl011Device,
  host: FakeDeviceHost,
  scenario: UartScenario,
): void {
  let rxSeq = 1;
  let txSeq = 1;
  const pendingRx: number[] = []; // tags sent, not yet sampled by the receiver
  let pendingHead = 0;
  const modelFifo: number[] = [];
  const bytesByTag = new Map<number, number>();
  const written: number[] = [];
  let seen = { stored: 0, overrun: 0, disabled: 0, flushed: 0 };
  let step = "start";
  let checkedTx = 0;

  const fail = (what: string): never => {
    throw new UartModelViolation(`${what} (after ${step}, t=${host.now()} ns)`);
  };
  const depth = () => (uart.read(Reg.LCR_H, 4) & LcrH.FEN ? uart.fifoDepth : 1);

  const reconcile = () => {
    const c = uart.counters;
    const wasFull = modelFifo.length >= depth();
    for (; seen.disabled < c.rxWhileDisabled; seen.disabled++) pendingHead++;
    for (; seen.overrun < c.rxOverrun; seen.overrun++) {
      if (!wasFull)
        fail(`character ${pendingRx[pendingHead]} counted as overrun with FIFO not full`);
      pendingHead++;
    }
    for (; seen.stored < c.rxStored; seen.stored++) {
      const tag = pendingRx[pendingHead++];
      if (tag === undefined) fail("stored a character nobody sent");
      modelFifo.push(tag!);
    }
    for (; seen.flushed < c.rxFlushed; seen.flushed++) modelFifo.shift();
    seen = { ...seen };
  };

  const invariants = () => {
    reconcile();
    const ris = uart.read(Reg.RIS, 4);
    const imsc = uart.read(Reg.IMSC, 4);
    if (uart.read(Reg.MIS, 4) !== (ris & imsc)) fail("MIS is not RIS & IMSC");
    if (host.irqLevel(33) !== ((ris & imsc) !== 0))
      fail(`IRQ line ${host.irqLevel(33)} with MIS 0x${(ris & imsc).toString(16)}`);
    if (uart.rxFifoLevel !== modelFifo.length)
      fail(`RX FIFO holds ${uart.rxFifoLevel}, model ${modelFifo.length}`);
    const rxfe = (uart.read(Reg.FR, 4) & Fr.RXFE) !== 0;
    if (rxfe !== (modelFifo.length === 0)) fail("FR.RXFE disagrees with the FIFO");
    const sent = uart.transmitted;
    for (; checkedTx < sent.length; checkedTx++) {
      if (checkedTx > 0 && sent[checkedTx]!.tag <= sent[checkedTx - 1]!.tag) {
        fail("transmitted characters out of write order");
      }
    }
    const c = uart.counters;
    const inFlight = written.length - sent.length - c.txDroppedFull - c.txFlushed;
    const busy = (uart.read(Reg.FR, 4) & Fr.BUSY) !== 0;
    const shifting = inFlight - uart.txFifoLevel;
    if (
      uart.variant === "qemu"
        ? inFlight !== 0
        : shifting < 0 || shifting > 1 || inFlight > 0 !== busy
    ) {
      fail(`TX accounting: ${inFlight} in flight, FIFO ${uart.txFifoLevel}, BUSY ${busy}`);
    }
  };

  const runTo = (time: number) => {
    for (;;) {
      const next = host.nextEventTime();
      if (next === undefined || next > time) break;
      host.step();
      invariants();
    }
    host.runUntil(time);
  };

  function readAll(max: number): void {
    for (let i = 0; i < max; i++) {
      if (uart.read(Reg.FR, 4) & Fr.RXFE) break;
      const value = uart.read(Reg.DR, 4);
      const tag = uart.readTag(Reg.DR);
      reconcile();
      const expected = modelFifo.shift();
      if (tag !== expected) fail(`DR read returned tag ${tag}, model expects ${expected}`);
      if ((value & 0xff) !== bytesByTag.get(tag))
        fail(`DR data 0x${value.toString(16)} for tag ${tag}`);
      invariants();
    }
  }

  for (const [index, op] of scenario.ops.entries()) {
    step = `op ${index} ${JSON.stringify(op)}`;
    switch (op.op) {
      case "send": {
        let at = host.now();
        for (let i = 0; i < op.count; i++) {
          const tag = rxSeq++;
          const byte = (tag * 37) & 0xff;
          bytesByTag.set(tag, byte);
          pendingRx.push(tag);
          uart.send(byte, { at, tag, ...(op.error ? { error: op.error } : {}) });
          at += op.gapNs;
        }
        break;
      }
      case "break": {
        const tag = rxSeq++;
        bytesByTag.set(tag, 0);
        pendingRx.push(tag);
        uart.sendBreak({ tag });
        break;
      }
      case "advance":
        runTo(host.now() + op.ns);
        break;
      case "readDr":
        readAll(op.max);
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
      case "receiver": {
        const cr = uart.read(Reg.CR, 4);
        uart.write(Reg.CR, 4, op.on ? cr | Cr.RXE : cr & ~Cr.RXE);
        break;
      }
      case "fen": {
        const lcrH = uart.read(Reg.LCR_H, 4);
        uart.write(Reg.LCR_H, 4, op.on ? lcrH | LcrH.FEN : lcrH & ~LcrH.FEN);
        break;
      }
      case "writeDr":
        for (let i = 0; i < op.count; i++) {
          if (uart.read(Reg.FR, 4) & Fr.TXFF) break;
          const tag = txSeq++;
          written.push(tag);
          uart.write(Reg.DR, 4, tag & 0xff, tag);
        }
        break;
    }
    invariants();
  }
  // Final phase: the line goes quiet, then every stored character is read out.
  step = "final drain";
  runTo(host.now() + 50_000_000);
  readAll(Number.POSITIVE_INFINITY);
}
