/**
 * @vmmux/testbench — scenarios, trace replay, oracles, reports and the `vmmux` command line.
 */
export type {
  Asciicast,
  AsciicastEvent,
  AsciicastEventCode,
  AsciicastHeader,
} from "./asciicast.js";
export {
  AsciicastError,
  formatAsciicast,
  outputText,
  parseAsciicast,
  writeFileAtomic,
} from "./asciicast.js";
export type { Io } from "./commands.js";
export { createProgram, main } from "./commands.js";
export type { TestbenchError, TestbenchErrorCode } from "./errors.js";
export { ScenarioError, WiringError } from "./errors.js";
export { MergeError, mergeExploreResults } from "./explore/merge.js";
export { Exploration, exploreParallel } from "./explore/pool.js";
export { parseShard, ShardError, shardSeeds } from "./explore/shard.js";
export type {
  BuiltGuest,
  GuestBuildOptions,
  GuestTranscript,
  VmmObservation,
} from "./guests.js";
export { buildGuest, hostileScript } from "./guests.js";
export type { LiveErrorCode } from "./live/errors.js";
export { LiveError } from "./live/errors.js";
export type { LiveOptions, LiveResult, LiveTerminal } from "./live/live.js";
export { liveSession } from "./live/live.js";
export type { GuestMetrics, RunMetrics } from "./metrics.js";
export { guestMetrics, runMetrics, wireOf } from "./metrics.js";
export type {
  ExploredRun,
  ExploreOptions,
  Judgement,
  SplitLine,
  Verdict,
} from "./oracles.js";
export {
  determinism,
  expectedRouting,
  exploreWakeups,
  integrity,
  interleaving,
  isolation,
  judge,
  judgeExplored,
  progress,
  routing,
  splitLines,
  wakeups,
} from "./oracles.js";
export { hasRealGuests, type PreparedGuests, prepareGuests, runPrepared } from "./real/prepare.js";
export type { RecordErrorCode, RecordOptions, RecordResult } from "./record/index.js";
export { RecordError, recordCommand } from "./record/index.js";
export type {
  HtmlReportInput,
  ReportErrorCode,
  ReportGuest,
  ReportOfRunOptions,
  ReportVerdict,
  StreamedReportOptions,
  StreamedTerminal,
  SummaryThread,
} from "./report/index.js";
export {
  ReportError,
  renderHtmlReport,
  reportInputOfRun,
  reportPageOfRun,
  TerminalControlStripper,
  TerminalTranscript,
  TimelineSummary,
  writeHtmlReport,
} from "./report/index.js";
export { PerfettoFileWriter, writePerfettoFile } from "./report/perfetto-file.js";
export { CastGrouper, castFileToVersion3, TerminalCastWriter } from "./report/terminal-sink.js";
export {
  formatJudgements,
  formatReport,
  runJson,
  terminalCast,
  terminalText,
  writeArtefacts,
} from "./report.js";
export type {
  GuestRun,
  KeyByte,
  PdFault,
  ProducerWait,
  RunLoss,
  RunOptions,
  RunResult,
  RunVariants,
  SchedulePerturbation,
  ThreadEnd,
  WireRecord,
} from "./run.js";
export { perturbedCosts, runScenario, scenarioSystem } from "./run.js";
export type {
  Expectations,
  GuestCpu,
  GuestExpectation,
  GuestInput,
  KeyStroke,
  Knobs,
  OracleName,
  Scenario,
  ScenarioGuest,
  ScenarioInput,
  SddfClientScenarioGuest,
  VmScenarioGuest,
} from "./scenario.js";
export {
  loadScenario,
  parseScenario,
  scenarioJsonSchema,
  scenarioSchema,
  withKnobs,
} from "./scenario.js";
export type {
  ClientLoss,
  PrintEvent,
  ReceivedByte,
  SerialClientOptions,
  SerialClientWiring,
} from "./serial-client.js";
export { printEvents, SerialClientGuest } from "./serial-client.js";
export { WireStore } from "./stream/wire-store.js";
export type { BuiltSystem, SystemBuildOptions } from "./system/build.js";
export { buildSystem, Keyboard } from "./system/build.js";
export { checkScenario } from "./system/check.js";
export { looped } from "./system/trace-loop.js";
export { TIMER_CTL_ENABLE, TIMER_CTL_ISTATUS, TimerReg, TraceTimer } from "./trace-timer.js";
export {
  type MergedTyping,
  mergeTyping,
  switchSequence,
  TypingMergeError,
  type Typist,
} from "./typing.js";
export type {
  ClientGuestWiring,
  DriverWiring,
  GuestPlacement,
  GuestWiring,
  SerialWiring,
  VirtWiring,
  VmGuestWiring,
} from "./wiring.js";
export { applyKnobs, connectionRegions, serialWiring } from "./wiring.js";
