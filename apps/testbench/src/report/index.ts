export type { ReportErrorCode } from "./errors.js";
export { ReportError } from "./errors.js";
export {
  escapeHtml,
  jsonForScript,
  stripTerminalControls,
  TerminalControlStripper,
} from "./escape.js";
export type { ReportOfRunOptions } from "./from-run.js";
export { reportInputOfRun, reportPageOfRun } from "./from-run.js";
export type {
  HtmlReportInput,
  ReportGuest,
  ReportPageInput,
  ReportVerdict,
  TerminalFacts,
} from "./html.js";
export { renderHtmlReport } from "./html.js";
export type { StreamedReportOptions, StreamedTerminal } from "./html-stream.js";
export { TerminalTranscript, writeHtmlReport } from "./html-stream.js";
export type { Lane, LaneBar, Timeline, TimelineLayout, TimelineSpan } from "./timeline.js";
export { formatSeconds, layoutTimeline, timelineFromPerfetto } from "./timeline.js";
export type { SummaryThread } from "./timeline-summary.js";
export { TimelineSummary } from "./timeline-summary.js";
