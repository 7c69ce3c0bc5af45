import { describe, expect, it } from "vitest";
import { frameBits, frameFormat, trmDivisor } from "./line.js";
import { Cr, Dr, Fr, Int, LcrH, Reg, Rsr } from "./registers.js";
import { directUart, programUart } from "./testing/setup.js";

const FEN_8N1 = (3 << LcrH.WLEN_SHIFT) | LcrH.FEN;

describe("registers after reset (pl011 reference §2)", () => {
  it("read back the TRM reset values", () => {
    const { uart } = directUart({}, null);
    expect(uart.read(Reg.RSR_ECR, 4)).toBe(0);
    expect(uart.read(Reg.FR, 4)).toBe(0x90);
    expect(uart.read(Reg.ILPR, 4)).toBe(0);
    expect(uart.read(Reg.IBRD, 4)).toBe(0);
    expect(uart.read(Reg.FBRD, 4)).toBe(0);
    expect(uart.read(Reg.LCR_H, 4)).toBe(0);
    expect(uart.read(Reg.CR, 4)).toBe(0x300);
    expect(uart.read(Reg.IFLS, 4)).toBe(0x12);
    expect(uart.read(Reg.IMSC, 4)).toBe(0);
    expect(uart.read(Reg.RIS, 4)).toBe(0);
    expect(uart.read(Reg.MIS, 4)).toBe(0);
    expect(uart.read(Reg.DMACR, 4)).toBe(0);
  });

  it("identify as a PL011 r1p5 with the PrimeCell id, or r1p1 in the qemu variant", () => {
    const ids = (v: "hardware" | "qemu") => {
      const { uart } = directUart({ variant: v }, null);
      return [0xfe0, 0xfe4, 0xfe8, 0xfec, 0xff0, 0xff4, 0xff8, 0xffc].map((o) => uart.read(o, 4));
    };
    expect(ids("hardware")).toEqual([0x11, 0x10, 0x34, 0x00, 0x0d, 0xf0, 0x05, 0xb1]);
    expect(ids("qemu")).toEqual([0x11, 0x10, 0x14, 0x00, 0x0d, 0xf0, 0x05, 0xb1]);
  });

  it("keep only the implemented bits of each register", () => {
    const { uart } = directUart({}, null);
    uart.write(Reg.IBRD, 4, 0xfffff);
    uart.write(Reg.FBRD, 4, 0xfff);
    uart.write(Reg.IFLS, 4, 0xff);
    uart.write(Reg.IMSC, 4, 0xffff);
    uart.write(Reg.DMACR, 4, 0xff);
    expect(uart.read(Reg.IBRD, 4)).toBe(0xffff);
    expect(uart.read(Reg.FBRD, 4)).toBe(0x3f);
    expect(uart.read(Reg.IFLS, 4)).toBe(0x3f);
    expect(uart.read(Reg.IMSC, 4)).toBe(0x7ff);
    expect(uart.read(Reg.DMACR, 4)).toBe(0x7);
  });

  it("ignore writes to read-only registers and reserved offsets, and report them", () => {
    const { uart } = directUart({}, null);
    uart.write(Reg.FR, 4, 0);
    uart.write(Reg.RIS, 4, 0x7ff);
    uart.write(Reg.PERIPH_ID0, 4, 0);
    uart.write(0x08, 4, 1);
    expect(uart.read(0x08, 4)).toBe(0);
    expect(uart.read(Reg.FR, 4)).toBe(0x90);
    expect(uart.read(Reg.RIS, 4)).toBe(0);
    expect(uart.read(Reg.PERIPH_ID0, 4)).toBe(0x11);
    expect(uart.diagnostics.map((d) => d.kind)).toEqual([
      "write-to-read-only",
      "write-to-read-only",
      "write-to-read-only",
      "unmapped-offset",
      "unmapped-offset",
    ]);
    expect(uart.counters.badAccesses).toBe(5);
  });

  it("ignore unaligned and 64-bit accesses without throwing", () => {
    const { uart } = directUart({}, null);
    expect(uart.read(0x31, 1)).toBe(0);
    uart.write(Reg.CR, 8, 0);
    expect(uart.read(Reg.CR, 4)).toBe(0x300);
    expect(uart.diagnostics.map((d) => d.kind)).toEqual(["unaligned-access", "bad-width"]);
  });

  it("read ICR as 0 and clear RSR on any ECR write", () => {
    const { uart, host } = directUart({ revision: "r1p3" }, { imsc: 0 });
    for (let i = 0; i < 17; i++) uart.send(0x41 + i);
    host.runAll();
    expect(uart.read(Reg.RSR_ECR, 4) & Rsr.OE).toBe(Rsr.OE);
    uart.write(Reg.RSR_ECR, 4, 0x1234);
    expect(uart.read(Reg.RSR_ECR, 4)).toBe(0);
    expect(uart.read(Reg.ICR, 4)).toBe(0);
  });
});

