export type { ReportErrorCode } from "./errors.js";
export { ReportError } from "./errors.js";
export { escapeHtml, jsonForScript, stripTerminalControls } from "./escape.js";
export type { ReportOfRunOptions } from "./from-run.js";
export { reportInputOfRun } from "./from-run.js";
export type { HtmlReportInput, ReportGuest, ReportVerdict } from "./html.js";
export { renderHtmlReport } from "./html.js";
export type { Lane, LaneBar, Timeline, TimelineLayout, TimelineSpan } from "./timeline.js";
export { formatSeconds, layoutTimeline, timelineFromPerfetto } from "./timeline.js";
