/**
 * Loading a `.system` file from disk, with `prefill_path` files found on a search path the
 * way the microkit tool's `get_full_path` does: the first search directory in which the
 * joined path exists wins (an absolute `prefill_path` is used as it is).
 */
import { accessSync, constants, readFileSync, type Stats, statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { SdfError } from "./errors.js";
import { type ParseOptions, type PrefillResolver, parseSystemDescription } from "./parse.js";
import type { ParsedSystem } from "./types.js";

export interface LoadOptions extends Omit<ParseOptions, "prefill" | "fileName"> {
  /** Directories searched for prefill files, in order. Default: the system file's directory. */
  readonly searchPath?: readonly string[];
  /** Name printed in locations. Default: `path` as given. */
  readonly fileName?: string;
}

/** A prefill resolver over real directories. */
export function searchPathPrefill(searchPath: readonly string[]): PrefillResolver {
  return (path) => {
    for (const dir of searchPath) {
      const full = resolve(dir, path);
      let stat: Stats;
      try {
        stat = statSync(full);
      } catch {
        continue;
      }
      if (!stat.isFile()) return { kind: "unreadable", resolvedPath: full };
      // Only the length matters here: reading a multi-GiB image to measure it would fail
      // past Node's buffer limit and report a readable file as unreadable.
      try {
        accessSync(full, constants.R_OK);
      } catch {
        return { kind: "unreadable", resolvedPath: full };
      }
      return { kind: "found", resolvedPath: full, length: stat.size };
    }
    return { kind: "missing" };
  };
}

/** Reads, parses and validates a system file; throws `SdfError` like `parseSystemDescription`. */
export function loadSystemFile(path: string, options: LoadOptions = {}): ParsedSystem {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new SdfError({
      code: "file-unreadable",
      rule: "xml",
      message: `Error: unable to read system file '${path}': ${(err as Error).message}`,
      file: path,
    });
  }
  const { searchPath, fileName, ...rest } = options;
  return parseSystemDescription(text, {
    ...rest,
    fileName: fileName ?? path,
    prefill: searchPathPrefill(searchPath ?? [dirname(path)]),
  });
}
