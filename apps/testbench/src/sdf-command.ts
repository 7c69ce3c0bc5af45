/**
 * `vmmux sdf <file.system>`: validate a Microkit system file as the microkit tool would for a
 * given kernel build, and summarise it (DESIGN.md "Interfaces people use"). The options are
 * the parser's own switches (microkit reference §4.5 configurations, §1.6 dialect, prefill
 * search path); every error is printed with its `file:line:col`.
 */
import {
  AARCH64_CONFIG,
  loadSystemFile,
  locatedMessage,
  type PlatformConfig,
  type SdfDialect,
  SdfError,
  summariseSystem,
  systemToJson,
  X86_64_CONFIG,
} from "@vmmux/microkit-pd";
import { type Command, InvalidArgumentError, Option } from "commander";
import type { Io } from "./commands.js";
import { WiringError } from "./errors.js";
import { discoverSerialRoles, formatSerialRoles } from "./roles.js";

/** Kernel builds `--arch` names: the microkit tool's test configurations (reference §4.5). */
const ARCHES = { aarch64: AARCH64_CONFIG, x86_64: X86_64_CONFIG } as const;

export interface SdfFlags {
  readonly arch: keyof typeof ARCHES;
  readonly cores?: number;
  /** `true`/`false` from `--smc`/`--no-smc`; absent: the board's support is unknown. */
  readonly smc?: boolean;
  readonly dialect: SdfDialect;
  readonly searchPath?: readonly string[];
  readonly json?: boolean;
  readonly roles?: boolean;
}

/**
 * The kernel configuration the flags describe: the architecture's test configuration with the
 * core count and SMC forwarding given (`smc` undefined: not known for this board, §4.5).
 */
export function sdfConfig(
  arch: keyof typeof ARCHES,
  cores: number | undefined,
  smc: boolean | undefined,
): PlatformConfig {
  const base = ARCHES[arch];
  return { ...base, numCores: cores ?? base.numCores, armSmc: smc };
}

function parseCores(value: string): number {
  const cores = Number(value);
  // `cpu` is a u8 in the tool, so at most 256 cores can be named.
  if (!/^\d+$/.test(value) || cores < 1 || cores > 256) {
    throw new InvalidArgumentError("must be a whole number from 1 to 256");
  }
  return cores;
}

/** C0 and C1 control characters (not newline) as `\xNN`, so a hostile file cannot drive the terminal. */
export function escapeControls(text: string): string {
  return text.replace(
    /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/g,
    (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`,
  );
}

/**
 * Adds `sdf` to `program`. Exit status 0 with the summary (or `--json`) on stdout for a valid
 * file, 1 with one located error on stderr for an invalid one.
 */
export function registerSdfCommand(program: Command, io: Io): Command {
  return program
    .command("sdf")
    .description("validate a Microkit system file as the microkit tool would, and summarise it")
    .argument("<file>", "a .system file")
    .addOption(
      new Option("--arch <arch>", "kernel architecture")
        .choices(Object.keys(ARCHES))
        .default("aarch64"),
    )
    .option("--cores <n>", "number of cores of the kernel build (default 1)", parseCores)
    .option("--smc", 'the kernel forwards ARM SMC calls (smc="true" allowed)')
    .option("--no-smc", "the kernel was built without ARM SMC forwarding")
    .addOption(
      new Option("--dialect <dialect>", "strict: the current tool; legacy: also pre-1.4 files")
        .choices(["strict", "legacy"])
        .default("strict"),
    )
    .option(
      "-I, --search-path <dir>",
      "where prefill_path files are found, in order (repeatable; default: the file's directory)",
      (dir: string, dirs: string[] | undefined) => [...(dirs ?? []), dir],
    )
    .option("--json", "print the parsed system as JSON instead of the summary")
    .option(
      "--roles",
      "also show the serial roles vmmux finds (driver, virtualisers, clients in order, idle PDs)",
    )
    .action(function (this: Command, file: string, flags: SdfFlags) {
      // commander sets `smc` to true by default when `--no-smc` is defined; only an explicit
      // flag on the command line says anything about the board.
      const smc = this.getOptionValueSource("smc") === "cli" ? flags.smc : undefined;
      try {
        const { system, warnings } = loadSystemFile(file, {
          config: sdfConfig(flags.arch, flags.cores, smc),
          dialect: flags.dialect,
          ...(flags.searchPath === undefined ? {} : { searchPath: flags.searchPath }),
        });
        // JSON escapes C0 controls itself; C1 ones are escaped as JSON escapes.
        const text =
          flags.json === true
            ? JSON.stringify(systemToJson(system), null, 2).replace(
                /[\u007f-\u009f]/g,
                (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
              )
            : escapeControls(summariseSystem(system, warnings));
        io.out(`${text}\n`);
        if (flags.roles === true) {
          try {
            io.out(`${escapeControls(formatSerialRoles(discoverSerialRoles(system)))}\n`);
          } catch (err) {
            if (!(err instanceof WiringError)) throw err;
            this.error(`vmmux sdf: valid, but no serial roles: ${escapeControls(err.problem)}`, {
              exitCode: 1,
              code: "vmmux.sdf.roles",
            });
          }
        }
      } catch (err) {
        if (!(err instanceof SdfError)) throw err;
        this.error(`vmmux sdf: ${escapeControls(locatedMessage(err))}`, {
          exitCode: 1,
          code: `vmmux.sdf.${err.code}`,
        });
      }
    });
}
