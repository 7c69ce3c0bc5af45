/** Replays every entry of `fuzz/corpus/system/` (see `replay-corpus.ts`). */
import { describe, expect, it } from "vitest";
import { corpusCases, replayVerdict } from "./replay-corpus.js";

const cases = corpusCases("system");

describe("fuzz corpus: system", () => {
  it("is not empty", () => {
    expect(cases.length).toBeGreaterThan(0);
  });

  it.each(cases)("$file", ({ file, entry }) => {
    expect(entry.suite, file).toBe("system");
    expect(replayVerdict(file, entry)).toBeUndefined();
  });
});
