import { describe, expect, test } from "vitest";
import { escapeHostKeys, HOST_ESCAPE, type HostAction, HostEscape } from "./keys.js";

const bytes = (text: string) => Uint8Array.from(Buffer.from(text, "latin1"));

function typed(actions: readonly HostAction[]): string {
  return actions
    .filter((a) => a.kind === "type")
    .map((a) => Buffer.from(a.bytes).toString("latin1"))
    .join("");
}

describe("HostEscape", () => {
  test("passes ordinary keys and the switch sequence through to the UART", () => {
    const actions = new HostEscape().feed(bytes("ls\r\x1c1\recho hi\r"));
    expect(actions).toEqual([{ kind: "type", bytes: bytes("ls\r\x1c1\recho hi\r") }]);
  });

  test("Ctrl+] q quits after typing what came before, and ignores what follows", () => {
    const keys = new HostEscape();
    const actions = keys.feed(bytes("ab\x1dqcd"));
    expect(actions).toEqual([{ kind: "type", bytes: bytes("ab") }, { kind: "quit" }]);
    expect(keys.feed(bytes("more"))).toEqual([]);
    expect(keys.end()).toEqual([]);
  });

  test("Ctrl+] ? prints help in place; Ctrl+] Ctrl+] types one Ctrl+]", () => {
    const actions = new HostEscape().feed(bytes("a\x1d?b\x1d\x1dc"));
    expect(actions).toEqual([
      { kind: "type", bytes: bytes("a") },
      { kind: "help" },
      { kind: "type", bytes: bytes("b\x1dc") },
    ]);
  });

  test("Ctrl+] followed by another key types both keys", () => {
    expect(typed(new HostEscape().feed(bytes("\x1dx")))).toBe("\x1dx");
  });

  test("the escape state carries across reads, as a terminal may split two keys", () => {
    const keys = new HostEscape();
    expect(keys.feed(bytes("x\x1d"))).toEqual([{ kind: "type", bytes: bytes("x") }]);
    expect(keys.feed(bytes("q"))).toEqual([{ kind: "quit" }]);
  });

  test("a Ctrl+] left at end of input is typed, not lost", () => {
    const keys = new HostEscape();
    expect(keys.feed(bytes("\x1d"))).toEqual([]);
    expect(keys.end()).toEqual([{ kind: "type", bytes: Uint8Array.of(HOST_ESCAPE) }]);
  });

  test("escapeHostKeys doubles each Ctrl+] and nothing else", () => {
    expect(Buffer.from(escapeHostKeys(bytes("a\x1db\x1c"))).toString("latin1")).toBe(
      "a\x1d\x1db\x1c",
    );
  });
});
