/**
 * The self-contained HTML report of a run (DESIGN.md "Interfaces people use", artefacts):
 * a player for the muxed host terminal, a timeline of which PD or vCPU ran when, and the
 * numbers (per-guest bytes, time to first byte, longest gap, losses by named loss point,
 * oracle verdicts, seed and replay command). One file, no network: every script and style is
 * inline and a Content-Security-Policy forbids loading anything else. The same input always
 * gives the same page.
 */
import { type Asciicast, formatAsciicast, outputText } from "../asciicast.js";
import { CLIENT_SCRIPT } from "./client.js";
import { ReportError } from "./errors.js";
import { escapeHtml, jsonForScript, stripTerminalControls } from "./escape.js";
import { playerAssets } from "./player-assets.js";
import {
  formatSeconds,
  LANE_GAP,
  LANE_HEIGHT,
  layoutTimeline,
  renderTimelineSvg,
  TIMELINE_WIDTH,
  type Timeline,
  type TimelineLayout,
  ticks,
} from "./timeline.js";

/** What the report shows of one guest; `GuestMetrics` of a replay fits as it is. */
export interface ReportGuest {
  readonly name: string;
  /** Bytes the guest wrote. */
  readonly bytesWritten: number;
  /** Bytes attributed to it on the UART's TX wire. */
  readonly bytesOnWire: number;
  /** Seconds from its first output request to its first byte on the wire; `null`: none. */
  readonly timeToFirstByte: number | null;
  /** Longest time between two of its bytes on the wire, seconds. */
  readonly longestGap: number;
  /** Bytes by named loss or stall point. */
  readonly loss: Readonly<Record<string, number>>;
}

/** One oracle's verdict; the testbench's `Verdict` fits, with `asExpected` from its `Judgement`. */
export interface ReportVerdict {
  readonly oracle: string;
  readonly ok: boolean;
  /** The outcome is what the scenario expects (an expected violation is a finding). */
  readonly asExpected?: boolean;
  readonly findings: readonly string[];
  readonly notes?: readonly string[];
}

export interface HtmlReportInput {
  readonly title: string;
  readonly scenario?: string;
  readonly seed: number | string;
  readonly profile?: string;
  /** The command that reruns exactly this run. */
  readonly replayCommand: string;
  /** Virtual seconds the run lasted. */
  readonly virtualTime?: number;
  /** The muxed host terminal (what left the UART's TX wire). */
  readonly terminal: Asciicast;
  readonly timeline?: Timeline;
  readonly guests: readonly ReportGuest[];
  /** Loss and stall points outside the guests, by name. */
  readonly loss?: Readonly<Record<string, number>>;
  /** Further figures shown as they are (wire bytes, kernel events, ...). */
  readonly totals?: readonly { readonly label: string; readonly value: string | number }[];
  readonly verdicts?: readonly ReportVerdict[];
}

const STYLE = `
:root { color-scheme: light; --ink: #1d2330; --muted: #5c6577; --line: #d9dee7; --bad: #b3261e; --good: #1e7a3c; --warn: #8a5a00; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--ink); background: #f6f7f9; }
main { max-width: 1180px; margin: 0 auto; padding: 20px 24px 48px; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 16px; margin: 28px 0 10px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
.meta { color: var(--muted); margin: 0; }
.meta b { color: var(--ink); font-weight: 600; }
.card { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 12px; }
#player { min-height: 120px; }
details { margin-top: 10px; }
summary { cursor: pointer; color: var(--muted); }
pre { margin: 8px 0 0; padding: 10px; background: #10141c; color: #e6e9ef; border-radius: 4px; overflow: auto; max-height: 420px; font: 12px/1.35 ui-monospace, "DejaVu Sans Mono", monospace; white-space: pre-wrap; word-break: break-all; }
code { font: 12px ui-monospace, "DejaVu Sans Mono", monospace; }
table { border-collapse: collapse; width: 100%; background: #fff; }
th, td { text-align: left; padding: 5px 10px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-weight: 600; color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .03em; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.zero { color: #a0a7b4; }
.pass { color: var(--good); font-weight: 600; }
.violation { color: var(--bad); font-weight: 600; }
.finding { color: var(--warn); font-weight: 600; }
ul.findings { margin: 0; padding-left: 18px; }
ul.notes { margin: 0; padding-left: 18px; color: var(--muted); }
.timeline { display: grid; grid-template-columns: max-content 1fr; column-gap: 10px; align-items: start; }
.captions div { height: ${LANE_HEIGHT}px; margin-bottom: ${LANE_GAP}px; font: 12px/${LANE_HEIGHT}px ui-monospace, "DejaVu Sans Mono", monospace; white-space: nowrap; max-width: 34ch; overflow: hidden; text-overflow: ellipsis; }
svg.lanes { display: block; width: 100%; }
svg.lanes .lane-bg { fill: #eef1f5; }
svg.lanes { cursor: crosshair; }
svg.lanes .arrows line { stroke: #1d2330; stroke-opacity: .55; stroke-width: 1; }
svg.lanes .playhead { fill: #b3261e; pointer-events: none; }
.axis { position: relative; height: 18px; border-top: 1px solid var(--muted); font-size: 11px; color: var(--muted); }
.axis .tick { position: absolute; top: 0; padding-left: 3px; border-left: 1px solid var(--muted); white-space: nowrap; }
.axis .tick.end { padding: 0 3px 0 0; border-left: none; border-right: 1px solid var(--muted); transform: translateX(-100%); }
.controls { display: flex; gap: 18px; align-items: center; margin-bottom: 10px; color: var(--muted); flex-wrap: wrap; }
.controls input { vertical-align: middle; }
.empty { color: var(--muted); font-style: italic; }
`;

