/**
 * One small malformed file per validation rule of reference §1.5 (and the §1.1 value-type
 * failures), each with the code and the exact message the parser must give. The table lives
 * beside the files in `test-data/sdf/invalid/cases.json`.
 */
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { PLATFORM_CONFIGS, type PlatformConfig, type PlatformName } from "./config.js";
import { SdfError, type SdfErrorCode, type SdfRule } from "./errors.js";
import { loadSystemFile } from "./load.js";
import type { SdfDialect } from "./parse.js";

const invalidDir = fileURLToPath(new URL("../../test-data/sdf/invalid/", import.meta.url));
const prefillDir = fileURLToPath(new URL("../../test-data/sdf/prefills/", import.meta.url));

interface Case {
  readonly file: string;
  readonly rule: SdfRule;
  readonly code: SdfErrorCode;
  readonly config: PlatformName;
  readonly overrides?: Partial<Pick<PlatformConfig, "armSmc" | "hypervisor" | "iommu">>;
  readonly dialect?: SdfDialect;
  readonly message?: string;
  readonly messagePrefix?: string;
}

const cases = JSON.parse(readFileSync(`${invalidDir}cases.json`, "utf8")) as Case[];

function load(c: Case): SdfError {
  try {
    loadSystemFile(`${invalidDir}${c.file}`, {
      fileName: c.file,
      config: { ...PLATFORM_CONFIGS[c.config], ...c.overrides },
      dialect: c.dialect ?? "strict",
      searchPath: [prefillDir],
    });
  } catch (err) {
    if (err instanceof SdfError) return err;
    throw err;
  }
  throw new Error(`${c.file} loaded without an error`);
}

describe("malformed system files (test-data/sdf/invalid)", () => {
  it.each(cases.map((c) => [c.file, c] as const))("%s is rejected as the table says", (_, c) => {
    const err = load(c);
    expect(err.code).toBe(c.code);
    expect(err.rule).toBe(c.rule);
    if (c.message !== undefined) expect(err.message).toBe(c.message);
    else expect(err.message.startsWith(c.messagePrefix ?? "")).toBe(true);
    expect(err.file).toBe(c.file);
  });

  it("has a file for every validation rule #1–#31 and every failing global check", () => {
    const covered = new Set(cases.map((c) => c.rule));
    const rules = [
      ...Array.from({ length: 31 }, (_, i) => `#${i + 1}`),
      ...[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 18].map((g) => `G${g}`),
    ];
    expect(rules.filter((r) => !covered.has(r as SdfRule))).toEqual([]);
  });

  it("lists every committed file in the table", () => {
    const files = readdirSync(invalidDir).filter((f) => f.endsWith(".system"));
    expect(files.sort()).toEqual(cases.map((c) => c.file).sort());
  });

  it("names element, attribute and position for a value error", () => {
    const err = load(cases.find((c) => c.file === "r09_stack_size_alignment.system") as Case);
    expect(err.element).toBe("protection_domain");
    expect(err.attribute).toBe("stack_size");
    expect(err.location).toEqual({ file: "r09_stack_size_alignment.system", line: 2, column: 5 });
    expect(err.toolPanics).toBe(false);
  });

  it("flags inputs on which the real tool panics instead of reporting", () => {
    const err = load(cases.find((c) => c.file === "decimal_invalid.system") as Case);
    expect(err.toolPanics).toBe(true);
    expect(err.attribute).toBe("irq");
  });
});
