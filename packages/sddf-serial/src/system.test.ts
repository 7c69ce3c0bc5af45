/**
 * The serial path under the Microkit runtime: PL011 device + driver + both virtualisers +
 * client PDs, scheduled by priority (sddf-serial §1, §11).
 */
import { ORIGIN_KEYBOARD, ORIGIN_VIRTUALISER, provenanceTag } from "@vmmux/sddf-queues";
import { describe, expect, it } from "vitest";
import { buildSerialSystem } from "./testing-internal/serial-system.js";

const enc = (s: string) => new TextEncoder().encode(s);
const lines = (k: number, count: number) =>
  Array.from({ length: count }, (_, i) => enc(`client ${k} line ${i}\r\n`));

describe("driver + virtualisers + clients under the runtime", () => {
  it("boots with the begin string, then every client line in order and in its colour", () => {
    const t = buildSerialSystem({ clients: [lines(0, 20), lines(1, 20)] });
    t.sys.runUntil(200_000_000);
    const wire = t.uart.transmitted;
    const text = String.fromCharCode(...wire.map((w) => w.byte));
    expect(text.startsWith("Begin input\r\n")).toBe(true);
    for (const k of [0, 1]) {
      const mine = wire.filter((w) => w.tag >>> 24 === k + 1);
      expect(mine.map((w) => w.tag)).toEqual(mine.map((_, i) => provenanceTag(k + 1, i)));
      expect(String.fromCharCode(...mine.map((w) => w.byte))).toBe(
        Array.from({ length: 20 }, (_, i) => `client ${k} line ${i}\r\n`).join(""),
      );
    }
    // Nothing else: colour escapes and the begin string are the virtualiser's.
    expect(wire.every((w) => [1, 2, ORIGIN_VIRTUALISER].includes(w.tag >>> 24))).toBe(true);
    expect(text).toContain("\x1b[31mclient 0 line 0\r\n\x1b[0m");
    expect(text).toContain("\x1b[32mclient 1 line 0\r\n\x1b[0m");
  });

  it("routes typed input to client 0, then to client 1 after Ctrl+\\ 1 Enter", () => {
    const t = buildSerialSystem({ clients: [[], []] });
    t.sys.runUntil(1_000_000);
    const keys = Array.from("ab\x1c1\rcd", (c) => c.charCodeAt(0));
    for (const [i, byte] of keys.entries()) {
      t.uart.send(byte, { at: 2_000_000, tag: provenanceTag(ORIGIN_KEYBOARD, i) });
    }
    t.sys.runUntil(20_000_000);
    const got = (k: number) =>
      String.fromCharCode(...(t.clients[k]?.received ?? []).map((r) => r.byte));
    expect(got(0)).toBe("ab");
    expect(got(1)).toBe("cd");
    expect(t.virtRx.loss.R6).toBe(3);
  });

  it("reference: a client unit larger than the driver queue never leaves (T4); hardened sends it", () => {
    for (const profile of ["reference", "hardened"] as const) {
      // 1020 client bytes + 9 colour bytes > 1024 driver bytes.
      const big = enc(`${"x".repeat(1018)}\r\n`);
      const t = buildSerialSystem({
        profile,
        clients: [[big], [enc("small\r\n")]],
        driverDataSize: 0x400,
        clientDataSize: 0x400,
      });
      t.sys.runUntil(500_000_000);
      const fromClient0 = t.uart.transmitted.filter((w) => w.tag >>> 24 === 1).length;
      const fromClient1 = t.uart.transmitted.filter((w) => w.tag >>> 24 === 2).length;
      expect(fromClient1).toBe(7);
      if (profile === "reference") {
        expect(fromClient0).toBe(0);
        expect(t.virtTx.loss.T4).toBeGreaterThan(0);
      } else {
        expect(fromClient0).toBe(big.length);
        expect(t.virtTx.loss.T4).toBe(0);
      }
    }
  });

  it("interleaves guests inside a line by default; line-atomic keeps every line whole", () => {
    const pieces = (name: string) =>
      Array.from({ length: 4 }, (_, i) => [enc(`Starting ${name}${i}: `), enc("OK\r\n")]).flat();
    const run = (lineAtomic: boolean) => {
      const t = buildSerialSystem({
        clients: [pieces("klogd"), pieces("syslogd")],
        enableColour: false,
        lineAtomic,
        clientGapUs: 1500,
      });
      t.sys.runUntil(200_000_000);
      const out = t.uart.transmitted.filter((w) => w.tag >>> 24 !== ORIGIN_VIRTUALISER);
      return { text: String.fromCharCode(...out.map((w) => w.byte)), t };
    };
    const whole = /^Starting (klogd|syslogd)\d: OK$/;
    const linesOf = (text: string) => text.split("\r\n").filter((line) => line !== "");
    const plain = linesOf(run(false).text);
    // Batch granularity: "Starting syslogd0: Starting klogd0: OK", then a bare "OK".
    expect(plain.filter((line) => !whole.test(line)).length).toBeGreaterThan(0);
    const atomic = run(true);
    const lines = linesOf(atomic.text);
    expect(lines).toHaveLength(8);
    for (const line of lines) expect(line).toMatch(whole);
    expect(atomic.t.virtTx.loss.lineSplit).toBe(0);
  });
});
