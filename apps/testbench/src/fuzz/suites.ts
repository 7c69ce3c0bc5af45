/**
 * The hostile suites of `pnpm fuzz` as batches a worker runs: `runs` scripts of one suite from
 * one seed, the failure (if any) shrunk and returned as a corpus entry. A deliberately broken variant
 * (`variant`) replaces a part with a deliberately wrong one, so a campaign is shown to fail.
 */
import type { HostileOp as ConsoleOp } from "@vmmux/virtio-console/testing";
import { replayConsole, runConsoleCampaign } from "@vmmux/virtio-console/testing";
import type { HostileOp as TransportOp } from "@vmmux/virtio-core/testing";
import { replayHostile, runHostileCampaign } from "@vmmux/virtio-core/testing";
import {
  brokenConsoleDefects,
  brokenSystemVariants,
  brokenTransport,
} from "../testing/fuzz-variants.js";
import type { CorpusEntry, SuiteName } from "./corpus.js";
import {
  runSystemCampaign,
  runSystemCase,
  type SystemRunReport,
  type SystemScript,
  shrinkSystemCase,
} from "./system.js";

/** Deliberately broken variants by suite: a transport that drops a notification, a console that sends writable buffers, a VMM that leaves a guest's access to unmapped memory unanswered. */
export const VARIANTS = {
  transport: { "dropped-notify": true },
  console: { "writable-buffers": true },
  system: { "unanswered-unmapped": true },
} as const satisfies Record<SuiteName, Record<string, true>>;

export interface BatchTask {
  readonly suite: SuiteName;
  readonly seed: number;
  readonly runs: number;
  readonly variant?: string;
}

export interface BatchResult {
  readonly suite: SuiteName;
  readonly seed: number;
  readonly scripts: number;
  readonly ops: number;
  /** The shrunk failure, ready for the corpus. */
  readonly entry?: CorpusEntry;
  /** system: one report per run (the other guest's bytes, every PD's state). */
  readonly systemRuns?: readonly SystemRunReport[];
}

function checkVariant(task: BatchTask): void {
  if (task.variant !== undefined && !(task.variant in VARIANTS[task.suite]))
    throw new RangeError(`suite ${task.suite} has no broken variant '${task.variant}'`);
}

export function runBatch(task: BatchTask): BatchResult {
  checkVariant(task);
  const base = { suite: task.suite, seed: task.seed };
  const found = (fcSeed?: number, path?: string) => ({
    campaignSeed: task.seed,
    ...(fcSeed === undefined ? {} : { fcSeed }),
    ...(path === undefined ? {} : { path }),
    ...(task.variant === undefined ? {} : { variant: task.variant }),
  });
  /** A script suite's shrunk counterexample as a corpus entry. */
  const scriptEntry = (
    suite: "transport" | "console",
    c:
      | {
          readonly profile: CorpusEntry["profile"];
          readonly script: CorpusEntry["script"];
          readonly violations: CorpusEntry["violations"];
          readonly seed?: number;
          readonly path?: string;
          readonly defects: Readonly<Record<string, boolean>>;
        }
      | undefined,
  ): { entry?: CorpusEntry } =>
    c === undefined
      ? {}
      : {
          entry: {
            format: "vmmux-fuzz/1",
            suite,
            profile: c.profile,
            script: c.script,
            violations: c.violations,
            found: { ...found(c.seed, c.path), defects: { ...c.defects } },
          },
        };
  switch (task.suite) {
    case "transport": {
      const transport = brokenTransport(task.variant);
      const r = runHostileCampaign({
        seed: task.seed,
        runs: task.runs,
        ...(transport === undefined ? {} : { transport }),
      });
      return {
        ...base,
        scripts: r.scripts,
        ops: r.ops,
        ...scriptEntry("transport", r.counterexample),
      };
    }
    case "console": {
      const r = runConsoleCampaign({
        seed: task.seed,
        runs: task.runs,
        defects: brokenConsoleDefects(task.variant),
      });
      return {
        ...base,
        scripts: r.scripts,
        ops: r.ops,
        ...scriptEntry("console", r.counterexample),
      };
    }
    case "system": {
      const variants = brokenSystemVariants(task.variant);
      const r = runSystemCampaign({
        seed: task.seed,
        runs: task.runs,
        ...(variants === undefined ? {} : { variants }),
      });
      const c = r.counterexample;
      const shrunk =
        c === undefined
          ? undefined
          : shrinkSystemCase(c, "hardened", undefined, variants === undefined ? {} : { variants });
      return {
        ...base,
        scripts: r.scripts,
        ops: r.ops,
        systemRuns: r.runs,
        ...(shrunk === undefined
          ? {}
          : {
              entry: {
                format: "vmmux-fuzz/1",
                suite: "system",
                profile: "hardened",
                scenarioSeed: shrunk.report.seed,
                script: shrunk.script.ops,
                probe: shrunk.script.probe,
                violations: shrunk.report.violations,
                found: found(),
              },
            }),
      };
    }
  }
}

/** Replay a corpus entry against the real code: its violations now (empty when it passes). */
export function replayEntry(entry: CorpusEntry): string[] {
  switch (entry.suite) {
    case "transport":
      return (
        replayHostile(entry.script as TransportOp[], { profile: entry.profile })?.violations ?? []
      );
    case "console":
      return (
        replayConsole(entry.script as ConsoleOp[], { profile: entry.profile })?.violations ?? []
      );
    case "system":
      return runSystemCase(
        entry.scenarioSeed ?? 0,
        entry.profile,
        entry.script === undefined
          ? undefined
          : { probe: entry.probe ?? true, ops: entry.script as SystemScript["ops"] },
      ).violations;
  }
}
