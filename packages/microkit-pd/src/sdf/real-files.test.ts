/**
 * Real `.system` files (reference §4.6) and the microkit tool's own conformance corpus
 * (§4.5: `tool/microkit/tests/sdf/*.system` with expectations in `tests/test.rs`).
 *
 * The files are not part of this repository. Put them under a directory named by
 * `VMMUX_REAL_SDF_DIR`, one folder per repository snapshot:
 * `<owner>+<repo>@<commit>/<path in the repository>` (the test derives each file's
 * expectation from that path). Without the variable the suite is skipped.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import {
  AARCH64_CONFIG,
  AARCH64_SMC_CONFIG,
  AARCH64_SMP_CONFIG,
  type PlatformConfig,
  X86_64_CONFIG,
} from "./config.js";
import { SdfError } from "./errors.js";
import { loadSystemFile, searchPathPrefill } from "./load.js";
import { parseSystemDescription, type SdfDialect } from "./parse.js";
import { serialiseSystem } from "./serialise.js";

const root = process.env.VMMUX_REAL_SDF_DIR;

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = join(dir, name);
    return statSync(full).isDirectory() ? walk(full) : full.endsWith(".system") ? [full] : [];
  });
}

/** What loading a file should give: success, or an error whose message starts with `error`. */
interface Expectation {
  readonly config: PlatformConfig;
  readonly dialect?: SdfDialect;
  readonly error?: string;
  /** Number of `WARNING: unused memory region` lines, where §4.6 gives it. */
  readonly warnings?: number;
}

/**
 * §4.6, keyed by a pattern over `<owner>+<repo>@<commit>/<path>`. Each entry lists every
 * configuration/dialect the reference states an outcome for.
 */
