/**
 * What a person sees of a run: the muxed host terminal (the bytes that left the UART's TX
 * wire, colour codes and all), a readable report, machine-readable results, and the
 * artefacts (terminal as asciicast, timeline as Perfetto JSON) written atomically.
 */
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import {
  type Asciicast,
  type AsciicastEvent,
  formatAsciicast,
  writeFileAtomic,
} from "./asciicast.js";
import { inputAccount, inputAccountLines, typedEarly } from "./early-input/account.js";
import { type RunMetrics, runMetrics } from "./metrics.js";
import type { Judgement } from "./oracles.js";
import { writePerfettoFile } from "./report/perfetto-file.js";
import { CAST_QUIET_NS, CastGrouper, terminalHeader } from "./report/terminal-sink.js";
import type { RunResult } from "./run.js";
import { wireView } from "./stream/streamed.js";
import { WireStore } from "./stream/wire-store.js";

/** The wire as text (UTF-8), as a terminal on the other end shows it. */
export function terminalText(run: RunResult): string {
  const wire = wireView(run);
  if (wire instanceof WireStore) return new TextDecoder().decode(wire.bytes());
  return new TextDecoder().decode(Uint8Array.from({ length: wire.length }, (_, i) => wire.byte(i)));
}

/**
 * The host terminal as an asciicast: wire bytes grouped into an event whenever the line
 * was quiet for more than `quietNs` (default 2 ms), timed at the end of the group's first frame.
 */
export function terminalCast(run: RunResult, title: string, quietNs = CAST_QUIET_NS): Asciicast {
  const events: AsciicastEvent[] = [];
  const grouper = new CastGrouper((e) => events.push(e), quietNs);
  const wire = wireView(run);
  for (let i = 0; i < wire.length; i++) grouper.push(wire.byte(i), wire.end(i));
  grouper.finish();
  return { header: terminalHeader(title), events };
}

function seconds(s: number | null): string {
  return s === null ? "-" : `${s.toFixed(3)} s`;
}

function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows
    .map((r) =>
      r
        .map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!)))
        .join("  "),
    )
    .join("\n");
}

/** The human report printed after the terminal. */
export function formatReport(run: RunResult, metrics: RunMetrics = runMetrics(run)): string {
  const out: string[] = [];
  out.push(
    `scenario ${run.scenarioFile}  seed ${run.seed}  profile ${run.profile}  colour ${run.colour ? "on" : "off"}`,
  );
  out.push(
    `virtual time ${metrics.virtualTime.toFixed(6)} s, ${metrics.events} kernel events, ${run.idle ? "ran until idle" : "stopped at the duration limit"}`,
  );
  out.push("");
  const rows: string[][] = [
    [
      "guest",
      "written",
      "on wire",
      "1st byte at",
      "1st byte delay",
      "longest gap",
      "max latency",
      "received",
    ],
  ];
  for (const g of metrics.guests) {
    rows.push([
      g.name,
      String(g.bytesWritten),
      String(g.bytesOnWire),
      seconds(g.firstByteAt),
      seconds(g.timeToFirstByte),
      g.bytesOnWire < 2 ? "-" : seconds(g.longestGap),
      seconds(g.maxLatency),
      String(g.bytesReceived),
    ]);
  }
  rows.push([
    "total",
    String(metrics.guests.reduce((n, g) => n + g.bytesWritten, 0)),
    String(metrics.wireBytes),
    "",
    "",
    "",
    "",
    String(metrics.keyboardBytes),
  ]);
  out.push(table(rows));
  out.push(
    `wire: ${metrics.wireBytes} bytes = guests ${metrics.guests.reduce((n, g) => n + g.bytesOnWire, 0)} + virtualiser ${metrics.virtualiserBytes} (begin string, colour codes) + unattributed ${metrics.unattributedBytes}`,
  );
  out.push("");
  out.push("loss and stall points (sddf-serial §10):");
  const nonZero = (loss: Readonly<Record<string, number>>) =>
    Object.entries(loss)
      .filter(([, n]) => n !== 0)
      .map(([k, n]) => `${k}=${n}`);
  for (const g of metrics.guests) {
    const points = nonZero(g.loss);
    out.push(`  ${g.name}: ${points.length === 0 ? "none" : points.join(" ")}`);
  }
  const system = nonZero(metrics.loss);
  out.push(`  system: ${system.length === 0 ? "none" : system.join(" ")}`);
  const contained = nonZero(run.peerFaults ?? {});
  if (contained.length > 0) out.push(`  peer faults contained: ${contained.join(" ")}`);
  if (typedEarly(run))
    out.push("", "typed input by place:", ...inputAccountLines(inputAccount(run)));
  out.push(...schedulingLines(run));
  return out.join("\n");
}

