/** Replays every entry of `fuzz/corpus/console/` (see `replay-corpus.ts`). */
import { describe, expect, it } from "vitest";
import { corpusCases, replayVerdict } from "./replay-corpus.js";

const cases = corpusCases("console");

describe("fuzz corpus: console", () => {
  it("is not empty", () => {
    expect(cases.length).toBeGreaterThan(0);
  });

  it.each(cases)("$file", ({ file, entry }) => {
    expect(entry.suite, file).toBe("console");
    expect(replayVerdict(file, entry)).toBeUndefined();
  });
});
