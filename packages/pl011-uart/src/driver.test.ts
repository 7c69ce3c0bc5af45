import { ManualPd } from "@vmmux/microkit-pd/testing";
import { SerialQueue } from "@vmmux/sddf-queues";
import { describe, expect, it } from "vitest";
import { type DriverQuirks, resolveDriverConfig } from "./config.js";
import { Pl011Driver } from "./driver.js";
import { Pl011Error } from "./errors.js";
import { uartLossPoints } from "./loss.js";
import { Cr, Fr, Int, Reg } from "./registers.js";
import { FakeDeviceHost } from "./testing/fake-host.js";
import { CH_IRQ, CH_RX, CH_TX, DriverHarness } from "./testing/harness.js";

function registers(h: DriverHarness) {
  const r = (o: number) => h.uart.read(o, 4);
  return {
    lcrH: r(Reg.LCR_H),
    ibrd: r(Reg.IBRD),
    fbrd: r(Reg.FBRD),
    ifls: r(Reg.IFLS),
    imsc: r(Reg.IMSC),
    cr: r(Reg.CR),
  };
}

const bytes = (n: number, base = 0) => Array.from({ length: n }, (_, i) => (base + i) & 0xff);

describe("driver init (sddf-serial §7.2)", () => {
  it("programs 8O1, IBRD 13 with a zero fraction, IFLS 0, IMSC 0x70, CR 0x301 under reference", () => {
    const h = new DriverHarness({ profile: "reference" }).init();
    expect(registers(h)).toEqual({ lcrH: 0x72, ibrd: 13, fbrd: 0, ifls: 0, imsc: 0x70, cr: 0x301 });
    expect(h.uart.baud).toBeCloseTo(115_384.6, 1);
    expect(h.uart.format).toEqual({ dataBits: 8, parity: "odd", stopBits: 1 });
  });

  it("programs 8N1 with the TRM divisor 13 + 1/64 under hardened", () => {
    const h = new DriverHarness({ profile: "hardened" }).init();
    expect(registers(h)).toEqual({ lcrH: 0x70, ibrd: 13, fbrd: 1, ifls: 0, imsc: 0x70, cr: 0x301 });
    expect(h.uart.baud).toBeCloseTo(115_246.1, 1);
  });

  it("reproduces the historical LCR_H 0x13 (BRK, 5-bit words) when that switch is on", () => {
    const h = new DriverHarness({
      profile: "reference",
      driver: { quirks: { lcrhWlenBug: true } },
    });
    h.init();
    expect(registers(h).lcrH).toBe(0x13);
    h.transmit([0x41]);
    h.runToIdle();
    expect(h.uart.transmitted).toHaveLength(0); // TXD held low on real hardware
  });

  it("leaves RX off without an RX connection (rx_enabled false)", () => {
    const h = new DriverHarness({ txOnly: true }).init();
    expect(registers(h)).toMatchObject({ imsc: Int.TX, cr: Cr.UARTEN | Cr.TXE, ifls: 0x10 });
  });

  it("raises one IRQ at init for stale QEMU TX status under reference, none under hardened", () => {
    for (const [profile, irqs] of [
      ["reference", 1],
      ["hardened", 0],
    ] as const) {
      const h = new DriverHarness({ profile, device: { variant: "qemu" } });
      h.uart.write(Reg.DR, 4, 0x2e); // a boot loader printed before the driver started
      h.init();
      h.runToIdle();
      expect(h.driver.counters.irqs).toBe(irqs);
      expect(registers(h).imsc).toBe(irqs === 1 ? 0x50 : 0x70);
    }
  });

  it("loses input that arrives before init (R2): disabled receiver, or QEMU's FEN-toggle flush", () => {
    const hw = new DriverHarness();
    hw.uart.send([1, 2]);
    hw.host.runAll();
    hw.init();
    expect(uartLossPoints(hw.uart, hw.driver).R2_rxDisabledOrFlushed).toBe(2);
    const qemu = new DriverHarness({ device: { variant: "qemu" } });
    qemu.uart.send([1, 2]); // QEMU does not gate reception; FEN is off: a 1-deep holding register
    qemu.host.runAll();
    expect(qemu.uart.rxFifoLevel).toBe(1);
    qemu.init(); // LCR_H |= FEN resets QEMU's RX FIFO (pl011 reference §8.1)
    qemu.runToIdle();
    expect(uartLossPoints(qemu.uart, qemu.driver).R2_rxDisabledOrFlushed).toBe(1);
    expect(qemu.received).toEqual([2]); // held back by the host until there was room
  });

  it("rejects configurations the C driver asserts on", () => {
    const base = {
      mmioRegion: "uart",
      irqChannel: 0,
      tx: { channel: 1, queueRegion: "q", dataRegion: "d" },
    };
    expect(() => resolveDriverConfig({ ...base, irqChannel: 63 })).toThrow(Pl011Error);
    expect(() => resolveDriverConfig({ ...base, irqChannel: 1 })).toThrow(/not distinct/);
    expect(() => resolveDriverConfig({ ...base, defaultBaud: 2_000_000 })).toThrow(/UARTCLK/);
  });

  it("rejects a baud rate, clock or IRQ-loop bound that is not a positive number, by name", () => {
    const base = {
      mmioRegion: "uart",
      irqChannel: 0,
      tx: { channel: 1, queueRegion: "q", dataRegion: "d" },
    };
    for (const defaultBaud of [0, -1, Number.NaN]) {
      expect(() => resolveDriverConfig({ ...base, defaultBaud })).toThrow(
        /defaultBaud .* is not a positive baud rate/,
      );
    }
    expect(() => resolveDriverConfig({ ...base, uartClockHz: 0 })).toThrow(
      /uartClockHz 0 is not a positive clock rate/,
    );
    // NaN would make `passes >= maxIrqPasses` never true and switch the hardened bound off.
    for (const maxIrqPasses of [Number.NaN, 0, -1, 2.5]) {
      expect(() => resolveDriverConfig({ ...base, maxIrqPasses })).toThrow(
        expect.objectContaining({ code: "PL011_BAD_DRIVER_CONFIG" }),
      );
    }
    expect(resolveDriverConfig(base).maxIrqPasses).toBe(256);
  });
});

