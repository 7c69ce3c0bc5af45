/**
 * The fuzz corpus (issue 11 item 2): every counterexample a campaign found, shrunk, as one
 * JSON file `fuzz/corpus/<suite>/<hash>.json` named by a hash of what replays it, so the same
 * script found twice is one file. CI replays every file against the real code (the broken
 * variant a campaign may have run against is kept as provenance, not replayed).
 */
import { createHash } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const SUITES = ["transport", "console", "system"] as const;
export type SuiteName = (typeof SUITES)[number];

/** The repository's corpus directory (`fuzz/corpus`). */
export const CORPUS_DIR = fileURLToPath(new URL("../../../../fuzz/corpus", import.meta.url));

export interface CorpusEntry {
  readonly format: "vmmux-fuzz/1";
  readonly suite: SuiteName;
  readonly profile: "hardened" | "reference";
  /** transport and console: the shrunk script (virtio-core's or virtio-console's `HostileOp[]`). */
  readonly script?: readonly unknown[];
  /**
   * system: the scenario seed (it seeds the system; without `script` the hostile script is
   * drawn from it). With `script`, the shrunk hostile ops (`@vmmux/vmm`'s `HostileOp[]`).
   */
  readonly scenarioSeed?: number;
  /** system with a script: Linux's probe runs before it (default true). */
  readonly probe?: boolean;
  /** What the script violated when it was found. */
  readonly violations: readonly string[];
  /**
   * A defect found and not yet fixed (what it is and where): the replay must still reproduce
   * it, so the entry is noticed when the fix lands; the field is removed then.
   */
  readonly open?: string;
  /** How it was found: the campaign's seed, fast-check's seed and path, a broken variant. */
  readonly found: {
    readonly campaignSeed: number;
    readonly fcSeed?: number;
    readonly path?: string;
    readonly variant?: string;
    readonly defects?: Record<string, boolean>;
  };
}

/**
 * The distinct violations with their numbers and quoted bytes blanked (and a truncation
 * note left out): failures of one kind share it.
 */
export function violationKind(violations: readonly string[]): string {
  const kinds = violations
    .filter((v) => !v.startsWith("... and "))
    .map((v) => v.replace(/'[^']*'|0x[0-9a-f]+|\d+/gi, "#"));
  return [...new Set(kinds)].join("; ");
}

/** The file name of an entry: a short hash of its suite, profile and script (or seed). */
export function entryName(entry: CorpusEntry): string {
  const replayed =
    entry.suite === "system" && entry.script !== undefined
      ? [entry.script, entry.scenarioSeed, entry.probe ?? true]
      : (entry.script ?? entry.scenarioSeed);
  const key = JSON.stringify([entry.suite, entry.profile, replayed]);
  return `${createHash("sha256").update(key).digest("hex").slice(0, 12)}.json`;
}

/** Write `entry` under `dir/<suite>/`; returns its path (an existing file is left as it is). */
export function writeEntry(entry: CorpusEntry, dir = CORPUS_DIR): string {
  const folder = join(dir, entry.suite);
  mkdirSync(folder, { recursive: true });
  const file = join(folder, entryName(entry));
  try {
    writeFileSync(file, `${JSON.stringify(entry, null, 2)}\n`, { flag: "wx" });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
  }
  return file;
}

/** Every entry of one suite, with its path, in file-name order. */
export function loadSuiteCorpus(
  suite: SuiteName,
  dir = CORPUS_DIR,
): { readonly file: string; readonly entry: CorpusEntry }[] {
  let names: string[];
  try {
    names = readdirSync(join(dir, suite)).filter((n) => n.endsWith(".json"));
  } catch {
    return [];
  }
  return names.sort().map((n) => {
    const file = join(dir, suite, n);
    return { file, entry: JSON.parse(readFileSync(file, "utf8")) as CorpusEntry };
  });
}
