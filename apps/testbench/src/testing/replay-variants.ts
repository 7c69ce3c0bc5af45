/**
 * Deliberately wrong variants for the replay and progress tests: each must make a test fail
 * that passes on the real code.
 */
import { type Expectations, progress, type RunResult, type Verdict } from "../index.js";
import type { TypingMerge } from "../replay-typing.js";
import { mergeTyping } from "../typing.js";

/** A replay that drops the traces' `"i"` events: only the scenario's own strokes are typed. */
export const dropTraceTyping: TypingMerge = (_typists, explicit, options) =>
  mergeTyping([], explicit, options);

/** A progress oracle that only looks at the bytes guests wrote (no starvation watch). */
export function progressWrittenBytesOnly(run: RunResult, expect?: Expectations): Verdict {
  return progress({ ...run, starvation: [] }, expect);
}