/**
 * The browser may load nothing from anywhere: inline scripts and styles, WebAssembly the
 * player compiles from its own inline bytes, and `blob:`/`data:` for what it makes itself.
 */
const CSP = [
  "default-src 'none'",
  "script-src 'unsafe-inline' 'wasm-unsafe-eval'",
  "style-src 'unsafe-inline'",
  "img-src data:",
  "font-src data:",
  "worker-src blob:",
  "connect-src data: blob:",
].join("; ");

function checkNumber(place: string, value: number | null | undefined, nullable = false): void {
  if (value === null && nullable) return;
  if (typeof value !== "number" || !Number.isFinite(value)) {
    throw new ReportError("REPORT_INVALID_INPUT", place, `must be a finite number, got ${value}`);
  }
}

function validate(input: ReportPageInput): void {
  input.guests.forEach((g, i) => {
    checkNumber(`guests[${i}].bytesWritten`, g.bytesWritten);
    checkNumber(`guests[${i}].bytesOnWire`, g.bytesOnWire);
    checkNumber(`guests[${i}].timeToFirstByte`, g.timeToFirstByte, true);
    checkNumber(`guests[${i}].longestGap`, g.longestGap);
    for (const [point, n] of Object.entries(g.loss)) checkNumber(`guests[${i}].loss.${point}`, n);
  });
  for (const [point, n] of Object.entries(input.loss ?? {})) checkNumber(`loss.${point}`, n);
  if (input.virtualTime !== undefined) checkNumber("virtualTime", input.virtualTime);
}

const seconds = (s: number | null): string => (s === null ? "–" : formatSeconds(s));

function numberCell(n: number): string {
  return `<td class="num${n === 0 ? " zero" : ""}">${n}</td>`;
}

function guestsTable(guests: readonly ReportGuest[]): string {
  if (guests.length === 0) return `<p class="empty">no guests</p>`;
  const rows = guests.map((g) => {
    const losses = Object.entries(g.loss).filter(([, n]) => n !== 0);
    const lossText =
      losses.length === 0
        ? `<span class="zero">none</span>`
        : losses.map(([p, n]) => `${escapeHtml(p)}&nbsp;=&nbsp;${n}`).join(", ");
    return `<tr><td>${escapeHtml(g.name)}</td>${numberCell(g.bytesWritten)}${numberCell(g.bytesOnWire)}<td class="num">${seconds(g.timeToFirstByte)}</td><td class="num">${seconds(g.longestGap)}</td><td>${lossText}</td></tr>`;
  });
  return `<table id="guests"><thead><tr><th>guest</th><th class="num">written</th><th class="num">on the wire</th><th class="num">time to first byte</th><th class="num">longest gap</th><th>losses by point</th></tr></thead><tbody>${rows.join("")}</tbody></table>`;
}

function lossTable(guests: readonly ReportGuest[], loss: Readonly<Record<string, number>>): string {
  const points = new Set<string>([
    ...Object.keys(loss),
    ...guests.flatMap((g) => Object.keys(g.loss)),
  ]);
  if (points.size === 0) return "";
  const header = `<tr><th>loss or stall point</th>${guests.map((g) => `<th class="num">${escapeHtml(g.name)}</th>`).join("")}<th class="num">system</th></tr>`;
  const rows = [...points].map((point) => {
    // Own keys only: a point named like an Object.prototype member must not read one.
    const cell = (counts: Readonly<Record<string, number>>) =>
      Object.hasOwn(counts, point) ? numberCell(counts[point]!) : `<td class="num zero">–</td>`;
    return `<tr><td><code>${escapeHtml(point)}</code></td>${guests.map((g) => cell(g.loss)).join("")}${cell(loss)}</tr>`;
  });
  return `<table id="losses"><thead>${header}</thead><tbody>${rows.join("")}</tbody></table>`;
}

