/** `pnpm fuzz [flags]`: `vmmux fuzz` from the sources (see `commands/fuzz.ts`). */
import { main } from "../commands.js";

const argv = process.argv.slice(2);
process.exitCode = await main(["fuzz", ...(argv[0] === "--" ? argv.slice(1) : argv)]);