describe("driver TX path (sddf-serial §7.5)", () => {
  it("sends queued bytes in order with their tags and masks TXIM when the queue empties", () => {
    const h = new DriverHarness().init();
    const data = bytes(200);
    h.transmit(
      data,
      data.map((_, i) => 1000 + i),
    );
    expect(registers(h).imsc & Int.TX).toBe(Int.TX); // 200 bytes do not fit the 32-entry FIFO
    h.runToIdle();
    expect(h.uart.transmitted.map((b) => b.byte)).toEqual(data);
    expect(h.uart.transmitted.map((b) => b.tag)).toEqual(data.map((_, i) => 1000 + i));
    expect(registers(h).imsc & Int.TX).toBe(0);
    expect(h.driver.counters.txFifoFullWaits).toBeGreaterThan(0); // T6: waited for TX IRQs
  });

  it("drains the whole queue in one pass on the qemu variant (TXFF never set)", () => {
    const h = new DriverHarness({ device: { variant: "qemu" } }).init();
    h.transmit(bytes(500));
    expect(h.uart.transmitted).toHaveLength(500);
    expect(h.driver.counters.txFifoFullWaits).toBe(0);
    expect(registers(h).imsc).toBe(0x50);
  });

  it("notifies virt_tx only when it asked for a signal (sddf-serial §3.1)", () => {
    const h = new DriverHarness().init();
    h.transmit([1]); // flag starts at 0 = requested: one notification
    h.runToIdle();
    h.transmit([2]);
    h.runToIdle();
    expect(h.notifiesToTx).toBe(1);
    h.txProducer.requestConsumerSignal();
    h.transmit([3]);
    h.runToIdle();
    expect(h.notifiesToTx).toBe(2);
  });

  it("takes 10,000 × 86.8 µs ± one character for 10,000 bytes at 115200 8N1", () => {
    // 7.3728 MHz gives an exact 115200 divisor; the hardened driver programs 8N1.
    const h = new DriverHarness({
      device: { uartClockHz: 7_372_800, recordTransmitted: true },
      driver: { uartClockHz: 7_372_800 },
    }).init();
    const n = 10_000;
    h.transmit(bytes(n));
    h.runToIdle();
    const out = h.uart.transmitted;
    expect(out).toHaveLength(n);
    const elapsed = out[n - 1]!.end - out[0]!.start;
    expect(Math.abs(elapsed - n * 86_806)).toBeLessThanOrEqual(86_806);
  });

  it("takes the 8O1 frame at the truncated divisor's rate under reference at 24 MHz", () => {
    const h = new DriverHarness({ profile: "reference" }).init();
    const n = 10_000;
    h.transmit(bytes(n));
    h.runToIdle();
    const out = h.uart.transmitted;
    const charNs = (11 * 1e9) / (24e6 / (16 * 13)); // 95.33 µs
    const elapsed = out[n - 1]!.end - out[0]!.start;
    expect(Math.abs(elapsed - n * charNs)).toBeLessThanOrEqual(charNs);
    expect(out[0]!.format).toBe("8O1");
  });

  it("stalls with bytes queued and TXIM masked under the historical TXFF re-read (§7.7)", () => {
    const outcome = (txImRequiresTxff: boolean) => {
      const h = new DriverHarness({ driver: { quirks: { txImRequiresTxff } } }).init();
      for (const b of bytes(100)) h.txProducer.enqueue(b);
      // tx_provide fills the FIFO; one character drains right after the loop saw TXFF.
      const step = h.driver.notified(CH_TX, h.pd);
      let sawFull = false;
      for (let r = step.next(); !r.done; r = step.next()) {
        const full = (h.uart.read(Reg.FR, 4) & Fr.TXFF) !== 0;
        if (full && sawFull) h.host.runUntil(h.host.now() + 90_000);
        sawFull = full;
      }
      h.pd.calls.length = 0;
      h.runToIdle();
      return { sent: h.uart.transmitted.length, txim: registers(h).imsc & Int.TX };
    };
    expect(outcome(false)).toEqual({ sent: 100, txim: 0 });
    // 1 in the shift register + 32 in the FIFO went out; 67 wait for an unrelated notify.
    expect(outcome(true)).toEqual({ sent: 33, txim: 0 });
  });
});

