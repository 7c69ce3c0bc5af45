/** Replays every entry of `fuzz/corpus/console/` (see `replay-corpus.ts`). */
import { replayCorpusSuite } from "./replay-corpus.js";

replayCorpusSuite("console");
