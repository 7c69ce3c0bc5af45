import { describe, expect, it } from "vitest";
import { BitLine, encodeFrame } from "./bitline.js";
import { Dr, Fr, Int, LcrH, Reg } from "./registers.js";
import { directUart } from "./testing/setup.js";

const F8N1 = { dataBits: 8, parity: "none", stopBits: 1 } as const;
const F8O1 = { dataBits: 8, parity: "odd", stopBits: 1 } as const;
const LCRH_8N1 = (3 << LcrH.WLEN_SHIFT) | LcrH.FEN;
const LCRH_8O1 = LCRH_8N1 | LcrH.PEN;
const BIT = 1e9 / 115_200;

function popcount(b: number): number {
  let n = 0;
  for (let i = 0; i < 8; i++) n += (b >> i) & 1;
  return n;
}

function readAll(uart: ReturnType<typeof directUart>["uart"]): number[] {
  const out: number[] = [];
  while (!(uart.read(Reg.FR, 4) & Fr.RXFE)) out.push(uart.read(Reg.DR, 4));
  return out;
}

describe("bit-level line (pl011 reference §5, §6.3)", () => {
  it("encodes start, data LSB first, parity and stop bits", () => {
    expect([...encodeFrame(0x61, F8N1)]).toEqual([0, 1, 0, 0, 0, 0, 1, 1, 0, 1]);
    expect([...encodeFrame(0x61, F8O1)]).toEqual([0, 1, 0, 0, 0, 0, 1, 1, 0, 0, 1]);
    expect([...encodeFrame(0x61, F8N1, "framing")].at(-1)).toBe(0);
  });

  it("samples a frame mid-cell and finds the next start edge after the stop sample", () => {
    const line = new BitLine();
    line.append({ start: 0, bitNs: 10, bits: encodeFrame(0x55, F8N1), tag: 1 });
    line.append({ start: 100, bitNs: 10, bits: encodeFrame(0xaa, F8N1), tag: 2 });
    const first = line.sample(0, 10, F8N1)!;
    expect(first).toMatchObject({ data: 0x55, framingError: false, parityError: false });
    expect(line.nextFallingEdge(first.stopSample)).toEqual({ time: 100, tag: 2 });
    expect(line.sample(100, 10, F8N1)!.data).toBe(0xaa);
  });

  it("receives an 8N1 peer cleanly when the UART is set the same way", () => {
    const { uart, host } = directUart({ uartClockHz: 7_372_800, peer: { baud: 115_200 } });
    const data = [0x00, 0xff, 0x41, 0x7e, 0x80, 0x01];
    data.forEach((b, i) => {
      uart.send(b, { tag: i + 1 });
    });
    host.runAll();
    expect(readAll(uart)).toEqual(data);
  });

  it("flags parity errors on odd-weight keys when an 8N1 terminal types into an 8O1 UART", () => {
    // The reference driver's PEN quirk (sddf-serial §7.2 step 8) against a standard terminal.
    const { uart, host } = directUart(
      { uartClockHz: 7_372_800, peer: { baud: 115_200 } },
      { lcrH: LCRH_8O1 },
    );
    const keys = [...Buffer.from("hello, world")];
    keys.forEach((b, i) => {
      uart.send(b, { at: i * 1_000_000 }); // typed: 1 ms apart, never back to back
    });
    host.runAll();
    const got = readAll(uart);
    expect(got.map((v) => v & 0xff)).toEqual(keys);
    // The UART samples the terminal's stop bit (1) as the parity bit: odd parity then
    // fails exactly for bytes with an odd number of ones.
    expect(got.map((v) => (v & Dr.PE) !== 0)).toEqual(keys.map((b) => popcount(b) % 2 === 1));
    expect(got.some((v) => v & Dr.FE)).toBe(false);
  });

  it("garbles back-to-back 8N1 input on an 8O1 UART: it misses start edges", () => {
    const { uart, host } = directUart(
      { uartClockHz: 7_372_800, peer: { baud: 115_200 } },
      { lcrH: LCRH_8O1, imsc: Int.FE },
    );
    const sent = [...Buffer.from("The quick brown fox")];
    uart.send(sent);
    host.runAll();
    const got = readAll(uart);
    expect(got.some((v) => v & Dr.FE)).toBe(true);
    expect(got.map((v) => v & 0xff)).not.toEqual(sent);
    expect(host.irqLevel(33)).toBe(true);
  });

  it("garbles input at the wrong baud rate", () => {
    const { uart, host } = directUart({ uartClockHz: 7_372_800, peer: { baud: 9600 } });
    uart.send([...Buffer.from("abc")]);
    host.runAll();
    expect(readAll(uart).map((v) => v & 0xff)).not.toEqual([...Buffer.from("abc")]);
  });

  it("shows what an 8N1 terminal makes of 8O1 output: framing errors when the parity bit is 0", () => {
    const { uart, host } = directUart(
      { uartClockHz: 7_372_800, peer: { baud: 115_200 } },
      { lcrH: LCRH_8O1 },
    );
    const bytes = [0x61, 0x62, 0x63, 0x00, 0xff];
    for (const b of bytes) uart.write(Reg.DR, 4, b);
    host.runAll();
    const views = uart.transmitted.map((t) => t.peer!);
    expect(views.map((v) => v.byte)).toEqual(bytes);
    expect(views.map((v) => v.framingError)).toEqual(bytes.map((b) => popcount(b) % 2 === 1));
    expect(uart.transmitted[0]!.end - uart.transmitted[0]!.start).toBeCloseTo(11 * BIT, -1);
  });

  it("stores a break from the peer as one 0x00 with BE", () => {
    const { uart, host } = directUart({ uartClockHz: 7_372_800, peer: { baud: 115_200 } });
    uart.sendBreak();
    uart.send(0x42, { at: 1_000_000 });
    host.runAll();
    expect(readAll(uart)).toEqual([Dr.BE, 0x42]);
  });
});
