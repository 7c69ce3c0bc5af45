/**
 * Console hostile-guest campaigns for runners outside the test suite (a fuzz command, a
 * corpus replay), in the shape of virtio-core's `runHostileCampaign`: N random scripts from a
 * seed, or one given script, under the oracles of {@link runHostile}, with what was found
 * returned as plain JSON. Scripts are variable-length lists of serialisable operations, so
 * fast-check shrinks a failing one to the operations that matter before it is reported.
 */
import fc from "fast-check";
import type { ConsoleDefectSwitches } from "../profile.js";
import { type HostileArbOptions, hostileOpArb } from "./arbitraries.js";
import { type HostileOp, type HostileRunOptions, runHostile } from "./hostile.js";

/** Longest random script: the length the CI property draws (550–800) at most. */
export const CONSOLE_SCRIPT_MAX_LENGTH = 800;

/**
 * A console hostile script of up to `maxLength` operations, lengths spread over the whole
 * range; the length is free so fast-check can shrink a failing script.
 */
export function consoleScriptArb(
  maxLength = CONSOLE_SCRIPT_MAX_LENGTH,
  options: HostileArbOptions = {},
): fc.Arbitrary<HostileOp[]> {
  return fc.array(hostileOpArb(options), { maxLength, size: "max" });
}

export interface ConsoleCampaignOptions {
  readonly seed: number;
  /** Random scripts to run (`examples` run in addition, first). */
  readonly runs: number;
  readonly maxLength?: number;
  /** Default `hardened`. Under `reference` only escaped exceptions and crashes are counted. */
  readonly profile?: HostileRunOptions["profile"];
  readonly defects?: Partial<ConsoleDefectSwitches>;
  /** Hand-written scripts (a corpus) run before the random ones. */
  readonly examples?: readonly (readonly HostileOp[])[];
  /** Shrink a failing script (default true); without, its prefix up to the violation is kept. */
  readonly shrink?: boolean;
}

/** A failing script and what it violated: JSON, replayable with {@link replayConsole}. */
export interface ConsoleCounterexample {
  readonly profile: HostileRunOptions["profile"];
  readonly defects: Partial<ConsoleDefectSwitches>;
  readonly script: HostileOp[];
  readonly violations: string[];
  /** fast-check's seed and shrink path (`fc.check(..., { seed, path })` reaches it again). */
  readonly seed?: number;
  readonly path?: string;
}

export interface ConsoleCampaignResult {
  readonly seed: number;
  /** Scripts run before the first failure (or all of them). */
  readonly scripts: number;
  /** Operations those scripts executed. */
  readonly ops: number;
  /** Bytes the sDDF side received from them. */
  readonly txBytes: number;
  readonly crashes: number;
  /** Console and transport defects exercised, by name (reference). */
  readonly findings: Record<string, number>;
  readonly counterexample?: ConsoleCounterexample;
}

/** Run one script; the counterexample (the prefix up to the failing operation) if it fails. */
export function replayConsole(
  script: readonly HostileOp[],
  options: HostileRunOptions,
): ConsoleCounterexample | undefined {
  const report = runHostile(script, options);
  if (report.violations.length === 0) return undefined;
  return {
    profile: options.profile,
    defects: { ...options.defects },
    // The run stops at its first violation (or checks the tail after the last operation).
    script: script.slice(0, Math.max(report.executed, 1)),
    violations: report.violations,
  };
}

export function runConsoleCampaign(options: ConsoleCampaignOptions): ConsoleCampaignResult {
  const run: HostileRunOptions = {
    profile: options.profile ?? "hardened",
    ...(options.defects === undefined ? {} : { defects: options.defects }),
  };
  let failing = false;
  let scripts = 0;
  let ops = 0;
  let txBytes = 0;
  let crashes = 0;
  const findings: Record<string, number> = {};
  const property = fc.property(consoleScriptArb(options.maxLength), (script) => {
    const report = runHostile(script, run);
    const failed = report.violations.length > 0;
    if (!failing) {
      // Counted until the first failure: shrinking reruns scripts that are not new work.
      failing = failed;
      scripts++;
      ops += report.executed;
      txBytes += report.txBytes;
      if (report.crashed) crashes++;
      for (const f of report.findings) findings[f] = (findings[f] ?? 0) + 1;
    }
    return !failed;
  });
  const result = fc.check(property, {
    seed: options.seed,
    numRuns: options.runs + (options.examples?.length ?? 0),
    examples: (options.examples ?? []).map((script) => [[...script]]),
    endOnFailure: options.shrink === false,
  });
  const base = { seed: options.seed, scripts, ops, txBytes, crashes, findings };
  if (!result.failed || result.counterexample === null) return base;
  const [script] = result.counterexample;
  const found = replayConsole(script, run);
  const counterexample: ConsoleCounterexample = {
    ...(found ?? {
      profile: run.profile,
      defects: { ...run.defects },
      script,
      violations: [String(result.errorInstance)],
    }),
    seed: result.seed,
    ...(result.counterexamplePath === null ? {} : { path: result.counterexamplePath }),
  };
  return { ...base, counterexample };
}
