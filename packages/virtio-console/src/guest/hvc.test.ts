import { describe, expect, it } from "vitest";
import { consolePrintChunks, onlcr, ttyWriteChunks } from "./hvc.js";

const text = (s: string) => new TextEncoder().encode(s);
const str = (b: Uint8Array) => new TextDecoder().decode(b);

describe("hvc console print chunking", () => {
  it("cuts a kernel-log line into 16-byte chunks and converts the newline to CRLF", () => {
    const chunks = consolePrintChunks(text("Booting Linux on physical CPU 0x0\n"));
    expect(chunks.map((c) => c.length)).toEqual([16, 16, 3]);
    expect(chunks.map(str).join("")).toBe("Booting Linux on physical CPU 0x0\r\n");
  });

  it("lets the inserted carriage return end a chunk while its newline starts the next", () => {
    const chunks = consolePrintChunks(text("0123456789abcde\n"));
    expect(chunks.map(str)).toEqual(["0123456789abcde\r", "\n"]);
  });

  it("sends nothing for an empty message", () => {
    expect(consolePrintChunks(new Uint8Array(0))).toEqual([]);
  });
});

describe("hvc tty write chunking", () => {
  it("sends at most one page per put_chars without converting newlines", () => {
    const bytes = new Uint8Array(4096 * 2 + 10).fill(0x0a);
    const chunks = ttyWriteChunks(bytes);
    expect(chunks.map((c) => c.length)).toEqual([4096, 4096, 10]);
    expect(chunks[0]?.every((b) => b === 0x0a)).toBe(true);
  });

  it("onlcr turns each newline into carriage return plus newline", () => {
    expect(str(onlcr(text("a\nb\n")))).toBe("a\r\nb\r\n");
  });
});