function verdictStatus(v: ReportVerdict): { text: string; cls: string } {
  if (v.ok)
    return v.asExpected === false
      ? { text: "unexpected pass", cls: "violation" }
      : { text: "pass", cls: "pass" };
  return v.asExpected === true
    ? { text: "expected finding", cls: "finding" }
    : { text: "violation", cls: "violation" };
}

function verdictsTable(verdicts: readonly ReportVerdict[]): string {
  if (verdicts.length === 0) return `<p class="empty">no oracle was run</p>`;
  const list = (items: readonly string[] | undefined, cls: string) =>
    items && items.length > 0
      ? `<ul class="${cls}">${items.map((f) => `<li>${escapeHtml(f)}</li>`).join("")}</ul>`
      : "";
  const rows = verdicts.map((v) => {
    const status = verdictStatus(v);
    return `<tr><td>${escapeHtml(v.oracle)}</td><td class="${status.cls}">${status.text}</td><td>${list(v.findings, "findings")}${list(v.notes, "notes")}</td></tr>`;
  });
  return `<table id="verdicts"><thead><tr><th>oracle</th><th>verdict</th><th>findings and notes</th></tr></thead><tbody>${rows.join("")}</tbody></table>`;
}

function timelineSection(layout: TimelineLayout | undefined): string {
  if (layout === undefined || layout.lanes.length === 0) {
    return `<p class="empty">no timeline was recorded for this run</p>`;
  }
  const captions = layout.lanes
    .map((lane) => {
      const share =
        layout.end > layout.start
          ? ` ${Math.round((100 * lane.busy) / (layout.end - layout.start))}%`
          : "";
      return `<div title="${escapeHtml(lane.caption)}: busy${share}">${escapeHtml(lane.caption)}</div>`;
    })
    .join("");
  const axis = ticks(layout.start, layout.end)
    .map((t) => {
      const left =
        layout.end > layout.start ? (100 * (t - layout.start)) / (layout.end - layout.start) : 0;
      return `<span class="tick${left > 92 ? " end" : ""}" style="left:${left.toFixed(3)}%">${escapeHtml(formatSeconds(t))}</span>`;
    })
    .join("");
  return `<div class="controls"><label>zoom <input id="tl-zoom" type="range" min="0" max="6" step="0.25" value="0"></label><label>pan <input id="tl-pan" type="range" min="0" max="1000" value="0"></label>${layout.arrows.length > 0 ? `<label><input id="tl-arrows" type="checkbox"> notifications (${layout.arrows.length}${layout.arrowsOmitted > 0 ? ` of ${layout.arrows.length + layout.arrowsOmitted}` : ""})</label>` : ""}<span id="tl-view">${escapeHtml(`${formatSeconds(layout.start)} – ${formatSeconds(layout.end)}`)}</span></div>
<div class="timeline card"><div class="captions">${captions}</div><div>${renderTimelineSvg(layout)}<div id="timeline-axis" class="axis">${axis}</div></div></div>`;
}

/**
 * The host terminal as plain text, for reading and searching without the player: `shown`
 * holds its first characters (all of them, or at least {@link TRANSCRIPT_LIMIT}), `length`
 * counts them all.
 */
export function transcriptHtml(shown: string, length: number): string {
  if (length <= TRANSCRIPT_LIMIT) return escapeHtml(shown);
  const omitted = length - TRANSCRIPT_LIMIT;
  return `${escapeHtml(shown.slice(0, TRANSCRIPT_LIMIT))}\n[... ${omitted} more characters; the player has all of them]`;
}

/** What the page shows of the terminal besides the recording itself. */
export interface TerminalFacts {
  /** Events in the recording. */
  readonly events: number;
  /** Time of its last event, seconds; `undefined` when it has none. */
  readonly lastTime: number | undefined;
  /** The transcript as HTML ({@link transcriptHtml}). */
  readonly transcript: string;
}

/** The report's input without the recording ({@link reportPage} takes it apart). */
export type ReportPageInput = Omit<HtmlReportInput, "terminal">;

function terminalFacts(cast: Asciicast): TerminalFacts {
  const text = stripTerminalControls(outputText(cast));
  return {
    events: cast.events.length,
    lastTime: cast.events.at(-1)?.time,
    transcript: transcriptHtml(text, text.length),
  };
}

/** The embedded data begins with the recording's text, so the page can be cut there. */
const CAST_OPEN = '{"cast":"';

/** Characters of plain text shown; the recording itself is embedded whole for the player. */
export const TRANSCRIPT_LIMIT = 1_000_000;

