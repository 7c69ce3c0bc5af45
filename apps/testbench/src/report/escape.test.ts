import { describe, expect, it } from "vitest";
import { escapeHtml, jsonForScript, stripTerminalControls } from "./escape.js";

describe("escapeHtml", () => {
  it("replaces markup characters with entities", () => {
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe(
      "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;",
    );
  });

  it("shows control bytes as \\xNN and keeps tabs and newlines", () => {
    expect(escapeHtml("a\u001b[1mb\u0000\u007f\u0085\tc\n")).toBe("a\\x1b[1mb\\x00\\x7f\\x85\tc\n");
  });

  it("replaces lone surrogates and keeps paired ones", () => {
    expect(escapeHtml("x\ud800y\udc00z😀")).toBe("x\ufffdy\ufffdz😀");
  });
});

describe("jsonForScript", () => {
  it("cannot close or comment out its script element and parses back to the value", () => {
    const value = { text: "</script><!--<script>&\u2028\u0085", n: 1 };
    const out = jsonForScript(value);
    expect(out).not.toMatch(/[<>&\u2028\u0085]/);
    expect(JSON.parse(out)).toEqual(value);
  });
});

describe("stripTerminalControls", () => {
  it("removes CSI and OSC sequences and turns CR LF into LF", () => {
    expect(
      stripTerminalControls("\u001b]0;title\u0007\u001b[1;32mok\u001b[0m\r\n\u001b[?25lnext\r\r\n"),
    ).toBe("ok\nnext\n");
  });
});
