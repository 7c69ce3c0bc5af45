/**
 * `vmmux replay <scenario>` (DESIGN.md "Interfaces people use"): run it, show the muxed
 * terminal as the wire produces it, print the report, write the artefacts. The terminal text
 * goes through the query filter (`terminal-queries.ts`) when stdout is a terminal, so the
 * user's terminal never answers the recorded guests' queries into the shell (issue 9 item 1);
 * `--out` is checked before the run and written as one set (`output-dir.ts`); its Perfetto
 * timeline is streamed (folded) into the set as the run goes and the HTML report's timeline is
 * a bounded summary made alongside (issue 12 item 2), so no event log is kept.
 */
import { statSync, writeFileSync } from "node:fs";
import { basename, extname } from "node:path";
import type { Command } from "commander";
import type { Io } from "../commands.js";
import { OutputDir } from "../output-dir.js";
import { runPrepared } from "../real/prepare.js";
import {
  renderHtmlReport,
  reportInputOfRun,
  reportPageOfRun,
  TerminalTranscript,
  TimelineSummary,
  writeHtmlReport,
} from "../report/index.js";
import { castFileToVersion3, TerminalCastWriter, terminalHeader } from "../report/terminal-sink.js";
import { formatReport, runJson, writeArtefacts } from "../report.js";
import { idleNote } from "../roles.js";
import type { RunOptions, RunResult } from "../run.js";
import {
  type QueryMode,
  querySummary,
  TerminalSink,
  visibleControls,
} from "../terminal-queries.js";
import {
  describeTimelineWindow,
  ExitRequest,
  NO_FAST_FORWARD_HELP,
  Progress,
  parseCastVersion,
  parseQueryMode,
  parseSeed,
  parseTimelineWindow,
  prepareScenario,
  type RunFlags,
  replayCommand,
  type TimelineWindowFlag,
} from "./common.js";

export interface ArtefactFlags {
  readonly out?: string;
  readonly castVersion?: 2 | 3;
  /** Write the Perfetto timeline gzip-compressed (`<name>.perfetto.json.gz`). */
  readonly perfettoGz?: boolean;
  /** `false` from `--no-trace-folding`: every kernel record in the Perfetto timeline. */
  readonly traceFolding?: boolean;
  /** `--timeline-window`: the Perfetto timeline holds only this window of virtual time. */
  readonly timelineWindow?: TimelineWindowFlag;
}

/** What a run with `--out` streams into the artefact set as it goes. */
export interface StreamedArtefacts {
  /** The HTML report's timeline, fed every trace event the Perfetto file gets. */
  readonly summary: TimelineSummary;
  /**
   * Run options that stream the Perfetto file and the terminal cast (v2; `--cast-version 3`
   * rewrites it after the run) into `out` and feed the summary and the transcript: no event
   * log and no wire kept.
   */
  readonly runOptions: Pick<
    RunOptions,
    | "retainLog"
    | "perfettoTap"
    | "perfettoFile"
    | "perfettoFold"
    | "perfettoWindow"
    | "keepWire"
    | "onWire"
  >;
  /** The terminal cast, written as the wire goes. */
  readonly cast: TerminalCastWriter;
  /** What the HTML report shows of the terminal besides the recording. */
  readonly transcript: TerminalTranscript;
}

/**
 * Start the artefacts a run streams (before the run; `out` already checked). `onWire` is
 * called after the cast writer for each wire character (the live terminal).
 */
export function streamedArtefacts(
  out: OutputDir,
  file: string,
  flags: ArtefactFlags,
  onWire?: RunOptions["onWire"],
): StreamedArtefacts {
  const name = basename(file, extname(file));
  const summary = new TimelineSummary();
  const transcript = new TerminalTranscript();
  const cast = new TerminalCastWriter(
    out.file(`${name}.terminal.cast`),
    castTitle(name),
    2,
    transcript.add,
  );
  const castWire = cast.onWire;
  const window = flags.timelineWindow;
  return {
    summary,
    cast,
    transcript,
    runOptions: {
      retainLog: false,
      keepWire: false,
      onWire:
        onWire === undefined
          ? castWire
          : (byte, tag, start, end) => {
              castWire(byte, tag, start, end);
              onWire(byte, tag, start, end);
            },
      perfettoTap: (e) => summary.addTrace(e),
      perfettoFile: out.file(`${name}.perfetto.json${flags.perfettoGz === true ? ".gz" : ""}`),
      perfettoFold: flags.traceFolding !== false,
      ...(window === undefined
        ? {}
        : {
            perfettoWindow: {
              ...(window.fromNs === undefined ? {} : { fromNs: window.fromNs }),
              ...(window.toNs === undefined ? {} : { toNs: window.toNs }),
            },
          }),
    },
  };
}

