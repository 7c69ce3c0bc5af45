/**
 * The corpus replay CI runs (issue 11 item 2): one test per file of `fuzz/corpus/<suite>/`,
 * named by its path. An entry must replay clean against the real code; an `open` entry (a
 * defect found and not yet fixed) must still reproduce a violation of the kind recorded.
 */
import { relative } from "node:path";
import { describe, expect, it } from "vitest";
import { CORPUS_DIR, loadSuiteCorpus, type SuiteName, violationKind } from "./corpus.js";
import { replayEntry } from "./suites.js";

export function replayCorpusSuite(suite: SuiteName, timeout?: number): void {
  const entries = loadSuiteCorpus(suite).map(({ file, entry }) => ({
    file: relative(`${CORPUS_DIR}/../..`, file),
    entry,
  }));
  describe(`fuzz corpus: ${suite}`, () => {
    it("is not empty", () => {
      expect(entries.length).toBeGreaterThan(0);
    });
    it.each(entries)(
      "$file",
      ({ file, entry }) => {
        expect(entry.suite, file).toBe(suite);
        const violations = replayEntry(entry);
        if (entry.open === undefined) {
          expect(violations, `${file} fails again`).toEqual([]);
        } else {
          expect(violationKind(violations), `${file} (open) no longer reproduces`).toBe(
            violationKind(entry.violations),
          );
        }
      },
      timeout,
    );
  });
}
