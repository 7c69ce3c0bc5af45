/**
 * An interleaving explorer for the driver's RX path against virt_rx, as on a multicore
 * system where both PDs run at once (sddf-serial §2.6, §3.3): the driver advances one
 * preemption point at a time, and between any two of them the device may progress or
 * virt_rx may run a whole pass (it only runs when notified, as the real one does).
 *
 * Safety, checked throughout: virt_rx receives bytes in wire order with their tags, and
 * every byte sent is received, still in the FIFO or queue, or counted as lost (R1/R2).
 * Liveness, checked at the end: once input stops and everyone runs fairly, nothing is left
 * in the FIFO — a byte stuck there with RX masked and nobody due to signal the driver is a
 * lost wake-up (DESIGN.md oracle 7).
 */

import type { PdStep } from "@vmmux/microkit-pd";
import fc from "fast-check";
import { CH_IRQ, CH_RX, DriverHarness, IRQ } from "./harness.js";
import { NoRecheckDriver, type PlantedDriverBug } from "./planted.js";

export type DriverOp =
  | { readonly op: "wire"; readonly count: number; readonly gapNs: number }
  | { readonly op: "device"; readonly ns: number }
  | { readonly op: "driver"; readonly steps: number }
  | { readonly op: "virtRx" };

export interface DriverScript {
  readonly rxCapacity: 2 | 4 | 8;
  readonly ops: readonly DriverOp[];
}

export class DriverModelViolation extends Error {
  readonly code = "PL011_DRIVER_MODEL_VIOLATION";
}

export const driverOpArb: fc.Arbitrary<DriverOp> = fc.oneof(
  fc.record({
    op: fc.constant("wire" as const),
    count: fc.integer({ min: 1, max: 6 }),
    gapNs: fc.constantFrom(0, 20_000, 100_000, 400_000),
  }),
  fc.record({ op: fc.constant("device" as const), ns: fc.integer({ min: 0, max: 600_000 }) }),
  // Short driver runs place the other side inside narrow windows of one entry point.
  {
    arbitrary: fc.record({
      op: fc.constant("driver" as const),
      steps: fc.integer({ min: 1, max: 4 }),
    }),
    weight: 3,
  },
  {
    arbitrary: fc.record({
      op: fc.constant("driver" as const),
      steps: fc.integer({ min: 1, max: 40 }),
    }),
    weight: 2,
  },
  { arbitrary: fc.constant({ op: "virtRx" as const }), weight: 2 },
);

export const driverScriptArb: fc.Arbitrary<DriverScript> = fc.record({
  rxCapacity: fc.constantFrom(2 as const, 4 as const, 8 as const),
  ops: fc.array(driverOpArb, { minLength: 1, maxLength: 80, size: "medium" }),
});

/** Run `script`; throws {@link DriverModelViolation} at the first broken invariant. */
export function checkDriverScript(script: DriverScript, plantedBug?: PlantedDriverBug): void {
  const h = new DriverHarness({
    rxCapacity: script.rxCapacity,
    txCapacity: 16,
    autoDrainRx: false,
    ...(plantedBug === "rx-no-recheck" ? { makeDriver: (c) => new NoRecheckDriver(c) } : {}),
  });
  h.init();
  const { uart, host, pd, driver } = h;
  host.recordTraces = false;
  let running: PdStep | null = null;
  let runningIrq = false;
  let irqMasked = false;
  let virtRxNotified = false;
  let driverSignalled = false;
  const received: number[] = [];
  let sent = 0;
  let step = "init";
  const q = h.rxConsumer!;

  const fail = (what: string): never => {
    throw new DriverModelViolation(`${what} (after ${step}, t=${host.now()} ns)`);
  };

  const finishEntry = () => {
    for (const call of pd.calls) {
      if (call.op === "deferredIrqAck" && runningIrq) irqMasked = false;
      if (call.op === "notify" && call.ch === CH_RX) virtRxNotified = true;
    }
    pd.calls.length = 0;
    running = null;
    runningIrq = false;
  };

  /** Start the next entry the kernel would deliver, if any (IRQ bit 0 before channel 2). */
  const startEntry = (): boolean => {
    if (!irqMasked && host.irqLevel(IRQ)) {
      irqMasked = true;
      runningIrq = true;
      running = driver.notified(CH_IRQ, pd);
      return true;
    }
    if (driverSignalled) {
      driverSignalled = false;
      running = driver.notified(CH_RX, pd);
      return true;
    }
    return false;
  };

  const driverSteps = (count: number) => {
    for (let i = 0; i < count; i++) {
      if (running === null && !startEntry()) return;
      const r = running!.next();
      pd.points.length = 0;
      if (r.done) finishEntry();
    }
  };

  const virtRxPass = () => {
    if (!virtRxNotified) return;
    virtRxNotified = false;
    for (let b = q.dequeue(); b !== undefined; b = q.dequeue()) {
      const tag = q.lastTag;
      if (received.length > 0 && tag <= received[received.length - 1]!)
        fail(`tag ${tag} out of order`);
      if (b !== (tag & 0xff)) fail(`byte 0x${b.toString(16)} does not match tag ${tag}`);
      received.push(tag);
    }
    if (!q.full() && q.requireConsumerSignal()) {
      q.cancelConsumerSignal();
      driverSignalled = true;
    }
  };

  const account = () => {
    const c = uart.counters;
    // A byte the driver has read from DR but not enqueued yet (it is between two points).
    const inDriver = c.rxStored - uart.rxFifoLevel - driver.counters.rxBytes;
    if (inDriver < 0 || inDriver > (running === null ? 0 : 1))
      fail(`${inDriver} bytes held by the driver`);
    const held =
      uart.rxFifoLevel + q.lengthConsumer() + uart.wireBacklog + (inFlight() ? 1 : 0) + inDriver;
    if (received.length + held + c.rxOverrun + c.rxWhileDisabled !== sent) {
      fail(
        `accounting: sent ${sent}, received ${received.length}, held ${held}, lost ${c.rxOverrun}`,
      );
    }
  };
  const inFlight = () =>
    sent - uart.wireBacklog - uart.counters.rxFrames - uart.counters.rxWhileDisabled > 0;

  for (const [index, op] of script.ops.entries()) {
    step = `op ${index} ${JSON.stringify(op)}`;
    switch (op.op) {
      case "wire":
        for (let i = 0; i < op.count; i++) {
          sent++;
          uart.send(sent & 0xff, { tag: sent, at: host.now() + i * op.gapNs });
        }
        break;
      case "device":
        host.runUntil(host.now() + op.ns);
        break;
      case "driver":
        driverSteps(op.steps);
        break;
      case "virtRx":
        virtRxPass();
        break;
    }
    account();
  }

  // Liveness: input has stopped; run everyone fairly until nothing is left to do.
  step = "liveness phase";
  for (let guard = 0; guard < 1_000_000; guard++) {
    if (running !== null || startEntry()) {
      driverSteps(1_000_000);
      continue;
    }
    if (virtRxNotified) {
      virtRxPass();
      continue;
    }
    if (!host.step()) break;
  }
  account();
  if (uart.rxFifoLevel > 0) {
    fail(`lost wake-up: ${uart.rxFifoLevel} bytes stuck in the RX FIFO with nobody due to run`);
  }
  if (received.length + uart.counters.rxOverrun + uart.counters.rxWhileDisabled !== sent) {
    fail("bytes neither received nor counted as lost");
  }
}