/** Artefacts in the order they are listed. */
const ARTEFACT_ORDER = [".terminal.cast", ".perfetto.json", ".report.json", ".report.html"];
const artefactRank = (path: string) => ARTEFACT_ORDER.findIndex((x) => path.includes(x));

/** The artefact options `replay` and `check` share. */
export function artefactOptions(command: Command): Command {
  return command
    .option(
      "--cast-version <n>",
      "asciicast version of the terminal artefact: 2 or 3",
      parseCastVersion,
    )
    .option("--perfetto-gz", "write the timeline gzip-compressed (.perfetto.json.gz)")
    .option(
      "--no-trace-folding",
      "write every kernel record to the timeline instead of folding repeating cycles",
    )
    .option(
      "--timeline-window <from:to>",
      "write only these virtual seconds of the run to the Perfetto timeline (e.g. 300:305, " +
        "300: or :305; slices across an edge are clipped); results and report are the whole run's",
      parseTimelineWindow,
    );
}

/** `--timeline-window` without `--out`: nothing would be written (exit 2, before the run). */
export function checkTimelineWindow(command: string, flags: ArtefactFlags, io: Io): void {
  if (flags.timelineWindow !== undefined && flags.out === undefined) {
    io.err(`vmmux ${command}: --timeline-window needs --out <dir>\n`);
    throw new ExitRequest(2);
  }
}

/** Perfetto files larger than this get {@link timelineHint}'s line: a viewer struggles with them. */
export const TIMELINE_HINT_BYTES = 256 * 1024 * 1024;

/**
 * The line suggesting `--timeline-window` (and `--perfetto-gz`) when the whole run's Perfetto
 * file among `written` is larger than `limit` bytes; undefined when it is not or a window was
 * given.
 */
export function timelineHint(
  written: readonly string[],
  flags: ArtefactFlags,
  limit = TIMELINE_HINT_BYTES,
): string | undefined {
  if (flags.timelineWindow !== undefined) return undefined;
  const file = written.find((path) => path.includes(".perfetto.json"));
  if (file === undefined) return undefined;
  const size = statSync(file).size;
  if (size <= limit) return undefined;
  const mib = Math.round(size / 2 ** 20);
  const gz = flags.perfettoGz === true ? "" : " (and --perfetto-gz to compress it)";
  return `vmmux: the timeline is ${mib} MiB, more than ui.perfetto.dev opens well; --timeline-window from:to writes only those virtual seconds of it${gz}\n`;
}

/**
 * Write a run's artefacts (terminal cast, Perfetto timeline, report JSON, HTML report) into
 * `out`'s staging directory and commit them as one set; returns the final paths.
 * `extraJson` replaces the report JSON (`check` adds its verdicts); `streamed`: the run
 * streamed its timeline ({@link streamedArtefacts}).
 */
export async function writeRunArtefacts(
  out: OutputDir,
  run: RunResult,
  file: string,
  flags: ArtefactFlags & RunFlags,
  extraJson?: unknown,
  streamed?: StreamedArtefacts,
): Promise<string[]> {
  const name = basename(file, extname(file));
  const window = flags.timelineWindow;
  // The report says which part of the run the timeline file holds (the rest is the whole run's).
  const json =
    window === undefined
      ? extraJson
      : {
          ...((extraJson as object | undefined) ?? runJson(run)),
          timelineWindow: { fromSeconds: window.fromSeconds, toSeconds: window.toSeconds },
        };
  const windowLine =
    window === undefined
      ? []
      : [{ label: "Perfetto timeline", value: describeTimelineWindow(window) }];
  try {
    await run.streamed;
    await streamed?.cast.close();
    const staged = await writeArtefacts(run, out.stagingDir(), name, {
      perfettoGzip: flags.perfettoGz === true,
      castStreamed: streamed !== undefined,
    });
    const cast = streamed?.cast.path ?? staged.find((p) => p.endsWith(".terminal.cast"));
    if (json !== undefined) {
      writeFileSync(out.file(`${name}.report.json`), `${JSON.stringify(json, null, 2)}\n`);
    }
    const options = {
      replayCommand: replayCommand(file, run.seed, flags.schedule),
      ...(streamed === undefined
        ? {}
        : { timeline: streamed.summary.timeline(run.virtualTime, run.threads) }),
    };
    const html = out.file(`${name}.report.html`);
    if (streamed === undefined) {
      const input = reportInputOfRun(run, options);
      writeFileSync(
        html,
        renderHtmlReport({ ...input, totals: [...(input.totals ?? []), ...windowLine] }),
      );
    } else {
      const whole = reportPageOfRun(run, options);
      const page = { ...whole, totals: [...(whole.totals ?? []), ...windowLine] };
      await writeHtmlReport(html, page, {
        ...streamed.transcript.facts(),
        header: terminalHeader(page.title),
        castFile: streamed.cast.path,
      });
    }
    // The report embeds v2 (absolute times), so the file is rewritten after it.
    if (flags.castVersion === 3 && cast !== undefined) await castFileToVersion3(cast);
    return out.commit().sort((a, b) => artefactRank(a) - artefactRank(b));
  } finally {
    await streamed?.cast.abort();
    out.abort();
  }
}