describe("driver RX path (sddf-serial §7.4)", () => {
  it("moves received bytes to the RX queue in order with their tags and notifies virt_rx", () => {
    const h = new DriverHarness().init();
    const data = bytes(1000, 7);
    for (const [i, b] of data.entries()) h.uart.send(b, { tag: 5000 + i });
    h.runToIdle();
    expect(h.received).toEqual(data);
    expect(h.receivedTags).toEqual(data.map((_, i) => 5000 + i));
    expect(h.uart.counters.rxOverrun).toBe(0);
    expect(h.notifiesToRx).toBeGreaterThan(0);
  });

  it("delivers a single keystroke through the receive timeout (RX level not reached)", () => {
    const h = new DriverHarness().init();
    h.uart.send(0x71, { at: 0 });
    h.runUntil(300_000);
    expect(h.received).toEqual([]);
    h.runUntil(400_000); // 9.5 bits + 32 bits at 115246 baud ≈ 360 µs
    expect(h.received).toEqual([0x71]);
  });

  it("masks RX when its queue is full, keeps bytes in the FIFO, and overruns beyond it (R3 → R1)", () => {
    const h = new DriverHarness({ rxCapacity: 16, autoDrainRx: false }).init();
    h.rxConsumer!.cancelConsumerSignal();
    const sent = 100;
    h.uart.send(bytes(sent));
    h.runToIdle();
    expect(h.driver.counters.rxQueueFullStalls).toBeGreaterThan(0);
    expect(registers(h).imsc & (Int.RX | Int.RT)).toBe(0);
    expect(h.uart.rxFifoLevel).toBe(32);
    expect(h.uart.counters.rxOverrun).toBe(sent - 16 - 32);
    // virt_rx drains; the driver was waiting for that signal and resumes.
    while (h.drainRx() > 0) h.runToIdle();
    expect(h.received).toEqual(bytes(48));
    expect(sent - h.received.length).toBe(h.uart.counters.rxOverrun);
    expect(uartLossPoints(h.uart, h.driver)).toMatchObject({
      R1_rxFifoOverrun: 52,
      R2_rxDisabledOrFlushed: 0,
    });
    expect(registers(h).imsc & (Int.RX | Int.RT)).toBe(Int.RX | Int.RT);
  });

  it("loses nothing with a full queue on the qemu variant: the host holds input back", () => {
    const h = new DriverHarness({
      rxCapacity: 16,
      autoDrainRx: false,
      device: { variant: "qemu" },
    });
    h.init();
    h.uart.send(bytes(100));
    h.runToIdle();
    expect(h.uart.counters.rxOverrun).toBe(0);
    while (h.drainRx() > 0) h.runToIdle();
    expect(h.received).toEqual(bytes(100));
  });

  it("re-checks after requesting a signal: space freed in between is used at once (§3.2)", () => {
    const h = new DriverHarness({ rxCapacity: 16, autoDrainRx: false }).init();
    h.rxConsumer!.cancelConsumerSignal(); // virt_rx has no request to honour
    h.uart.send(bytes(40));
    h.host.runAll(); // FIFO: 32 bytes, 8 overrun; the IRQ is pending
    const step = h.driver.notified(CH_IRQ, h.pd);
    // Run the handler until it has masked RX (queue full), then let virt_rx drain.
    for (let r = step.next(); !r.done; r = step.next()) {
      if ((h.uart.read(Reg.IMSC, 4) & Int.RX) === 0 && h.received.length === 0) {
        const q = h.rxConsumer!;
        for (let b = q.dequeue(); b !== undefined; b = q.dequeue()) h.received.push(b);
        expect(q.requireConsumerSignal()).toBe(false); // not requested yet: no signal
      }
    }
    // The driver saw the space in its re-check, re-enabled RX and moved 16 more bytes.
    expect(h.received).toHaveLength(16);
    expect(h.driver.rxQueue!.lengthProducer()).toBe(16);
    expect(h.uart.rxFifoLevel).toBe(0);
    expect(h.uart.read(Reg.IMSC, 4) & Int.RX).toBe(Int.RX); // re-enabled by the re-check
    expect(h.driver.rxQueue!.producerSignalled).toBe(1); // request cancelled
    expect(h.uart.counters.rxOverrun).toBe(8);
  });

  it("delivers erroneous bytes and counts them (R4), reporting them only under hardened", () => {
    for (const profile of ["reference", "hardened"] as const) {
      const h = new DriverHarness({ profile }).init();
      const debug: string[] = [];
      const original = h.pd.debug.bind(h.pd);
      h.pd.debug = (m: string) => {
        debug.push(m);
        original(m);
      };
      h.uart.send(0x41, { error: "framing" });
      h.uart.sendBreak();
      h.runToIdle();
      expect(h.received).toEqual([0x41, 0x00]);
      expect(h.driver.counters.rxFramingErrors).toBe(1);
      expect(h.driver.counters.rxBreaks).toBe(1);
      expect(uartLossPoints(h.uart, h.driver).R4_rxErrorBytesDelivered).toBe(2);
      expect(debug.length).toBe(profile === "hardened" ? 2 : 0);
    }
  });
});