/**
 * Who had the core (issue 13 item 2): per guest, the time it was runnable without running
 * (sampled at each progress step), and each thread's share of the run's virtual time.
 */
export function schedulingLines(run: RunResult): string[] {
  const out: string[] = [];
  const waits = run.starvation ?? [];
  if (waits.length > 0) {
    out.push("", "runnable without running (sampled each 100 ms of virtual time by default):");
    for (const w of waits)
      out.push(
        `  ${w.name}: ${(w.runnableNotRunning / 1e9).toFixed(3)} s; longest wait with work due ${(w.longestWait / 1e9).toFixed(3)} s`,
      );
  }
  const ran = run.threads.filter((t) => (t.runTime ?? 0) > 0);
  if (ran.length > 0 && run.virtualTime > 0) {
    const shares = ran
      .map((t) => ({ name: t.name, share: (t.runTime ?? 0) / run.virtualTime }))
      .sort((a, b) => b.share - a.share);
    const shown = shares.filter((t) => t.share >= 0.001);
    const rest = shares.length - shown.length;
    const parts = shown.map((t) => `${t.name} ${(t.share * 100).toFixed(1)}%`);
    if (rest > 0) parts.push(`${rest} ${shown.length > 0 ? "more " : ""}under 0.1%`);
    out.push(`share of the core: ${parts.join(", ")}`);
  }
  return out;
}

/** Oracle verdicts as text; returns the lines. */
export function formatJudgements(judgements: readonly Judgement[]): string {
  const out: string[] = [];
  for (const j of judgements) {
    const v = j.verdict;
    const state = v.ok
      ? "pass"
      : j.expected === "violation"
        ? "violation (expected finding)"
        : "VIOLATION";
    const mismatch = j.asExpected
      ? ""
      : j.expected === "violation"
        ? "  (expected a violation)"
        : "";
    const label = j.scope === undefined ? v.oracle : `${v.oracle} ${j.scope}`;
    out.push(`${label.padEnd(12)} ${state}${mismatch}`);
    for (const f of v.findings) out.push(`    ! ${f}`);
    for (const n of v.notes) out.push(`    - ${n}`);
  }
  return out.join("\n");
}

/** Machine-readable results (`--json`). */
export function runJson(run: RunResult, judgements?: readonly Judgement[]) {
  const metrics = runMetrics(run);
  return {
    scenario: run.scenarioFile,
    seed: run.seed,
    schedule: run.schedule,
    profile: run.profile,
    colour: run.colour,
    virtualTimeSeconds: metrics.virtualTime,
    events: metrics.events,
    idle: metrics.idle,
    digest: run.digest,
    wire: {
      bytes: metrics.wireBytes,
      virtualiserBytes: metrics.virtualiserBytes,
      unattributedBytes: metrics.unattributedBytes,
    },
    keyboardBytes: metrics.keyboardBytes,
    guests: metrics.guests,
    loss: metrics.loss,
    ...(typedEarly(run) ? { input: inputAccount(run) } : {}),
    ...(judgements === undefined
      ? {}
      : {
          oracles: judgements.map((j) => ({
            oracle: j.verdict.oracle,
            ok: j.verdict.ok,
            expected: j.expected,
            asExpected: j.asExpected,
            findings: j.verdict.findings,
            notes: j.verdict.notes,
          })),
        }),
  };
}

export interface ArtefactOptions {
  /** Write the timeline gzip-compressed, as `<name>.perfetto.json.gz` (default false). */
  readonly perfettoGzip?: boolean;
  /** The terminal cast was written as the run went (`TerminalCastWriter`): do not write it. */
  readonly castStreamed?: boolean;
}

/** Artefacts of a run, each written whole or not at all. Returns the paths written. */
export async function writeArtefacts(
  run: RunResult,
  dir: string,
  name: string,
  options: ArtefactOptions = {},
): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const written: string[] = [];
  if (options.castStreamed !== true) {
    const castPath = join(dir, `${name}.terminal.cast`);
    await writeFileAtomic(castPath, formatAsciicast(terminalCast(run, `vmmux replay of ${name}`)));
    written.push(castPath);
  }
  const trace = run.perfetto();
  if (trace !== undefined) {
    const tracePath = join(
      dir,
      `${name}.perfetto.json${options.perfettoGzip === true ? ".gz" : ""}`,
    );
    await writePerfettoFile(trace, tracePath);
    written.push(tracePath);
  }
  const jsonPath = join(dir, `${name}.report.json`);
  await writeFileAtomic(jsonPath, `${JSON.stringify(runJson(run), null, 2)}\n`);
  written.push(jsonPath);
  return written;
}