/** The terminal cast's title (its header's). */
const castTitle = (name: string) => `vmmux replay of ${name}`;

export function registerReplayCommand(program: Command, io: Io): void {
  const command = program
    .command("replay")
    .description("run a scenario, show the muxed terminal, print a report, write artefacts")
    .argument("<scenario>", "a scenario .json file")
    .option(
      "--out <dir>",
      "write the terminal (asciicast), timeline (Perfetto JSON) and report here",
    )
    .option("--json", "print machine-readable results instead of the terminal and report")
    .option("--no-colour", "turn virt_tx's colour codes off for this run")
    .option("--seed <n>", "override the scenario's seed", parseSeed)
    .option("--no-fast-forward", NO_FAST_FORWARD_HELP)
    .option("--schedule <seed>", "perturb the schedule as `check --explore` does", parseSeed)
    .option(
      "--queries <mode>",
      "terminal queries in guest output (cursor position, device attributes, colours): " +
        "show (as text), drop, or raw (sent to your terminal, which answers them into " +
        "your shell); default drop on a terminal, raw otherwise",
      parseQueryMode,
    );
  artefactOptions(command).action(
    async (
      file: string,
      flags: RunFlags & ArtefactFlags & { json?: boolean; queries?: QueryMode },
    ) => {
      checkTimelineWindow("replay", flags, io);
      const scenario = prepareScenario(file, flags);
      const out = flags.out === undefined ? undefined : OutputDir.prepare(flags.out);
      let streamed: StreamedArtefacts | undefined;
      let run: RunResult | undefined;
      try {
        // The terminal is written as the wire produces it (it is the progress); with --json,
        // the progress line stands in for it.
        const mode = flags.queries ?? (io.isTty ? "drop" : "raw");
        const terminal = flags.json === true ? undefined : new TerminalSink(io.out, mode);
        const progress = new Progress(io, "vmmux");
        const showProgress = progress.phase("");
        const toTerminal =
          terminal === undefined ? undefined : (byte: number) => terminal.byte(byte);
        streamed = out === undefined ? undefined : streamedArtefacts(out, file, flags, toTerminal);
        run = await runPrepared(scenario, {
          recordEvents: out !== undefined,
          // The report and the artefacts are made from what the run streamed (so a long
          // replay's memory does not grow with its output).
          keepWire: false,
          ...(toTerminal === undefined ? {} : { onWire: toTerminal }),
          ...streamed?.runOptions,
          ...(flags.schedule === undefined ? {} : { schedule: { seed: flags.schedule } }),
          onProgress: (now, limit) => {
            if (terminal === undefined) showProgress(now, limit);
            else terminal.flush();
          },
        });
        progress.clear();
        if (terminal === undefined) {
          io.out(`${JSON.stringify(runJson(run), null, 2)}\n`);
        } else {
          terminal.end();
          io.out(`\x1b[0m\n${"─".repeat(72)}\n${formatReport(run)}\n${idleNote(run)}`);
          const summary = querySummary(terminal.filter, mode);
          if (summary !== undefined) io.err(`vmmux: ${summary}\n`);
        }
        if (out !== undefined) {
          const written = await writeRunArtefacts(out, run, file, flags, undefined, streamed);
          (flags.json === true ? io.err : io.out)(
            `artefacts: ${visibleControls(written.join(", "))}\n`,
          );
          const hint = timelineHint(written, flags);
          if (hint !== undefined) io.err(hint);
        }
      } finally {
        // Nothing half-written stays behind when the run fails (a no-op once committed); the
        // timeline is moved into the staging directory first, so that move fails no one unheard.
        await run?.streamed.catch(() => undefined);
        await streamed?.cast.abort();
        out?.abort();
      }
    },
  );
}