/** Render the report; throws {@link ReportError} for numbers or spans that cannot be drawn. */
export function renderHtmlReport(input: HtmlReportInput): string {
  return renderHtmlReportWith(input, jsonForScript);
}

/**
 * The renderer with its data encoder as a parameter, so a test can give it a plain
 * `JSON.stringify` and show that the escaping property fails without `jsonForScript`. Not exported from
 * the package.
 */
export function renderHtmlReportWith(
  input: HtmlReportInput,
  encodeJson: (value: unknown) => string,
): string {
  const [before, after] = reportPage(input, terminalFacts(input.terminal), encodeJson);
  return before + encodeJson(formatAsciicast(input.terminal)).slice(1, -1) + after;
}

/**
 * The page around the recording: the text before and after the recording's asciicast text
 * inside the embedded JSON string. `encodeJson` of a string gives it quoted, so the whole page
 * is `before + encodeJson(castText).slice(1, -1) + after`, and the cast text may be encoded
 * in pieces cut between lines (`html-stream.ts`). Throws {@link ReportError} as the renderer.
 */
export function reportPage(
  input: ReportPageInput,
  terminal: TerminalFacts,
  encodeJson: (value: unknown) => string,
): readonly [string, string] {
  validate(input);
  const layout = input.timeline ? layoutTimeline(input.timeline) : undefined;
  const assets = playerAssets();
  const data = {
    cast: "",
    // Just after the last event, so the poster frame includes it.
    posterAt: (terminal.lastTime ?? 0) + 0.001,
    timeline: layout
      ? {
          start: layout.start,
          end: layout.end,
          width: TIMELINE_WIDTH,
          height: layout.lanes.length * (LANE_HEIGHT + LANE_GAP),
        }
      : null,
    numbers: {
      seed: input.seed,
      profile: input.profile ?? null,
      scenario: input.scenario ?? null,
      virtualTime: input.virtualTime ?? null,
      replayCommand: input.replayCommand,
      guests: input.guests,
      loss: input.loss ?? {},
      totals: input.totals ?? [],
      verdicts: input.verdicts ?? [],
    },
  };
  const json = encodeJson(data);
  if (!json.startsWith(`${CAST_OPEN}"`)) throw new Error("the data encoder must write JSON");
  const meta: string[] = [];
  if (input.scenario !== undefined) meta.push(`scenario <b>${escapeHtml(input.scenario)}</b>`);
  meta.push(`seed <b>${escapeHtml(String(input.seed))}</b>`);
  if (input.profile !== undefined) meta.push(`profile <b>${escapeHtml(input.profile)}</b>`);
  if (input.virtualTime !== undefined) {
    meta.push(`virtual time <b>${escapeHtml(formatSeconds(input.virtualTime))}</b>`);
  }
  for (const t of input.totals ?? []) {
    meta.push(`${escapeHtml(t.label)} <b>${escapeHtml(String(t.value))}</b>`);
  }
  const failing = (input.verdicts ?? []).filter((v) => verdictStatus(v).cls === "violation");
  const summary =
    input.verdicts === undefined || input.verdicts.length === 0
      ? ""
      : failing.length === 0
        ? `<p class="pass">all ${input.verdicts.length} oracles as expected</p>`
        : `<p class="violation">${failing.length} of ${input.verdicts.length} oracles violated: ${failing.map((v) => escapeHtml(v.oracle)).join(", ")}</p>`;

  return [
    `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(input.title)}</title>
<style>${assets.style}</style>
<style>${STYLE}</style>
</head>
<body>
<main>
<h1>${escapeHtml(input.title)}</h1>
<p class="meta">${meta.join(" · ")}</p>
${summary}
<h2>Host terminal</h2>
<div class="card"><div id="player"></div>
<noscript><p class="empty">the player needs JavaScript; the terminal text is below.</p></noscript>
<details><summary>terminal text (${terminal.events} events, escape sequences removed)</summary><pre id="transcript">${terminal.transcript}</pre></details></div>
<h2>Timeline: which thread ran when</h2>
${timelineSection(layout)}
<h2>Guests</h2>
${guestsTable(input.guests)}
<h2>Losses by named point</h2>
${lossTable(input.guests, input.loss ?? {}) || `<p class="empty">no loss points were counted</p>`}
<h2>Oracle verdicts</h2>
${verdictsTable(input.verdicts ?? [])}
<h2>Replay</h2>
<pre id="replay"><code>${escapeHtml(input.replayCommand)}</code></pre>
</main>
<script type="application/json" id="vmmux-data">${CAST_OPEN}`,
    `${json.slice(CAST_OPEN.length)}</script>
<script>${assets.script}</script>
<script>${CLIENT_SCRIPT}</script>
</body>
</html>
`,
  ];
}
