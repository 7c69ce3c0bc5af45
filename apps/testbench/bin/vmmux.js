#!/usr/bin/env node
/**
 * The `vmmux` executable (issue 9 item 2). Runs the built command line (`dist/cli.js`). In a
 * checkout that has not been built yet (or only partly), it runs the TypeScript sources
 * through tsx instead; set VMMUX_FROM_SOURCES=1 to do that even after a build. Without
 * either, it says in one line what to do.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";

const built = new URL("../dist/cli.js", import.meta.url);
/**
 * V8 grows the heap by less at each step: a long run's peak memory follows what it keeps
 * (measured: dual-vm-10min's check 435 -> 220 MB max RSS) at no measured cost in CPU. Not for an
 * exploration: its many short runs' garbage is most of what it allocates, and collecting the
 * old generation at every 20% of growth cost it 10-13% (`check --explore 64` of default.json:
 * 19.9 -> 17.8 s on 1 worker, 11.4 -> 9.9 s on 2, for a peak of 280 and 430 MB instead of 210
 * and 330).
 */
const HEAP_GROWTH = "--heap-growing-percent=20";
/**
 * An exploration on several threads keeps every core busy with a simulation, so V8's parallel
 * garbage-collection helpers find no core of their own and slow the simulations down (measured:
 * `check --explore 64` of default.json on 2 workers, 2 cores, 14.8 -> 13.7 s). It is a start-up
 * flag (setting it later aborts V8), so such a command runs in a child process that has it.
 */
const SERIAL_GC = "--single-threaded-gc";

/** Whether the arguments ask for an exploration (`check --explore`). */
function explores(args) {
  return args.some((a) => a === "--explore" || a.startsWith("--explore="));
}

/** Whether the arguments ask for an exploration on more than one thread. */
function exploresInParallel(args) {
  if (!explores(args)) return false;
  const at = args.findIndex((a) => a === "--workers" || a.startsWith("--workers="));
  const given = at < 0 ? undefined : args[at].includes("=") ? args[at].split("=")[1] : args[at + 1];
  return (given === undefined ? availableParallelism() : Number(given)) > 1;
}
const sources = fileURLToPath(new URL("../src/cli.ts", import.meta.url));

/** A missing file of some package's `dist/`: the build has not been run (or not finished). */
function unbuilt(error) {
  return error?.code === "ERR_MODULE_NOT_FOUND" && /[/\\]dist[/\\]/.test(String(error.message));
}

function tsxLoader() {
  try {
    return import.meta.resolve("tsx");
  } catch {
    return undefined;
  }
}

function fromSources() {
  const loader = tsxLoader();
  if (loader === undefined || !existsSync(sources)) {
    process.stderr.write(
      "vmmux: not built yet: run `pnpm build` in the vmmux checkout first (or `pnpm install` to get tsx and run from the sources)\n",
    );
    process.exitCode = 1;
    return;
  }
  inChild(["--conditions=@vmmux/source", "--import", loader, sources]);
}

/** Run the command line in a child Node with the V8 flags it needs (`main` and its options). */
function inChild(main) {
  const args = process.argv.slice(2);
  const flags = exploresInParallel(args) ? [SERIAL_GC] : explores(args) ? [] : [HEAP_GROWTH];
  const child = spawn(process.execPath, [...flags, ...main, ...args], { stdio: "inherit" });
  // The terminal sends Ctrl-C to both processes; the child decides what it means.
  const ignore = () => undefined;
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(signal, ignore);
  child.on("exit", (code, signal) => {
    if (signal !== null) {
      for (const s of ["SIGINT", "SIGTERM", "SIGHUP"]) process.off(s, ignore);
      process.kill(process.pid, signal);
      return;
    }
    process.exitCode = code ?? 1;
  });
}

if (process.env.VMMUX_FROM_SOURCES === "1" || !existsSync(built)) {
  fromSources();
} else if (exploresInParallel(process.argv.slice(2))) {
  inChild([fileURLToPath(built)]);
} else {
  try {
    (await import("node:v8")).setFlagsFromString(HEAP_GROWTH);
    await import(built.href);
  } catch (error) {
    if (!unbuilt(error)) throw error;
    fromSources();
  }
}
