import type { LiveError } from "./live/errors.js";
import type { OutputDirError } from "./output-dir.js";
import type { RecordError } from "./record/errors.js";
import type { ReportError } from "./report/errors.js";

/**
 * The testbench's error family. Each class has a stable `code`; messages are lower-case
 * and name the place at fault (`file:line: field: problem`).
 */

/** A scenario file that does not parse or does not match the schema. */
export class ScenarioError extends Error {
  readonly code = "SCENARIO_INVALID";
  constructor(
    readonly file: string,
    /** 1-based line of the offending value (or of the file's start when unknown). */
    readonly line: number,
    /** Dotted JSON path of the field, e.g. `guests[1].trace`; `""` for the whole file. */
    readonly field: string,
    readonly problem: string,
  ) {
    super(`${file}:${line}: ${field === "" ? "(file)" : field}: ${problem}`);
    this.name = "ScenarioError";
  }
}

/** A system file that parses but lacks what the serial scenario needs (a PD, a region, a channel). */
export class WiringError extends Error {
  readonly code = "SYSTEM_WIRING";
  constructor(
    readonly file: string,
    readonly problem: string,
  ) {
    super(`${file}: ${problem}`);
    this.name = "WiringError";
  }
}

export type TestbenchError =
  | ScenarioError
  | WiringError
  | RecordError
  | ReportError
  | LiveError
  | OutputDirError;
export type TestbenchErrorCode = TestbenchError["code"];
