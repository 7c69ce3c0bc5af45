/** Replays every entry of `fuzz/corpus/transport/` (see `replay-corpus.ts`). */
import { describe, expect, it } from "vitest";
import { corpusCases, replayVerdict } from "./replay-corpus.js";

const cases = corpusCases("transport");

describe("fuzz corpus: transport", () => {
  it("is not empty", () => {
    expect(cases.length).toBeGreaterThan(0);
  });

  it.each(cases)("$file", ({ file, entry }) => {
    expect(entry.suite, file).toBe("transport");
    expect(replayVerdict(file, entry)).toBeUndefined();
  });
});