describe("baud divisor and frame timing (pl011 reference §4–§5)", () => {
  it("compute the TRM divisors of the 24 MHz table", () => {
    expect(trmDivisor(24_000_000, 115_200)).toEqual({ ibrd: 13, fbrd: 1 });
    expect(trmDivisor(24_000_000, 9600)).toEqual({ ibrd: 156, fbrd: 16 });
    expect(trmDivisor(24_000_000, 230_400)).toEqual({ ibrd: 6, fbrd: 33 });
    expect(trmDivisor(24_000_000, 921_600)).toEqual({ ibrd: 1, fbrd: 40 });
  });

  it("count start, data, parity and stop bits in a frame", () => {
    expect(frameBits(frameFormat(0x70))).toBe(10); // 8N1
    expect(frameBits(frameFormat(0x72))).toBe(11); // 8O1 as the sDDF driver programs it
    expect(frameBits(frameFormat(0x78))).toBe(11); // 8N2
    expect(frameBits(frameFormat(0x10))).toBe(7); // 5N1
  });

  it("latch a new divisor only on the next LCR_H write", () => {
    const { uart, host } = directUart({ uartClockHz: 7_372_800 }, { baud: 115_200 });
    uart.write(Reg.IBRD, 4, 8); // would be 57600, not latched yet
    uart.write(Reg.DR, 4, 0x55);
    host.runAll();
    expect(uart.transmitted[0]!.end - uart.transmitted[0]!.start).toBe(86_805); // 86 805.55 ns, carried fraction
    uart.write(Reg.LCR_H, 4, FEN_8N1);
    uart.write(Reg.DR, 4, 0x55);
    host.runAll();
    expect(uart.transmitted[1]!.end - uart.transmitted[1]!.start).toBe(173_611);
  });

  it("send 10,000 bytes at 115200 8N1 in 10,000 × 86.8 µs within one character", () => {
    // 7.3728 MHz divides to exactly 115200 baud (divisor 4).
    const { uart, host } = directUart({ uartClockHz: 7_372_800 }, { baud: 115_200 });
    let written = 0;
    const total = 10_000;
    const refill = () => {
      while (written < total && !(uart.read(Reg.FR, 4) & Fr.TXFF)) {
        uart.write(Reg.DR, 4, written & 0xff, written);
        written++;
      }
    };
    refill();
    uart.onTransmit(refill);
    host.runAll();
    const out = uart.transmitted;
    expect(out).toHaveLength(total);
    const elapsed = out[out.length - 1]!.end - out[0]!.start;
    const charNs = 1e9 / 11_520; // 86.806 µs
    expect(Math.abs(elapsed - total * charNs)).toBeLessThanOrEqual(charNs);
    expect(out.map((b) => b.tag)).toEqual(Array.from({ length: total }, (_, i) => i));
  });

  it("drift by the divisor's rounding at 24 MHz, no more (TRM 13/1 → +0.04 %)", () => {
    const { uart, host } = directUart({}, { baud: 115_200 });
    let written = 0;
    const refill = () => {
      while (written < 10_000 && !(uart.read(Reg.FR, 4) & Fr.TXFF)) {
        uart.write(Reg.DR, 4, 0x61);
        written++;
      }
    };
    refill();
    uart.onTransmit(refill);
    host.runAll();
    const out = uart.transmitted;
    const elapsed = out[out.length - 1]!.end - out[0]!.start;
    const charNs = (10 * 1e9) / uart.baud; // 115246.1 baud
    expect(uart.baud).toBeCloseTo(115_246.1, 1);
    expect(Math.abs(elapsed - 10_000 * charNs)).toBeLessThanOrEqual(1);
  });
});

