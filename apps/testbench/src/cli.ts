#!/usr/bin/env node
/** The `vmmux` executable: see `commands.ts`. */
import { main } from "./commands.js";

process.exitCode = await main(process.argv.slice(2));
