/** Replays every entry of `fuzz/corpus/system/` (see `replay-corpus.ts`). */
import { replayCorpusSuite } from "./replay-corpus.js";

replayCorpusSuite("system");