describe("transmit path (pl011 reference §6.1, §7)", () => {
  it("set BUSY as soon as data are written and clear it after the last stop bit", () => {
    const { uart, host } = directUart();
    uart.write(Reg.DR, 4, 0x41);
    expect(uart.read(Reg.FR, 4) & Fr.BUSY).toBe(Fr.BUSY);
    expect(uart.read(Reg.FR, 4) & Fr.TXFE).toBe(Fr.TXFE); // already in the shift register
    host.runAll();
    expect(uart.read(Reg.FR, 4) & Fr.BUSY).toBe(0);
    expect(uart.transmitted.map((b) => b.byte)).toEqual([0x41]);
  });

  it("hold data while the UART or the transmitter is disabled", () => {
    const { uart, host } = directUart({}, { cr: Cr.UARTEN | Cr.RXE });
    uart.write(Reg.DR, 4, 0x41);
    host.runAll();
    expect(uart.transmitted).toHaveLength(0);
    expect(uart.read(Reg.FR, 4) & Fr.BUSY).toBe(Fr.BUSY);
    uart.write(Reg.CR, 4, Cr.UARTEN | Cr.TXE | Cr.RXE);
    host.runAll();
    expect(uart.transmitted).toHaveLength(1);
  });

  it("report TXFF at the FIFO depth and drop (and count) a write into a full FIFO", () => {
    const { uart } = directUart({ revision: "r1p4" });
    for (let i = 0; i < 17; i++) uart.write(Reg.DR, 4, i); // 1 in the shift register + 16
    expect(uart.read(Reg.FR, 4) & Fr.TXFF).toBe(Fr.TXFF);
    uart.write(Reg.DR, 4, 0xee);
    expect(uart.counters.txDroppedFull).toBe(1);
  });

  it("raise TX only when the FIFO drains through the level, not at enable time", () => {
    const { uart, host } = directUart({ revision: "r1p4" }, { ifls: 0, imsc: Int.TX });
    expect(uart.read(Reg.RIS, 4) & Int.TX).toBe(0);
    for (let i = 0; i < 8; i++) uart.write(Reg.DR, 4, i); // shift + 7 in FIFO, level 2
    expect(host.irqLevel(33)).toBe(false);
    host.runUntil(host.now() + 5 * 86_900);
    expect(uart.txFifoLevel).toBe(2);
    expect(uart.read(Reg.MIS, 4) & Int.TX).toBe(Int.TX);
    expect(host.irqLevel(33)).toBe(true);
    uart.write(Reg.DR, 4, 0x99); // above the level again: cleared by writing data
    expect(uart.read(Reg.RIS, 4) & Int.TX).toBe(0);
    expect(host.irqLevel(33)).toBe(false);
  });

  it("raise TX in character mode when the holding register empties", () => {
    const { uart, host } = directUart({}, { lcrH: 3 << LcrH.WLEN_SHIFT, imsc: Int.TX });
    uart.write(Reg.DR, 4, 0x41);
    expect(uart.read(Reg.RIS, 4) & Int.TX).toBe(Int.TX);
    uart.write(Reg.DR, 4, 0x42);
    expect(uart.read(Reg.FR, 4) & Fr.TXFF).toBe(Fr.TXFF);
    expect(uart.read(Reg.RIS, 4) & Int.TX).toBe(0);
    host.runAll();
    expect(uart.transmitted.map((b) => b.byte)).toEqual([0x41, 0x42]);
  });

  it("flush the TX FIFO when FEN is cleared", () => {
    const { uart } = directUart();
    for (let i = 0; i < 5; i++) uart.write(Reg.DR, 4, i);
    uart.write(Reg.LCR_H, 4, 3 << LcrH.WLEN_SHIFT);
    expect(uart.counters.txFlushed).toBe(4);
    expect(uart.txFifoLevel).toBe(0);
  });

  it("send only the word-length bits and hold the line low while BRK is set", () => {
    const { uart, host } = directUart({}, { lcrH: LcrH.FEN | LcrH.BRK | LcrH.PEN });
    uart.write(Reg.DR, 4, 0xff);
    host.runAll();
    expect(uart.transmitted).toHaveLength(0);
    uart.write(Reg.LCR_H, 4, LcrH.FEN | LcrH.PEN);
    host.runAll();
    expect(uart.transmitted.map((b) => [b.kind, b.byte, b.format])).toEqual([
      ["break", 0, "break"],
      ["byte", 0x1f, "5O1"],
    ]);
  });

  it("emit each byte at once with a sticky TX status in the qemu variant", () => {
    const { uart } = directUart({ variant: "qemu" }, { imsc: Int.TX });
    for (let i = 0; i < 100; i++) uart.write(Reg.DR, 4, i);
    expect(uart.transmitted).toHaveLength(100);
    expect(uart.read(Reg.FR, 4) & (Fr.TXFF | Fr.BUSY | Fr.TXFE)).toBe(Fr.TXFE);
    expect(uart.read(Reg.MIS, 4)).toBe(Int.TX);
    uart.write(Reg.ICR, 4, Int.TX);
    expect(uart.read(Reg.MIS, 4)).toBe(0);
  });
});

