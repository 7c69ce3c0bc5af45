/**
 * The report's timeline: one lane per track (a PD, a vCPU, a device), a bar wherever the
 * track was busy. Spans narrower than one cell of the drawing are merged per lane so a run of
 * a million context switches still draws a bounded number of shapes; a merged bar's height
 * says how busy the lane was inside it and its tooltip counts the slices.
 */
import type { PerfettoTrace } from "@vmmux/microkit-pd";
import { ReportError } from "./errors.js";
import { escapeHtml } from "./escape.js";

/** One slice of a track's activity; times in seconds (virtual time for a replay). */
export interface TimelineSpan {
  readonly track: string;
  readonly start: number;
  readonly end: number;
  readonly label: string;
  /** Seconds of it the track was busy, when it stands for several slices (default all of it). */
  readonly busy?: number;
  /** Slices it stands for (default 1). */
  readonly count?: number;
}

/** A notification: sent by `from` at `at`, consumed by `to` at `until` (seconds). */
export interface TimelineArrow {
  readonly from: string;
  readonly to: string;
  readonly at: number;
  readonly until: number;
  readonly label: string;
}

export interface Timeline {
  readonly spans: readonly TimelineSpan[];
  /** Notification arrows, drawn between lanes when the reader switches them on. */
  readonly arrows?: readonly TimelineArrow[];
  /** Arrows left out before this timeline was made (a bounded summary keeps the first ones). */
  readonly arrowsOmitted?: number;
  /** Lane order; tracks of spans not listed follow in order of first appearance. */
  readonly tracks?: readonly string[];
  /** Lane captions by track (e.g. `virt_tx (pd, prio 199)`); default the track name. */
  readonly captions?: Readonly<Record<string, string>>;
  /** Time range to draw; default from 0 to the last span's end. */
  readonly start?: number;
  readonly end?: number;
}

/** A bar of one lane: one span, or several merged because they are closer than a cell. */
export interface LaneBar {
  readonly start: number;
  readonly end: number;
  /** Seconds of the bar actually covered by spans. */
  readonly busy: number;
  readonly count: number;
  /** The span's label, or a summary for a merged bar. */
  readonly label: string;
}

export interface Lane {
  readonly track: string;
  readonly caption: string;
  readonly bars: readonly LaneBar[];
  /** Seconds the track was busy in the drawn range. */
  readonly busy: number;
}

export interface TimelineLayout {
  readonly start: number;
  readonly end: number;
  readonly lanes: readonly Lane[];
  /** Arrows between two drawn lanes inside the range, at most {@link MAX_ARROWS}. */
  readonly arrows: readonly TimelineArrow[];
  /** Arrows left out because there were more than {@link MAX_ARROWS}. */
  readonly arrowsOmitted: number;
}

/** Cells across the full view; zooming in 16x still leaves about 250 cells on screen. */
export const TIMELINE_CELLS = 4000;
/** Arrows drawn at most (the first ones in time); more would hide the lanes and slow the page. */
export const MAX_ARROWS = 2000;

function checkSpans(spans: readonly TimelineSpan[]): void {
  spans.forEach((span, i) => {
    const place = `timeline.spans[${i}]`;
    if (!Number.isFinite(span.start) || !Number.isFinite(span.end)) {
      throw new ReportError("REPORT_INVALID_INPUT", place, "start and end must be finite numbers");
    }
    if (span.end < span.start) {
      throw new ReportError(
        "REPORT_INVALID_INPUT",
        `${place}.end`,
        `ends at ${span.end} before it starts at ${span.start}`,
      );
    }
  });
}

function checkArrows(arrows: readonly TimelineArrow[]): void {
  arrows.forEach((arrow, i) => {
    if (!Number.isFinite(arrow.at) || !Number.isFinite(arrow.until)) {
      throw new ReportError(
        "REPORT_INVALID_INPUT",
        `timeline.arrows[${i}]`,
        "at and until must be finite numbers",
      );
    }
  });
}

