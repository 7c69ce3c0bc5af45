/**
 * Hostile-guest campaigns for runners outside the test suite (a fuzz command, a corpus
 * replay): run N random scripts from a seed, or one given script, under the oracles of
 * `runHostile`, and return what was found as plain JSON. A failing script is shrunk by
 * fast-check first (scripts are variable-length lists of serialisable actions), so the
 * counterexample is the few actions that matter and replays with `replayHostile`.
 */
import fc from "fast-check";
import type { DefectSwitches, Profile } from "../profile.js";
import { HOSTILE_SCRIPT_MAX_LENGTH, hostileScriptArb } from "./arbitraries.js";
import {
  type HostileOp,
  type HostileOptions,
  runHostile,
  type TransportFactory,
} from "./hostile.js";

export interface HostileCampaignOptions {
  readonly seed: number;
  /** Random scripts to run (`examples` run in addition, first). */
  readonly runs: number;
  readonly maxLength?: number;
  /** Default `hardened`. Under `reference` only escaped exceptions fail a script. */
  readonly profile?: Profile;
  readonly defects?: Partial<DefectSwitches>;
  /** Hand-written scripts (a corpus) run before the random ones. */
  readonly examples?: readonly (readonly HostileOp[])[];
  /** A transport variant (not serialised into the result). */
  readonly transport?: TransportFactory;
  /** Shrink a failing script (default true); without, its prefix up to the violation is kept. */
  readonly shrink?: boolean;
}

/** A failing script and what it violated: JSON, replayable with `replayHostile`. */
export interface HostileCounterexample {
  readonly profile: Profile;
  readonly defects: Partial<DefectSwitches>;
  readonly script: HostileOp[];
  readonly violations: string[];
  /** fast-check's seed and shrink path (`fc.check(..., { seed, path })` reaches it again). */
  readonly seed?: number;
  readonly path?: string;
}

/** The outcome of a campaign: counts, and the shrunk counterexample if a script failed. */
export interface HostileCampaignResult {
  readonly seed: number;
  /** Scripts run before the first failure (or all of them). */
  readonly scripts: number;
  /** Actions run by those scripts. */
  readonly ops: number;
  readonly chainsTaken: number;
  readonly bytesTaken: number;
  readonly needsReset: number;
  readonly crashes: number;
  /** libvmm defects exercised, by name (reference). */
  readonly findings: Record<string, number>;
  readonly counterexample?: HostileCounterexample;
}

/** Run one script; the counterexample (the prefix up to the first violation) if it fails. */
export function replayHostile(
  script: readonly HostileOp[],
  options: HostileOptions,
): HostileCounterexample | undefined {
  const report = runHostile(script, options);
  if (report.violations.length === 0) return undefined;
  return {
    profile: options.profile,
    defects: { ...options.defects },
    script: [...(report.counterexample ?? script)],
    violations: report.violations,
  };
}

export function runHostileCampaign(options: HostileCampaignOptions): HostileCampaignResult {
  const hostile: HostileOptions = {
    profile: options.profile ?? "hardened",
    defects: options.defects ?? {},
    ...(options.transport === undefined ? {} : { transport: options.transport }),
  };
  let failing = false;
  let scripts = 0;
  let ops = 0;
  let chainsTaken = 0;
  let bytesTaken = 0;
  let needsReset = 0;
  let crashes = 0;
  const findings: Record<string, number> = {};
  const property = fc.property(
    hostileScriptArb(options.maxLength ?? HOSTILE_SCRIPT_MAX_LENGTH),
    (script) => {
      const report = runHostile(script, hostile);
      const failed = report.violations.length > 0;
      if (!failing) {
        // Counted until the first failure: shrinking reruns scripts that are not new work.
        failing = failed;
        scripts++;
        ops += report.ops;
        chainsTaken += report.chainsTaken;
        bytesTaken += report.bytesTaken;
        needsReset += report.needsReset;
        crashes += report.crashes;
        for (const [k, v] of report.findings) findings[k] = (findings[k] ?? 0) + v;
      }
      return !failed;
    },
  );
  const result = fc.check(property, {
    seed: options.seed,
    numRuns: options.runs + (options.examples?.length ?? 0),
    examples: (options.examples ?? []).map((script) => [[...script]]),
    endOnFailure: options.shrink === false,
  });
  const base = {
    seed: options.seed,
    scripts,
    ops,
    chainsTaken,
    bytesTaken,
    needsReset,
    crashes,
    findings,
  };
  if (!result.failed || result.counterexample === null) return base;
  const [script] = result.counterexample;
  const found = replayHostile(script, hostile);
  const counterexample: HostileCounterexample = {
    ...(found ?? {
      profile: hostile.profile,
      defects: { ...hostile.defects },
      script,
      violations: [String(result.errorInstance)],
    }),
    seed: result.seed,
    ...(result.counterexamplePath === null ? {} : { path: result.counterexamplePath }),
  };
  return { ...base, counterexample };
}