describe("receive path (pl011 reference §6.2–§7)", () => {
  it("store a character when its stop bit is sampled, (bits − ½) bit periods after the edge", () => {
    const { uart, host } = directUart({ uartClockHz: 7_372_800 });
    uart.send(0x41, { at: 1000, tag: 7 });
    host.runUntil(1000 + 82_464);
    expect(uart.rxFifoLevel).toBe(0);
    host.runUntil(1000 + 82_465); // 9.5 × 8680.56 ns
    expect(uart.rxFifoLevel).toBe(1);
    expect(uart.read(Reg.DR, 4)).toBe(0x41);
    expect(uart.readTag(Reg.DR)).toBe(7);
  });

  it("raise RX on the upward crossing of the level and clear it by reading below", () => {
    const { uart, host } = directUart({ revision: "r1p4" }, { ifls: 0, imsc: Int.RX });
    uart.send([1]);
    host.runUntil(host.now() + 100_000);
    expect(uart.read(Reg.RIS, 4) & Int.RX).toBe(0);
    uart.send([2]);
    host.runUntil(host.now() + 100_000);
    expect(uart.read(Reg.MIS, 4)).toBe(Int.RX);
    uart.read(Reg.DR, 4);
    expect(uart.read(Reg.RIS, 4) & Int.RX).toBe(0);
  });

  it("raise RT 32 bit periods after the last character and clear it when emptied", () => {
    const { uart, host } = directUart({ uartClockHz: 7_372_800 }, { imsc: Int.RT });
    uart.send(0x61, { at: 0 });
    const stored = 82_465; // 9.5 bits
    const timeout = 277_778; // 32 bits
    host.runUntil(stored + timeout - 2);
    expect(uart.read(Reg.RIS, 4) & Int.RT).toBe(0);
    host.runUntil(stored + timeout + 2);
    expect(uart.read(Reg.MIS, 4)).toBe(Int.RT);
    expect(host.irqLevel(33)).toBe(true);
    uart.read(Reg.DR, 4);
    expect(uart.read(Reg.RIS, 4) & Int.RT).toBe(0);
    expect(host.irqLevel(33)).toBe(false);
  });

  it("lose the incoming character on overrun, keep the FIFO, set OE and count it", () => {
    const { uart, host } = directUart({ revision: "r1p4" });
    const bytes = Array.from({ length: 20 }, (_, i) => 0x30 + i);
    uart.send(bytes, { tag: 1 });
    host.runAll();
    expect(uart.counters.rxOverrun).toBe(4);
    expect(uart.read(Reg.RIS, 4) & Int.OE).toBe(Int.OE);
    expect(uart.read(Reg.RSR_ECR, 4) & Rsr.OE).toBe(Rsr.OE);
    const got: number[] = [];
    while (!(uart.read(Reg.FR, 4) & Fr.RXFE)) got.push(uart.read(Reg.DR, 4));
    expect(got).toEqual(bytes.slice(0, 16));
    uart.send(0x7a);
    host.runAll();
    expect(uart.read(Reg.DR, 4)).toBe(0x7a | Dr.OE);
  });

  it("lose characters that arrive while the receiver is disabled (R2)", () => {
    const { uart, host } = directUart({}, { cr: Cr.UARTEN | Cr.TXE });
    uart.send([1, 2, 3], { tags: [7, 8, 9] });
    host.runAll();
    expect(uart.counters.rxWhileDisabled).toBe(3);
    expect(host.traces.map((t) => [t.name, t.args?.tag])).toEqual([
      ["pl011.rx-lost", 7],
      ["pl011.rx-lost", 8],
      ["pl011.rx-lost", 9],
    ]);
    expect(uart.rxFifoLevel).toBe(0);
  });

  it("flag injected framing, parity (only with PEN) and break conditions", () => {
    const { uart, host } = directUart({}, { imsc: Int.FE | Int.PE | Int.BE });
    uart.send(0x41, { error: "framing" });
    uart.send(0x42, { error: "parity" }); // PEN clear: the receiver does not check parity
    uart.sendBreak();
    host.runAll();
    expect([0, 1, 2].map(() => uart.read(Reg.DR, 4))).toEqual([0x41 | Dr.FE, 0x42, Dr.BE]);
    expect(uart.read(Reg.RSR_ECR, 4)).toBe(Rsr.BE);
    expect(uart.read(Reg.MIS, 4)).toBe(Int.FE | Int.BE);
    uart.write(Reg.LCR_H, 4, FEN_8N1 | LcrH.PEN);
    uart.send(0x43, { error: "parity" });
    host.runAll();
    expect(uart.read(Reg.DR, 4)).toBe(0x43 | Dr.PE);
    uart.write(Reg.ICR, 4, Int.ALL);
    expect(uart.read(Reg.RIS, 4)).toBe(0);
  });

  it("hold input back instead of overrunning in the qemu variant, and trigger at 1", () => {
    const { uart, host } = directUart({ variant: "qemu" }, { ifls: 0x3f, imsc: Int.RX | Int.RT });
    uart.send(Array.from({ length: 40 }, (_, i) => i));
    host.runAll();
    expect(uart.rxFifoLevel).toBe(16);
    expect(uart.wireBacklog).toBe(24);
    expect(uart.counters.rxOverrun).toBe(0);
    expect(uart.read(Reg.MIS, 4)).toBe(Int.RX);
    const got: number[] = [];
    for (let i = 0; i < 40; i++) {
      got.push(uart.read(Reg.DR, 4));
      host.runAll();
    }
    expect(got).toEqual(Array.from({ length: 40 }, (_, i) => i));
    expect(uart.read(Reg.RIS, 4) & Int.RX).toBe(0);
  });

  it("feed transmitted characters back to the receiver in loopback", () => {
    const { uart, host } = directUart({}, { cr: Cr.UARTEN | Cr.TXE | Cr.RXE | Cr.LBE });
    uart.write(Reg.DR, 4, 0x5a, 9);
    uart.send(0x11); // external input is ignored in loopback
    host.runAll();
    expect(uart.transmitted).toHaveLength(0);
    expect(uart.read(Reg.DR, 4)).toBe(0x5a);
    expect(uart.readTag(Reg.DR)).toBe(9);
    expect(uart.rxFifoLevel).toBe(0);
  });

  it("report an empty-FIFO DR read and return the stale entry", () => {
    const { uart, host } = directUart();
    uart.send(0x33);
    host.runAll();
    expect(uart.read(Reg.DR, 4)).toBe(0x33);
    expect(uart.read(Reg.DR, 4)).toBe(0x33);
    expect(uart.diagnostics.map((d) => d.kind)).toEqual(["read-empty-rx-fifo"]);
  });
});

