import { describe, expect, it } from "vitest";
import { onlcrBytes, Tty } from "./tty.js";

const bytes = (s: string) => new TextEncoder().encode(s);
const text = (b: number[]) => String.fromCharCode(...b);

describe("tty line discipline", () => {
  it("turns CR into a newline on input and completes the line", () => {
    const tty = new Tty();
    expect(text(tty.input(bytes("ls\r")))).toBe("ls\n");
    expect(tty.readLine()).toBe("ls");
    expect(tty.readLine()).toBeUndefined();
  });

  it("erases one character and kills the whole pending line", () => {
    const tty = new Tty();
    expect(text(tty.input(bytes("ab\x7f")))).toBe("ab\b \b");
    expect(tty.line).toBe("a");
    expect(text(tty.input(bytes("cd\x15")))).toBe(`cd${"\b \b".repeat(3)}`);
    expect(tty.line).toBe("");
  });

  it("echoes nothing with echo off but still edits", () => {
    const tty = new Tty({ echo: false });
    expect(tty.input(bytes("x\x08y\n"))).toEqual([]);
    expect(tty.readLine()).toBe("y");
  });

  it("maps LF to CRLF on output", () => {
    expect(text(onlcrBytes(bytes("a\nb\n")))).toBe("a\r\nb\r\n");
  });
});

describe("tty opened by a process later (flush on open)", () => {
  it("throws away what arrived before it was opened and counts it", () => {
    const tty = new Tty({ open: false });
    expect(tty.isOpen).toBe(false);
    expect(tty.input(bytes("early\r"))).toEqual([]);
    expect(tty.readLine()).toBeUndefined();
    tty.open();
    expect(tty.flushedOnOpen).toBe(6);
    expect(text(tty.input(bytes("ls\r")))).toBe("ls\n");
    expect(tty.readLine()).toBe("ls");
    expect(tty.flushedOnOpen).toBe(6);
  });

  it("an open tty keeps its input; opening it again flushes nothing", () => {
    const tty = new Tty();
    tty.input(bytes("ab\rc"));
    tty.open();
    expect(tty.flushedOnOpen).toBe(0);
    expect(tty.readLine()).toBe("ab");
    expect(tty.line).toBe("c");
  });
});