const REAL_FILES: readonly { pattern: RegExp; expect: readonly Expectation[] }[] = [
  {
    pattern: /^seL4\+microkit@[^/]+\/example\/arm_smc\//,
    expect: [
      { config: AARCH64_SMC_CONFIG },
      {
        config: AARCH64_CONFIG,
        error: "ARM SMC forwarding support is not available for this architecture",
      },
    ],
  },
  {
    pattern: /^seL4\+microkit@[^/]+\/tests\/overlapping_pages\//,
    expect: [
      {
        config: AARCH64_CONFIG,
        error:
          "Error: map for 'small0' has virtual address range [0x500000..0x501000) which overlaps with map for 'large0' [0x400000..0x600000) in protection domain 'simplemrs' @ ",
      },
    ],
  },
  {
    pattern: /^seL4\+microkit@[^/]+\/example\/bootinfo\//,
    expect: [{ config: X86_64_CONFIG }, { config: AARCH64_CONFIG }],
  },
  {
    pattern: /^seL4\+microkit@[^/]+\/example\/x86_64_ioport\//,
    expect: [
      { config: X86_64_CONFIG },
      { config: AARCH64_CONFIG, error: "Error: I/O Ports are only available on x86" },
    ],
  },
  {
    pattern: /^seL4\+microkit@[^/]+\/example\/x86_64_iommu_dma_test\//,
    expect: [
      { config: X86_64_CONFIG },
      {
        config: AARCH64_CONFIG,
        error:
          "Error: failed to parse device peripheral_id '0:4.0': IOMMU device identifiers are not supported on AArch64",
      },
    ],
  },
  {
    pattern: /^seL4\+microkit@[^/]+\/example\/ethernet\//,
    expect: [{ config: AARCH64_CONFIG, warnings: 10 }],
  },
  {
    pattern: /^seL4\+microkit@[^/]+\/example\/setvar\//,
    expect: [{ config: AARCH64_CONFIG, warnings: 3 }],
  },
  { pattern: /^seL4\+microkit@[^/]+\/(example|tests)\//, expect: [{ config: AARCH64_CONFIG }] },
  {
    pattern: /^au-ts\+libvmm@[^/]+\/examples\/simple\/board\/zcu102\//,
    expect: [{ config: AARCH64_SMC_CONFIG }],
  },
  {
    pattern: /^au-ts\+libvmm@[^/]+\/examples\/(simple|uefi)\/board\/x86_64_generic_vtx\//,
    expect: [{ config: X86_64_CONFIG }],
  },
  {
    pattern: /^au-ts\+libvmm@[^/]+\/examples\/smp\//,
    expect: [
      { config: AARCH64_SMP_CONFIG },
      { config: AARCH64_CONFIG, error: "Error: cpu core must be less than 1, got 1" },
    ],
  },
  {
    pattern: /^au-ts\+libvmm@[^/]+\/examples\/virtio-snd\//,
    expect: [
      {
        config: AARCH64_CONFIG,
        error: "Error: invalid attribute 'pp' on element 'protection_domain'",
      },
      { config: AARCH64_CONFIG, dialect: "legacy" },
    ],
  },
  {
    pattern: /^au-ts\+libvmm@[^/]+\/examples\/virtio\/board\//,
    expect: [
      {
        config: AARCH64_CONFIG,
        error: "Error: invalid attribute 'id' on element 'virtual_machine'",
      },
      { config: AARCH64_CONFIG, dialect: "legacy" },
    ],
  },
  {
    pattern: /^au-ts\+libvmm@[^/]+\/board\/qemu_arm_virt_hyp\/systems\/two_vms\.system$/,
    expect: [
      {
        config: AARCH64_CONFIG,
        error: "Error: invalid attribute 'id' on element 'virtual_machine'",
      },
      {
        config: AARCH64_CONFIG,
        dialect: "legacy",
        error: "Error: duplicate virtual machine name 'linux'.",
      },
    ],
  },
  { pattern: /^au-ts\+(libvmm|sddf)@/, expect: [{ config: AARCH64_CONFIG }] },
];

function withoutLocations(value: unknown): unknown {
  return JSON.parse(
    JSON.stringify(value, (key, v: unknown) =>
      key === "location" ? undefined : typeof v === "bigint" ? `0x${v.toString(16)}` : v,
    ),
  );
}

/** The outcome of loading, as one comparable string ("OK" plus the warning count on success). */
function outcome(load: () => { warnings: readonly unknown[] }): string {
  try {
    return `OK (${load().warnings.length} warnings)`;
  } catch (err) {
    if (err instanceof SdfError) return err.message;
    throw err;
  }
}

function matches(actual: string, expected: Expectation): boolean {
  if (expected.error !== undefined) return actual.startsWith(expected.error);
  if (expected.warnings !== undefined) return actual === `OK (${expected.warnings} warnings)`;
  return actual.startsWith("OK");
}

const CONFIGS: Record<string, PlatformConfig> = {
  DEFAULT_AARCH64_KERNEL_CONFIG: AARCH64_CONFIG,
  SMP_AARCH64_KERNEL_CONFIG: AARCH64_SMP_CONFIG,
  DEFAULT_X86_64_KERNEL_CONFIG: X86_64_CONFIG,
};

/** Rust string literal contents: `\` + newline + indentation vanish, `r#"…"#` is raw. */
function rustString(literal: string): string {
  if (literal.startsWith('r#"')) return literal.slice(3, -2);
  return literal
    .slice(1, -1)
    .replace(/\\\n\s*/g, "")
    .replace(/\\(["\\nt])/g, (_, c: string) => (c === "n" ? "\n" : c === "t" ? "\t" : c));
}

interface ConformanceCase {
  readonly file: string;
  readonly config: PlatformConfig;
  readonly error?: string;
}

/** A config argument: a named constant, or `&sel4::Config { field: value, ..BASE }`. */
function rustConfig(text: string): PlatformConfig {
  const named = CONFIGS[text];
  if (named !== undefined) return named;
  const literal = /^sel4::Config\s*\{([\s\S]*)\.\.(\w+)\s*\}$/.exec(text);
  const base = literal ? CONFIGS[literal[2] as string] : undefined;
  if (literal === null || base === undefined) throw new Error(`test.rs: unknown config ${text}`);
  let config: PlatformConfig = base;
  for (const field of (literal[1] as string).split(",")) {
    const colon = field.indexOf(":");
    const key = field.slice(0, colon).trim();
    const value = field.slice(colon + 1).trim();
    if (colon < 0) continue;
    if (key === "iommu") config = { ...config, iommu: value === "true" };
    else if (key === "hypervisor") config = { ...config, hypervisor: value === "true" };
    else if (key === "num_cores") config = { ...config, numCores: Number(value) };
    else if (key === "arch") {
      const arch = value.endsWith("Riscv64")
        ? "riscv64"
        : value.endsWith("X86_64")
          ? "x86_64"
          : "aarch64";
      config = { ...config, arch };
    } else throw new Error(`test.rs: unsupported config field ${key}`);
  }
  return config;
}

/** Every `check_success` / `check_error` / `check_missing` call in the tool's `test.rs`. */
function conformanceCases(testRs: string): ConformanceCase[] {
  const call =
    /check_(success|error|missing)\(\s*&(\w+|sel4::Config\s*\{[^}]*\}),\s*"([^"]+)"((?:\s*,\s*(?:r#"[\s\S]*?"#|"(?:[^"\\]|\\[\s\S])*"))*)\s*,?\s*\)/g;
  const arg = /r#"[\s\S]*?"#|"(?:[^"\\]|\\[\s\S])*"/g;
  const cases: ConformanceCase[] = [];
  for (const m of testRs.matchAll(call)) {
    const [, kind, configText, file, rest] = m as unknown as [
      string,
      string,
      string,
      string,
      string,
    ];
    const config = rustConfig(configText);
    const args = [...(rest ?? "").matchAll(arg)].map((a) => rustString(a[0]));
    if (kind === "success") cases.push({ file, config });
    else if (kind === "error") cases.push({ file, config, error: args[0] as string });
    else {
      cases.push({
        file,
        config,
        error: `Error: Missing required attribute '${args[0]}' on element '${args[1]}'`,
      });
    }
  }
  return cases;
}