describe("interrupt line (pl011 reference §3.8, §7)", () => {
  it("follow MIS as a level: masking removes it, unmasking a set RIS raises it at once", () => {
    const { uart, host } = directUart({}, { imsc: 0 });
    uart.send(0x41);
    host.runAll();
    expect(uart.read(Reg.RIS, 4) & Int.RT).toBe(Int.RT);
    expect(host.irqLevel(33)).toBe(false);
    uart.write(Reg.IMSC, 4, Int.RT);
    expect(host.irqLevel(33)).toBe(true);
    uart.write(Reg.IMSC, 4, 0);
    expect(host.irqLevel(33)).toBe(false);
    expect(uart.counters.irqAssertions).toBe(1);
  });

  it("raise the modem interrupt bits on input changes", () => {
    const { uart } = directUart({}, { imsc: 0xf });
    uart.setModemInputs({ cts: true });
    expect(uart.read(Reg.MIS, 4)).toBe(Int.CTSM);
    expect(uart.read(Reg.FR, 4) & Fr.CTS).toBe(Fr.CTS);
  });

  it("reset to the power-on state", () => {
    const { uart, host } = directUart({}, { imsc: Int.RT });
    uart.send([1, 2]);
    host.runAll();
    uart.reset();
    expect(uart.read(Reg.CR, 4)).toBe(0x300);
    expect(uart.read(Reg.FR, 4)).toBe(0x90);
    expect(host.irqLevel(33)).toBe(false);
    programUart(uart);
    expect(uart.read(Reg.LCR_H, 4)).toBe(FEN_8N1);
  });
});