/** Merge each lane's spans into bars no closer than `(end - start) / cells`. */
export function layoutTimeline(timeline: Timeline, cells = TIMELINE_CELLS): TimelineLayout {
  checkSpans(timeline.spans);
  checkArrows(timeline.arrows ?? []);
  const start = timeline.start ?? 0;
  const end = Math.max(
    timeline.end ?? timeline.spans.reduce((m, s) => Math.max(m, s.end), start),
    start,
  );
  const cell = (end - start) / cells;
  const order = [...(timeline.tracks ?? [])];
  const byTrack = new Map<string, TimelineSpan[]>(order.map((t) => [t, []]));
  for (const span of timeline.spans) {
    if (span.end < start || span.start > end) continue;
    let list = byTrack.get(span.track);
    if (list === undefined) {
      list = [];
      byTrack.set(span.track, list);
    }
    list.push(span);
  }
  const lanes: Lane[] = [];
  for (const [track, spans] of byTrack) {
    spans.sort((a, b) => a.start - b.start || a.end - b.end);
    const bars: LaneBar[] = [];
    let open: { start: number; end: number; busy: number; count: number; label: string } | null =
      null;
    let busyTotal = 0;
    for (const span of spans) {
      const s = Math.max(span.start, start);
      const e = Math.min(span.end, end);
      const length = span.end - span.start;
      // A span standing for several slices is busy for its share, clipped in proportion.
      const busy =
        span.busy === undefined ? e - s : length > 0 ? (span.busy * (e - s)) / length : 0;
      const count = span.count ?? 1;
      busyTotal += busy;
      if (open !== null && s - open.end < cell && e - open.start < cell * 64) {
        open.busy += span.busy === undefined ? Math.max(0, e - Math.max(s, open.end)) : busy;
        open.end = Math.max(open.end, e);
        open.count += count;
        continue;
      }
      if (open !== null) bars.push(open);
      open = { start: s, end: e, busy, count, label: span.label };
    }
    if (open !== null) bars.push(open);
    lanes.push({
      track,
      caption:
        timeline.captions && Object.hasOwn(timeline.captions, track)
          ? timeline.captions[track]!
          : track,
      busy: busyTotal,
      bars: bars.map((b) =>
        b.count === 1
          ? b
          : {
              ...b,
              label: `${b.count} slices, busy ${Math.round((100 * b.busy) / Math.max(b.end - b.start, Number.MIN_VALUE))}%`,
            },
      ),
    });
  }
  const drawn = new Set(lanes.map((l) => l.track));
  const arrows = (timeline.arrows ?? [])
    .filter((a) => drawn.has(a.from) && drawn.has(a.to) && a.until >= start && a.at <= end)
    .sort((a, b) => a.at - b.at || a.until - b.until);
  return {
    start,
    end,
    lanes,
    arrows: arrows.slice(0, MAX_ARROWS),
    arrowsOmitted: Math.max(0, arrows.length - MAX_ARROWS) + (timeline.arrowsOmitted ?? 0),
  };
}

/** A readable duration: `1.25 s`, `340 ms`, `12.5 µs`, `80 ns`. */
export function formatSeconds(seconds: number): string {
  const magnitude = Math.abs(seconds);
  const fixed = (value: number, unit: string) => `${Number(value.toPrecision(4))} ${unit}`;
  if (magnitude === 0) return "0 s";
  if (magnitude >= 1) return fixed(seconds, "s");
  if (magnitude >= 1e-3) return fixed(seconds * 1e3, "ms");
  if (magnitude >= 1e-6) return fixed(seconds * 1e6, "µs");
  return fixed(seconds * 1e9, "ns");
}

/** Round tick positions (1, 2, 5 times a power of ten) for about `count` ticks in [start, end]. */
export function ticks(start: number, end: number, count = 8): number[] {
  const span = end - start;
  if (!(span > 0)) return [start];
  const raw = span / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw) ?? 10 * power;
  const out: number[] = [];
  for (let t = Math.ceil(start / step) * step; t <= end + step * 1e-9; t += step) {
    out.push(Number(t.toPrecision(12)));
  }
  return out;
}

/** Lane geometry shared by the drawing and the page's zoom script. */
export const LANE_HEIGHT = 18;
export const LANE_GAP = 6;
/** Width of the drawing in SVG units; the page stretches it to the window. */
export const TIMELINE_WIDTH = 1000;
/**
 * Bars are drawn at least this wide (about 1.5 px at the full view) so a short slice stays
 * visible; the page's script keeps that on-screen width when zooming, `data-w` the true one.
 */
const MIN_BAR_UNITS = 1.5;

const PALETTE = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#b07aa1", "#edc948"];

/**
 * The lanes as an inline SVG stretched to its box (`preserveAspectRatio="none"`); zooming
 * changes only its `viewBox`. Labels live outside it (they must not stretch).
 */