describe("reference defects against a real terminal (bit-level peer)", () => {
  const popcount = (b: number) => [...b.toString(2)].filter((c) => c === "1").length;
  const typed = [...Buffer.from("ls -l /tmp\r")];

  function typeAt(
    profile: "reference" | "hardened",
    baud: number,
    quirks: Partial<DriverQuirks> = {},
  ) {
    const h = new DriverHarness({
      profile,
      driver: { defaultBaud: baud, quirks },
      device: { peer: { baud } }, // an 8N1 terminal at the nominal rate
    }).init();
    typed.forEach((b, i) => {
      h.uart.send(b, { at: 1_000_000 * (i + 1) }); // keystrokes 1 ms apart
    });
    h.runToIdle();
    return h;
  }

  it("parityEnabled: an 8N1 terminal's odd-weight keys arrive with PE under reference only", () => {
    const ref = typeAt("reference", 115_200);
    expect(ref.received).toEqual(typed);
    expect(ref.driver.counters.rxParityErrors).toBe(typed.filter((b) => popcount(b) % 2).length);
    const hard = typeAt("hardened", 115_200);
    expect(hard.received).toEqual(typed);
    expect(uartLossPoints(hard.uart, hard.driver).R4_rxErrorBytesDelivered).toBe(0);
  });

  it("baudFractionTruncated: at 230400 the reference UART runs 8.5 % fast and garbles input", () => {
    const ref = typeAt("reference", 230_400, { parityEnabled: false }); // only the divisor differs
    expect(ref.uart.baud).toBe(250_000);
    expect(ref.received).not.toEqual(typed);
    const hard = typeAt("hardened", 230_400);
    expect(hard.received).toEqual(typed);
    expect(hard.driver.counters.rxErrorBytes).toBe(0);
  });
});

