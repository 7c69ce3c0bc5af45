/**
 * The corpus replay CI runs (issue 11 item 2), one test per file of `fuzz/corpus/<suite>/`
 * named by its path. An entry must replay clean against the real code; an `open` entry (a
 * defect found and not yet fixed) must still reproduce a violation of the kind recorded.
 */
import { relative } from "node:path";
import {
  CORPUS_DIR,
  type CorpusEntry,
  loadSuiteCorpus,
  type SuiteName,
  violationKind,
} from "./corpus.js";
import { replayEntry } from "./suites.js";

/** Every entry of `suite`, with its path from the repository root. */
export function corpusCases(suite: SuiteName): { file: string; entry: CorpusEntry }[] {
  return loadSuiteCorpus(suite).map(({ file, entry }) => ({
    file: relative(`${CORPUS_DIR}/../..`, file),
    entry,
  }));
}

/** Why the entry at `file` fails its replay, or undefined when it replays as it should. */
export function replayVerdict(file: string, entry: CorpusEntry): string | undefined {
  const violations = replayEntry(entry);
  if (entry.open === undefined)
    return violations.length === 0 ? undefined : `${file} fails again: ${violations.join("; ")}`;
  return violationKind(violations) === violationKind(entry.violations)
    ? undefined
    : `${file} (open) no longer reproduces its violation: now ${JSON.stringify(violations)}`;
}
