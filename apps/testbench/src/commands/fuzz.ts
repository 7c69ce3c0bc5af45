/**
 * `vmmux fuzz` (and `pnpm fuzz`, issue 11 item 2): the hostile campaigns — virtio transport,
 * console and the full dual-VMM system with a hostile guest — for a number of operations or
 * minutes per suite, on a worker pool, one shard of `--shard i/n`. Failures are shrunk and
 * written to `fuzz/corpus/<suite>/`; the exit code is 1 when any suite failed.
 */
import { appendFileSync } from "node:fs";
import { type Command, InvalidArgumentError } from "commander";
import type { Io } from "../commands.js";
import type { Shard } from "../explore/shard.js";
import { formatSummary, runFuzz } from "../fuzz/campaign.js";
import { SUITES, type SuiteName } from "../fuzz/corpus.js";
import { ExitRequest, parseSeed, parseShardFlag, parseWorkers } from "./common.js";

function parseSuite(value: string): readonly SuiteName[] {
  if (value === "all") return SUITES;
  if ((SUITES as readonly string[]).includes(value)) return [value as SuiteName];
  throw new InvalidArgumentError(`must be one of ${SUITES.join(", ")}, all`);
}

function parsePositive(value: string): number {
  const n = Number(value);
  if (!(Number.isFinite(n) && n > 0)) throw new InvalidArgumentError("must be a positive number");
  return n;
}

interface FuzzFlags {
  suite: readonly SuiteName[];
  ops?: number;
  minutes?: number;
  workers?: number;
  shard?: Shard;
  seed: number;
  broken?: string;
  corpus?: string;
  log?: string;
  keepGoing?: boolean;
}

export function registerFuzzCommand(program: Command, io: Io): void {
  program
    .command("fuzz")
    .description(
      "run the hostile campaigns (transport, console, system) and keep every shrunk failure in fuzz/corpus",
    )
    .option("--suite <name>", `${SUITES.join(", ")} or all`, parseSuite, SUITES)
    .option(
      "--ops <n>",
      "operations per suite (default 1000000; this shard's share)",
      parsePositive,
    )
    .option("--minutes <m>", "wall minutes per suite instead of --ops", parsePositive)
    .option("--workers <w>", "worker processes (0: this process; default every core)", parseWorkers)
    .option("--shard <i/n>", "run shard i of n of the campaign", parseShardFlag)
    .option("--seed <s>", "campaign seed", parseSeed, 1)
    .option(
      "--broken <variant>",
      "run a deliberately broken variant to show the campaign catches it (dropped-notify, writable-buffers)",
    )
    .option("--corpus <dir>", "write counterexamples under this directory instead of fuzz/corpus")
    .option("--log <file>", "append one JSON line per system run (other guest's bytes, PD states)")
    .option("--keep-going", "keep running a suite after its first failure")
    .action(async (flags: FuzzFlags) => {
      if (flags.ops !== undefined && flags.minutes !== undefined)
        throw new InvalidArgumentError("give --ops or --minutes, not both");
      const shard = flags.shard ?? { index: 1, count: 1 };
      io.out(
        `fuzz: suites ${flags.suite.join(", ")}; seed ${flags.seed}; shard ${shard.index}/${shard.count}; ${flags.minutes === undefined ? `${flags.ops ?? 1_000_000} ops` : `${flags.minutes} min`} per suite\n`,
      );
      let systemRuns = 0;
      let otherIntact = 0;
      let otherQueued = 0;
      const states = new Map<string, number>();
      const summary = await runFuzz({
        suites: flags.suite,
        seed: flags.seed,
        shard,
        ...(flags.ops === undefined ? {} : { ops: flags.ops }),
        ...(flags.minutes === undefined ? {} : { minutes: flags.minutes }),
        ...(flags.workers === undefined ? {} : { workers: flags.workers }),
        ...(flags.broken === undefined ? {} : { variant: flags.broken }),
        ...(flags.corpus === undefined ? {} : { corpusDir: flags.corpus }),
        ...(flags.keepGoing === true ? { keepGoing: true } : {}),
        onLine: (text) => io.out(`${text}\n`),
        onSystemRun: (r) => {
          systemRuns++;
          // Bytes still queued in order behind hostile output (sddf-serial §5.3, §5.5) are intact.
          const queued = r.other.queued;
          if (r.other.inOrder && r.other.delivered + queued === r.other.sent) otherIntact++;
          if (queued > 0) otherQueued++;
          for (const [pd, state] of Object.entries(r.pds))
            states.set(`${pd} ${state}`, (states.get(`${pd} ${state}`) ?? 0) + 1);
          if (flags.log !== undefined) appendFileSync(flags.log, `${JSON.stringify(r)}\n`);
        },
      });
      if (systemRuns > 0) {
        io.out(
          `system: the other guest's bytes all delivered or queued in order in ${otherIntact}/${systemRuns} runs (${otherQueued} with bytes still queued behind hostile output); PD end states: ${[...states].map(([s, n]) => `${s} ×${n}`).join(", ")}\n`,
        );
      }
      io.out(`${formatSummary(summary)}\n`);
      if (summary.suites.some((s) => s.failed > 0)) throw new ExitRequest(1);
    });
}
