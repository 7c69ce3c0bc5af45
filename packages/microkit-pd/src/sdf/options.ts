/** Options of the SDF parser. */
import type { PlatformConfig } from "./config.js";

/** `strict` is the current tool; `legacy` also accepts the older dialects of §1.6. */
export type SdfDialect = "strict" | "legacy";

/** What looking up a `prefill_path` on the search path found. */
export type PrefillLookup =
  | { readonly kind: "found"; readonly resolvedPath: string; readonly length: number }
  | { readonly kind: "missing" }
  | { readonly kind: "unreadable"; readonly resolvedPath: string };

/** Finds a `prefill_path` on the search path (the tool's `get_full_path` then `fs::read`). */
export type PrefillResolver = (path: string) => PrefillLookup;

export interface ParseOptions {
  /** Printed in locations, as the tool prints the path given on its command line. */
  readonly fileName?: string;
  /** Default `strict`. */
  readonly dialect?: SdfDialect;
  /** Default: the AArch64 unicore test configuration (§4.5). */
  readonly config?: PlatformConfig;
  /** Without one, every `prefill_path` is "not found", as with an empty search path. */
  readonly prefill?: PrefillResolver;
}