describe("driver event handling", () => {
  function manual() {
    const host = new FakeDeviceHost();
    const h = new DriverHarness();
    const pd = new ManualPd("uart_driver", {
      memory: {
        tx_queue: { size: 0x1000 },
        tx_data: { size: 64 },
        rx_queue: { size: 0x1000 },
        rx_data: { size: 64 },
      },
      mmio: { uart: h.uart },
    });
    return { host, h, pd };
  }

  it("acks the device IRQ through the deferred slot after serving it", () => {
    const { pd } = manual();
    const driver = new Pl011Driver({
      mmioRegion: "uart",
      irqChannel: CH_IRQ,
      tx: { channel: CH_TX, queueRegion: "tx_queue", dataRegion: "tx_data" },
      rx: { channel: CH_RX, queueRegion: "rx_queue", dataRegion: "rx_data" },
    });
    pd.run(driver.init(pd));
    pd.calls.length = 0;
    pd.run(driver.notified(CH_IRQ, pd));
    expect(pd.calls).toEqual([{ op: "deferredIrqAck", ch: CH_IRQ }]);
    expect(driver.counters.spuriousIrqs).toBe(1);
  });

  it("logs and counts a notification on a channel it does not own", () => {
    const h = new DriverHarness().init();
    h.signal(9);
    expect(h.driver.counters.unexpectedChannels).toBe(1);
  });

  it("contains a peer that corrupts the TX queue's tail: no throw, counted, IRQ still acked", () => {
    const h = new DriverHarness().init();
    const queueBytes = h.pd.memory("tx_queue").writable();
    new DataView(queueBytes.buffer, queueBytes.byteOffset).setUint32(0, 0x7fff_ffff, true);
    expect(() => h.signal(CH_TX)).not.toThrow();
    expect(h.driver.counters.peerFaults).toBe(1);
    expect(h.uart.transmitted).toHaveLength(0);
  });

  it("contains a TX-queue tail corrupted before a TX interrupt: counted, acked, recovered", () => {
    const h = new DriverHarness().init();
    expect(h.transmit(bytes(100))).toBe(100); // the FIFO takes 32, TXIM stays set
    h.host.runAll(); // the FIFO drains; the TX interrupt is pending, not yet delivered
    const words = h.pd.memory("tx_queue").writable();
    const view = new DataView(words.buffer, words.byteOffset);
    const tail = view.getUint32(0, true);
    view.setUint32(0, 0x7fff_ffff, true);
    h.pd.calls.length = 0;
    h.pd.points.length = 0;
    expect(() => h.pd.run(h.driver.notified(CH_IRQ, h.pd))).not.toThrow();
    expect(h.driver.counters.peerFaults).toBe(1);
    // MIS, then tx_provide's FR read and the dequeue that saw the tail: the work stops there.
    expect(h.pd.points).toHaveLength(2);
    expect(h.pd.calls.filter((c) => c.op === "deferredIrqAck")).toEqual([
      { op: "deferredIrqAck", ch: CH_IRQ },
    ]);
    view.setUint32(0, tail, true);
    // The handle was recovered: the next interrupt moves the rest.
    h.runToIdle();
    expect(h.uart.transmitted.map((b) => b.byte)).toEqual(bytes(100));
    expect(h.driver.counters.peerFaults).toBe(1);
  });

  it("shares provenance tags with the virtualisers through the data region's shadow", () => {
    const h = new DriverHarness().init();
    const peer = SerialQueue.fromRegions(h.pd.memory("tx_queue"), h.pd.memory("tx_data"));
    peer.enqueue(0x21, 0xabcd);
    h.signal(CH_TX);
    h.runToIdle();
    expect(h.uart.transmitted.map((b) => [b.byte, b.tag])).toEqual([[0x21, 0xabcd]]);
  });
});