describe("host-side wire input is validated (pl011 errors)", () => {
  it("refuse a non-finite wire time instead of poisoning the clock or holding the line forever", () => {
    const { uart, host } = directUart();
    for (const at of [Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => uart.send([1], { at })).toThrow(
        expect.objectContaining({ code: "PL011_BAD_WIRE_TIME" }),
      );
      expect(() => uart.sendBreak({ at })).toThrow(
        expect.objectContaining({ code: "PL011_BAD_WIRE_TIME" }),
      );
    }
    uart.send([0x41]);
    host.runUntil(1_000_000);
    expect(host.now()).toBe(1_000_000);
    expect(uart.rxFifoLevel).toBe(1);
  });

  it("refuse a wire time in the past with its own code", () => {
    const { uart, host } = directUart();
    host.runUntil(1_000);
    expect(() => uart.send([1], { at: 999 })).toThrow(
      expect.objectContaining({ code: "PL011_WIRE_TIME_IN_PAST" }),
    );
  });

  it("refuse a peer baud rate that is zero, negative or not finite", () => {
    for (const baud of [0, -9600, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => directUart({ peerBaud: baud }, null)).toThrow(
        expect.objectContaining({ code: "PL011_BAD_OPTION" }),
      );
      expect(() =>
        directUart({ peer: { baud, format: { dataBits: 8, parity: "none", stopBits: 1 } } }, null),
      ).toThrow(expect.objectContaining({ code: "PL011_BAD_OPTION" }));
    }
  });
});
