/**
 * The `--out` directory (issue 9 item 6, DESIGN.md "nothing is written half-way"). A run's
 * artefacts are one set: a reader, or a person who pressed Ctrl-C, must find either the
 * previous set or the whole new one, never a mix or a partial file.
 *
 * `OutputDir.prepare(path)` checks before the run that the directory exists or can be
 * created and that entries can be made in it; errors are sentences. `file(name)` gives a
 * path in a hidden staging directory beside the final files (same file system, so moving
 * is a rename); `commit()` moves every staged file into place in one synchronous step, so
 * no signal handler can run between two renames; `abort()` removes the staging directory.
 * While anything is staged, SIGINT, SIGTERM and SIGHUP abort and then end the process by
 * the same signal. A staging directory left by a process killed outright (SIGKILL) is
 * removed by the next `prepare` of the same directory.
 */
import {
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  renameSync,
  rmdirSync,
  rmSync,
  statSync,
} from "node:fs";
import { dirname, join, resolve } from "node:path";

export class OutputDirError extends Error {
  readonly code = "OUTPUT_DIR_UNUSABLE";
  constructor(
    /** The `--out` path as given. */
    readonly path: string,
    readonly problem: string,
  ) {
    super(`cannot write artefacts to ${path}: ${problem}`);
    this.name = "OutputDirError";
  }
}

const STAGING_PREFIX = ".vmmux-staging-";
const SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;

function errnoCode(error: unknown): string {
  const code = (error as { code?: unknown }).code;
  return typeof code === "string" ? code : "";
}

/** Why creating or writing `target` inside `parent` failed, as a sentence fragment. */
function reason(error: unknown, target: string, parent: string): string {
  switch (errnoCode(error)) {
    case "EACCES":
    case "EPERM":
      return `you do not have permission to write in ${parent}`;
    case "EROFS":
      return `${parent} is on a read-only file system`;
    case "ENOENT":
      // The parent exists (it was just looked at), so it is a directory that refuses new
      // entries, as /proc and /sys do.
      return `${parent} does not allow new files or directories`;
    case "ENOTDIR":
      return `${parent} is not a directory`;
    case "EEXIST":
      return `${target} appeared while it was being created`;
    case "ENOSPC":
      return `the file system holding ${parent} is full`;
    case "EDQUOT":
      return `your disk quota on ${parent} is used up`;
    case "ENAMETOOLONG":
      return `the path is too long`;
    case "ELOOP":
      return `the path has a loop of symbolic links`;
    default:
      return `the system refused to create ${target} in ${parent}`;
  }
}

/** Stat that answers `undefined` for a path that does not exist. */
function statOrNone(path: string) {
  try {
    return statSync(path);
  } catch (error) {
    if (errnoCode(error) === "ENOENT") return undefined;
    if (errnoCode(error) === "ENOTDIR") return "not-a-directory" as const;
    throw error;
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return errnoCode(error) === "EPERM";
  }
}

export class OutputDir {
  /** The absolute final directory. */
  readonly dir: string;
  readonly #given: string;
  #staging: string | undefined;
  #state: "open" | "committed" | "aborted" = "open";
  readonly #onSignal = (signal: NodeJS.Signals) => {
    this.abort();
    process.kill(process.pid, signal);
  };

  private constructor(given: string, dir: string) {
    this.#given = given;
    this.dir = dir;
  }

  /**
   * Check (and create, if missing) the directory before any work is done; throws an
   * `OutputDirError` naming what is wrong. Never uses recursive `mkdir`, which does not
   * return on paths such as `/proc/x` under Node 20.
   */
  static prepare(path: string): OutputDir {
    const dir = resolve(path);
    const missing: string[] = [];
    let existing = dir;
    for (;;) {
      const stat = statOrNone(existing);
      if (stat === "not-a-directory") {
        throw new OutputDirError(path, `a part of the path before ${existing} is a file`);
      }
      if (stat !== undefined) {
        if (!stat.isDirectory()) {
          throw new OutputDirError(
            path,
            existing === dir ? "it is a file, not a directory" : `${existing} is a file`,
          );
        }
        break;
      }
      missing.unshift(existing);
      const parent = dirname(existing);
      if (parent === existing) break;
      existing = parent;
    }
    for (const target of missing) {
      try {
        mkdirSync(target);
      } catch (error) {
        throw new OutputDirError(path, reason(error, target, dirname(target)));
      }
    }
    // Prove that entries can be made here (permissions, read-only mounts, pseudo file systems).
    try {
      rmdirSync(mkdtempSync(join(dir, `${STAGING_PREFIX}probe-`)));
    } catch (error) {
      throw new OutputDirError(path, reason(error, "a file", dir));
    }
    removeStaleStaging(dir);
    return new OutputDir(path, dir);
  }

  /** Where to write the artefact `name`: inside the staging directory until `commit`. */
  file(name: string): string {
    if (this.#state !== "open") throw new Error(`output directory already ${this.#state}`);
    if (this.#staging === undefined) {
      try {
        this.#staging = mkdtempSync(join(this.dir, `${STAGING_PREFIX}${process.pid}-`));
      } catch (error) {
        throw new OutputDirError(this.#given, reason(error, "a file", this.dir));
      }
      for (const signal of SIGNALS) process.on(signal, this.#onSignal);
    }
    return join(this.#staging, name);
  }

  /** The staging directory itself (created on first use), for writers that take a directory. */
  stagingDir(): string {
    return dirname(this.file("x"));
  }

  /**
   * Move every staged file into place, all in one synchronous step; returns the final paths
   * in name order. Fails before moving anything when a target name is taken by a directory.
   */
  commit(): string[] {
    if (this.#state !== "open") throw new Error(`output directory already ${this.#state}`);
    const staging = this.#staging;
    if (staging === undefined) {
      this.#state = "committed";
      return [];
    }
    const names = readdirSync(staging).sort();
    for (const name of names) {
      const target = join(this.dir, name);
      const taken = (() => {
        try {
          return lstatSync(target).isDirectory();
        } catch {
          return false;
        }
      })();
      if (taken) {
        this.abort();
        throw new OutputDirError(this.#given, `${target} is a directory`);
      }
    }
    for (const name of names) renameSync(join(staging, name), join(this.dir, name));
    rmSync(staging, { recursive: true, force: true });
    this.#close("committed");
    return names.map((name) => join(this.dir, name));
  }

  /** Remove what was staged; the directory keeps its previous files. */
  abort(): void {
    if (this.#state !== "open") return;
    if (this.#staging !== undefined) rmSync(this.#staging, { recursive: true, force: true });
    this.#close("aborted");
  }

  #close(state: "committed" | "aborted"): void {
    this.#state = state;
    for (const signal of SIGNALS) process.off(signal, this.#onSignal);
  }
}

/** Staging directories of processes that no longer run (killed with SIGKILL, power loss). */
function removeStaleStaging(dir: string): void {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of entries) {
    const match = new RegExp(`^${STAGING_PREFIX.replaceAll(".", "\\.")}(\\d+)-`).exec(name);
    if (match === null || processAlive(Number(match[1]))) continue;
    rmSync(join(dir, name), { recursive: true, force: true });
  }
}
