/** Replays every entry of `fuzz/corpus/transport/` (see `replay-corpus.ts`). */
import { replayCorpusSuite } from "./replay-corpus.js";

replayCorpusSuite("transport");
