/**
 * What the fault scenarios' tests read from a check: a bundled scenario's path, one guest's
 * bytes on the wire as text with their start times, the text a guest received, and the oracles
 * that failed.
 */
import { fileURLToPath } from "node:url";
import { wireOf } from "../metrics.js";
import type { RunResult } from "../run.js";
import type { CheckResult } from "../system/check.js";

const decoder = new TextDecoder();

/** The path of `traces/scenarios/<name>`. */
export const bundledScenarioPath = (name: string): string =>
  fileURLToPath(new URL(`../../../../traces/scenarios/${name}`, import.meta.url));

/** Guest `origin`'s bytes on the wire as text, with the time each started, ns. */
export function wireText(run: RunResult, origin: number): { text: string; times: number[] } {
  const records = wireOf(run, origin);
  return {
    text: decoder.decode(Uint8Array.from(records, (w) => w.byte)),
    times: records.map((w) => w.start),
  };
}

/** The text guest `k` of the run received. */
export const receivedText = (run: RunResult, k: number): string =>
  decoder.decode(Uint8Array.from(run.guests[k]!.received, (b) => b.byte));

/** The oracles whose verdicts were not as the scenario expects. */
export const failedOracles = (c: CheckResult): string[] =>
  c.judgements.filter((j) => !j.asExpected).map((j) => j.verdict.oracle);
