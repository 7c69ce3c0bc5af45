/**
 * The smaller `vmmux` commands: `schema`, `record` and `live` (`sdf` is in
 * `../sdf-command.ts`, `gen` in `../gen/command.ts`).
 */
import type { Command } from "commander";
import type { Io } from "../commands.js";
import { liveSession } from "../live/live.js";
import { recordCommand } from "../record/index.js";
import { scenarioJsonSchema } from "../scenario.js";
import { visibleControls } from "../terminal-queries.js";
import {
  ExitRequest,
  parseCastVersion,
  parseProfile,
  parseSeconds,
  parseSeed,
  parseSpeed,
} from "./common.js";

export function registerSchemaCommand(program: Command, io: Io): void {
  program
    .command("schema")
    .description("print the scenario files' JSON Schema (traces/scenarios/scenario.schema.json)")
    .action(() => {
      io.out(`${JSON.stringify(scenarioJsonSchema(), null, 2)}\n`);
    });
}

export function registerRecordCommand(program: Command, io: Io): void {
  program
    .command("record")
    .description("record a command's console (e.g. QEMU -nographic) as asciicast")
    .requiredOption(
      "-o, --output <file>",
      "asciicast file to write (atomically, when the command exits)",
    )
    .option(
      "--timeout <seconds>",
      "stop the command after this long and keep the recording",
      parseSeconds,
    )
    .option("--cast-version <n>", "asciicast version to write: 2 (default) or 3", parseCastVersion)
    .argument("<command>", "the command, after `--`")
    .argument("[args...]", "its arguments")
    .passThroughOptions()
    .action(
      async (
        command: string,
        args: string[],
        flags: { output: string; timeout?: number; castVersion?: 2 | 3 },
      ) => {
        const r = await recordCommand({
          command,
          args,
          output: flags.output,
          ...(flags.timeout === undefined ? {} : { timeoutMs: flags.timeout * 1000 }),
          ...(flags.castVersion === undefined ? {} : { castVersion: flags.castVersion }),
          ...(io.record === undefined ? {} : io.record),
        });
        io.err(
          `vmmux record: ${r.cast.events.length} events to ${visibleControls(r.output)}; ${r.timedOut ? "stopped at the timeout; " : ""}exit status ${r.status}\n`,
        );
        if (r.status !== 0) throw new ExitRequest(r.status);
      },
    );
}

export function registerLiveCommand(program: Command, io: Io): void {
  program
    .command("live")
    .description(
      "your terminal is the UART: two simulated guests with shells; Ctrl+\\ <n> Enter switches, Ctrl+] q quits",
    )
    .option(
      "--scenario <file>",
      "run this scenario's system, knobs and guests (traces, then shells)",
    )
    .option("--profile <profile>", "reference | hardened (default: the scenario's)", parseProfile)
    .option("--seed <n>", "override the scenario's seed", parseSeed)
    .option("--speed <x>", "virtual seconds per wall-clock second (default 1)", parseSpeed)
    .option("--no-colour", "turn virt_tx's colour codes off")
    .action(
      async (flags: {
        scenario?: string;
        profile?: "reference" | "hardened";
        seed?: number;
        speed?: number;
        colour?: boolean;
      }) => {
        const result = await liveSession({
          ...(flags.scenario === undefined ? {} : { scenarioFile: flags.scenario }),
          ...(flags.profile === undefined ? {} : { profile: flags.profile }),
          ...(flags.seed === undefined ? {} : { seed: flags.seed }),
          ...(flags.speed === undefined ? {} : { speed: flags.speed }),
          ...(flags.colour === false ? { colour: false } : {}),
          ...(io.live ?? {}),
        });
        if (result.status !== 0) throw new ExitRequest(result.status);
      },
    );
}
