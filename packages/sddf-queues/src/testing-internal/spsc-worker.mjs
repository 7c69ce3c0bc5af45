// Entry of the worker threads of spsc.test.ts: registers tsx in this thread, then runs the
// TypeScript worker body.
import { register } from "tsx/esm/api";

register();
await import("./spsc-worker.ts");