export function renderTimelineSvg(layout: TimelineLayout): string {
  const duration = layout.end - layout.start;
  const x = (t: number) => (duration > 0 ? ((t - layout.start) / duration) * TIMELINE_WIDTH : 0);
  const height = layout.lanes.length * (LANE_HEIGHT + LANE_GAP);
  const parts: string[] = [
    `<svg id="timeline-lanes" class="lanes" viewBox="0 0 ${TIMELINE_WIDTH} ${height}" preserveAspectRatio="none" height="${height}" role="img" aria-label="which thread ran when">`,
  ];
  layout.lanes.forEach((lane, i) => {
    const y = i * (LANE_HEIGHT + LANE_GAP);
    const colour = PALETTE[i % PALETTE.length]!;
    parts.push(
      `<rect class="lane-bg" x="0" y="${y}" width="${TIMELINE_WIDTH}" height="${LANE_HEIGHT}"/>`,
    );
    parts.push(`<g fill="${colour}" data-track="${escapeHtml(lane.track)}">`);
    for (const bar of lane.bars) {
      const width = x(bar.end) - x(bar.start);
      const fullness = bar.end > bar.start ? bar.busy / (bar.end - bar.start) : 1;
      // A merged bar is as tall as the share of it the track was busy (a quarter at least, to stay visible).
      const tall =
        bar.count === 1 ? LANE_HEIGHT : LANE_HEIGHT * Math.max(0.25, Math.min(1, fullness));
      const tip = `${lane.track}: ${bar.label}\n${formatSeconds(bar.start)} – ${formatSeconds(bar.end)}`;
      parts.push(
        `<rect x="${x(bar.start).toFixed(3)}" y="${(y + LANE_HEIGHT - tall).toFixed(2)}" width="${Math.max(width, MIN_BAR_UNITS).toFixed(3)}" data-w="${width.toFixed(3)}" height="${tall.toFixed(2)}"><title>${escapeHtml(tip)}</title></rect>`,
      );
    }
    parts.push("</g>");
  });
  const centre = new Map(
    layout.lanes.map((lane, i) => [lane.track, i * (LANE_HEIGHT + LANE_GAP) + LANE_HEIGHT / 2]),
  );
  parts.push(`<g id="timeline-arrows" class="arrows" display="none">`);
  for (const arrow of layout.arrows) {
    const tip = `${arrow.label}: ${arrow.from} → ${arrow.to}\nsent ${formatSeconds(arrow.at)}, consumed ${formatSeconds(arrow.until)}`;
    parts.push(
      `<line x1="${x(arrow.at).toFixed(3)}" y1="${centre.get(arrow.from)}" x2="${x(arrow.until).toFixed(3)}" y2="${centre.get(arrow.to)}" vector-effect="non-scaling-stroke"><title>${escapeHtml(tip)}</title></line>`,
    );
  }
  parts.push("</g>");
  parts.push(
    `<rect id="timeline-playhead" class="playhead" x="-10" y="0" width="${MIN_BAR_UNITS}" height="${height}"/>`,
  );
  parts.push("</svg>");
  return parts.join("");
}

const NAMED_THREAD = /^(.*) \(([^()]*)\)$/;

/**
 * Which thread held the CPU when, from the runtime's Perfetto export: the slices of its
 * "core 0" track become spans on one lane per thread, captioned with the thread's kind and
 * priority from the trace's metadata; each signal's flow (sent → consumed by a `notified`
 * call) becomes an arrow.
 */
export function timelineFromPerfetto(trace: PerfettoTrace): Timeline {
  let coreTid: number | undefined;
  const captions: Record<string, string> = {};
  const tracks: string[] = [];
  const trackOf = new Map<number, string>();
  for (const event of trace.traceEvents) {
    if (event.ph !== "M" || event.name !== "thread_name") continue;
    const name = String(event.args?.name ?? "");
    if (name === "core 0") coreTid = event.tid;
    const match = NAMED_THREAD.exec(name);
    if (event.tid !== undefined && event.tid !== coreTid)
      trackOf.set(event.tid, match?.[1] ?? name);
    if (match && event.tid !== coreTid) {
      tracks.push(match[1]!);
      captions[match[1]!] = name;
    }
  }
  const spans: TimelineSpan[] = [];
  const sent = new Map<number, { from: string; at: number }>();
  const arrows: TimelineArrow[] = [];
  let end = 0;
  for (const event of trace.traceEvents) {
    if (event.ts === undefined) continue;
    end = Math.max(end, (event.ts + (event.dur ?? 0)) / 1e6);
    const at = event.ts / 1e6;
    const track = event.tid === undefined ? undefined : trackOf.get(event.tid);
    if (event.ph === "X" && event.tid === coreTid) {
      spans.push({
        track: event.name,
        start: at,
        end: at + (event.dur ?? 0) / 1e6,
        label: "running",
      });
    } else if (event.ph === "s" && event.id !== undefined && track !== undefined) {
      sent.set(event.id, { from: track, at });
    } else if (event.ph === "f" && event.id !== undefined && track !== undefined) {
      const start = sent.get(event.id);
      if (start) arrows.push({ ...start, to: track, until: at, label: "notification" });
    }
  }
  return { spans, arrows, tracks, captions, start: 0, end };
}
