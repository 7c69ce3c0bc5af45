/**
 * Loading a `.system` file from disk, with `prefill_path` files found on a search path the
 * way the microkit tool's `get_full_path` does: the first search directory in which the
 * joined path exists wins (an absolute `prefill_path` is used as it is).
 */
import {
  accessSync,
  closeSync,
  constants,
  fstatSync,
  openSync,
  readFileSync,
  readSync,
  type Stats,
  statSync,
} from "node:fs";
import { dirname, resolve } from "node:path";
import { StringDecoder } from "node:string_decoder";
import { SdfError } from "./errors.js";
import { type ParseOptions, type PrefillResolver, parseSystemDescription } from "./parse.js";
import type { ParsedSystem } from "./types.js";
import { MAX_SYSTEM_FILE_CHARS, scanXml } from "./xml.js";

/** Read size of `loadSystemFile`: the first chunk of a garbage file is usually all it reads. */
const CHUNK_BYTES = 64 * 1024;

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

/**
 * Reads, parses and validates a system file; throws `SdfError` like `parseSystemDescription`.
 * The file is read in chunks through a well-formedness scan first, so input that is not XML
 * fails at its first error without being read whole, and at most `MAX_SYSTEM_FILE_CHARS`
 * bytes are read from anything (a device, a huge file).
 */
export function loadSystemFile(path: string, options: LoadOptions = {}): ParsedSystem {
  const { searchPath, fileName, ...rest } = options;
  const name = fileName ?? path;
  const read: ReadState = { bytes: 0, regular: false, kept: [] };
  scanXml(readChunks(path, read), name, () => read.bytes > MAX_SYSTEM_FILE_CHARS);
  // A regular file is read again rather than kept during the scan, so the scan holds no
  // more than saxes does; a pipe (`vmmux sdf <(...)`) can be read only once.
  const text = read.regular ? readAgain(path) : read.kept.join("");
  return parseSystemDescription(text, {
    ...rest,
    fileName: name,
    prefill: searchPathPrefill(searchPath ?? [dirname(path)]),
  });
}

interface ReadState {
  bytes: number;
  /** A regular file: its chunks are not kept. */
  regular: boolean;
  readonly kept: string[];
}

/** Why a file could not be read, in words for the usual causes (errno text otherwise). */
const READ_FAILURES: Readonly<Record<string, string>> = {
  ENOENT: "there is no such file",
  EACCES: "permission denied",
  EISDIR: "it is a directory",
  ENOTDIR: "a part of the path is not a directory",
  ELOOP: "too many symbolic links",
};

function unreadable(path: string, err: unknown): SdfError {
  const code = (err as NodeJS.ErrnoException).code;
  const why = (code !== undefined ? READ_FAILURES[code] : undefined) ?? (err as Error).message;
  return new SdfError({
    code: "file-unreadable",
    rule: "xml",
    message: `Error: unable to read system file '${path}': ${why}`,
    file: path,
  });
}

function readAgain(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (err) {
    throw unreadable(path, err);
  }
}

/**
 * Decoded chunks of `path` (as `readFileSync(path, "utf8")` decodes them); those of anything
 * but a regular file are also kept in `read.kept`.
 */
function* readChunks(path: string, read: ReadState): Generator<string> {
  let fd: number;
  try {
    fd = openSync(path, "r");
    read.regular = fstatSync(fd).isFile();
  } catch (err) {
    throw unreadable(path, err);
  }
  try {
    const decoder = new StringDecoder("utf8");
    const buffer = Buffer.alloc(CHUNK_BYTES);
    for (;;) {
      let n: number;
      try {
        n = readSync(fd, buffer, 0, buffer.length, null);
      } catch (err) {
        throw unreadable(path, err);
      }
      const chunk = n === 0 ? decoder.end() : decoder.write(buffer.subarray(0, n));
      read.bytes += n;
      if (chunk.length > 0) {
        if (!read.regular) read.kept.push(chunk);
        yield chunk;
      }
      // Bytes, not characters: a device or a huge file stops here whatever it decodes to.
      if (n === 0 || read.bytes > MAX_SYSTEM_FILE_CHARS) return;
    }
  } finally {
    closeSync(fd);
  }
}