describe.skipIf(root === undefined)("real system files (VMMUX_REAL_SDF_DIR)", () => {
  const dir = root as string;
  const files = existsSync(dir) ? walk(dir) : [];
  const realFiles = files.filter((f) => !f.includes("/tool/microkit/tests/sdf/"));

  it("finds the real files of reference §4.6", () => {
    expect(realFiles.length).toBeGreaterThan(0);
  });

  it.each(realFiles.map((f) => [relative(dir, f), f]))(
    "%s loads with the outcome reference §4.6 gives",
    (rel, file) => {
      const entry = REAL_FILES.find((e) => e.pattern.test(rel));
      expect(entry, `no §4.6 expectation for ${rel}`).toBeDefined();
      for (const expected of entry?.expect ?? []) {
        const actual = outcome(() =>
          loadSystemFile(file, { config: expected.config, dialect: expected.dialect ?? "strict" }),
        );
        if (expected.error === undefined && (expected.dialect ?? "strict") === "strict") {
          // A file the tool accepts survives being written back and read again.
          const { system } = loadSystemFile(file, { config: expected.config });
          const again = parseSystemDescription(
            serialiseSystem(system, { config: expected.config }),
            {
              fileName: system.fileName,
              config: expected.config,
              prefill: searchPathPrefill([dirname(file)]),
            },
          );
          expect(withoutLocations(again.system)).toEqual(withoutLocations(system));
        }
        expect(
          matches(actual, expected),
          `${rel} (${expected.config.arch}/${expected.config.numCores} cores, ${expected.dialect ?? "strict"}): expected ${expected.error ?? "OK"}, got ${actual}`,
        ).toBe(true);
      }
    },
  );

  const testRs = files
    .map((f) => join(dirname(dirname(f)), "test.rs"))
    .find((f) => f.includes("/tool/microkit/tests/") && existsSync(f));
  const conformance = testRs === undefined ? [] : conformanceCases(readFileSync(testRs, "utf8"));

  it.skipIf(testRs === undefined)(
    "matches the microkit tool's conformance corpus (tests/test.rs)",
    () => {
      const testsDir = dirname(testRs as string);
      const mismatches: string[] = [];
      for (const c of conformance) {
        const actual = outcome(() =>
          loadSystemFile(join(testsDir, "sdf", c.file), {
            config: c.config,
            fileName: c.file,
            searchPath: [join(testsDir, "prefills")],
          }),
        );
        if (!matches(actual, c)) {
          mismatches.push(`${c.file}: expected ${c.error ?? "OK"}\n    got ${actual}`);
        }
      }
      const matched = conformance.length - mismatches.length;
      console.log(`conformance corpus: ${matched}/${conformance.length} cases match`);
      expect(conformance.length).toBeGreaterThan(140);
      expect(mismatches).toEqual([]);
    },
  );
});
