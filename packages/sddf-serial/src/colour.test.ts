import { describe, expect, it } from "vitest";
import { bannerLine, COLOUR_END, colourStart, PALETTE_NAMES } from "./colour.js";

const hex = (bytes: Uint8Array) =>
  Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join(" ");

describe("virt_tx colour codes (reference §5.2)", () => {
  it("gives client k palette[k mod 6] as ESC [ 3 x m", () => {
    expect([0, 1, 2, 3, 4, 5].map((k) => hex(colourStart(k)))).toEqual([
      "1b 5b 33 31 6d",
      "1b 5b 33 32 6d",
      "1b 5b 33 33 6d",
      "1b 5b 33 34 6d",
      "1b 5b 33 35 6d",
      "1b 5b 33 36 6d",
    ]);
    expect(hex(colourStart(6))).toBe(hex(colourStart(0)));
    expect(hex(colourStart(63))).toBe(hex(colourStart(3)));
    expect(PALETTE_NAMES[63 % 6]).toBe("blue");
  });

  it("resets with ESC [ 0 m", () => {
    expect(hex(COLOUR_END)).toBe("1b 5b 30 6d");
  });

  it("hands out copies, so a caller cannot change the palette", () => {
    colourStart(1).fill(0);
    expect(hex(colourStart(1))).toBe("1b 5b 33 32 6d");
  });

  it("formats the banner line as the example system prints it", () => {
    expect(bannerLine(1, "client1")).toBe("\x1b[32m'client1' is client 1\x1b[0m\n");
  });
});
