export type { RecordErrorCode } from "./errors.js";
export { RecordError } from "./errors.js";
export type { RecordOptions, RecordResult } from "./record.js";
export { commandLine, exitStatus, recordCommand } from "./record.js";
