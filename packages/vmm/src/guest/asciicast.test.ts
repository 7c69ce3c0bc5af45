import { describe, expect, it } from "vitest";
import { outputEvents, parseAsciicast } from "./asciicast.js";

describe("asciicast v2", () => {
  it("keeps the output events in order", () => {
    const cast = parseAsciicast(
      '{"version": 2, "width": 80, "height": 24}\n[0.5, "o", "a\\r\\n"]\n[0.7, "i", "x"]\n[1.25, "o", "b"]\n',
    );
    expect(outputEvents(cast)).toEqual([
      { time: 0.5, code: "o", data: "a\r\n" },
      { time: 1.25, code: "o", data: "b" },
    ]);
  });
  it("names the file and line of a bad event", () => {
    expect(() =>
      parseAsciicast('{"version": 2}\n[1, "o", "a"]\n[0.5, "o", "b"]', "t.cast"),
    ).toThrow("t.cast:3: field time is not a non-decreasing number");
    expect(() => parseAsciicast('{"version": 1}', "t.cast")).toThrow(
      "t.cast:1: field version is not 2",
    );
  });
});
