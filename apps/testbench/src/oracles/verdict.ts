/** What every oracle returns: a verdict with findings and notes, and its judgement against the scenario. */
import type { OracleName } from "../scenario.js";

export interface Verdict {
  readonly oracle: OracleName;
  readonly ok: boolean;
  /** Violations; empty when `ok`. */
  readonly findings: readonly string[];
  /** Counted losses and other facts that explain the verdict. */
  readonly notes: readonly string[];
}

const MAX_FINDINGS = 10;

export function verdict(oracle: OracleName, findings: string[], notes: string[]): Verdict {
  const shown = findings.slice(0, MAX_FINDINGS);
  if (findings.length > MAX_FINDINGS) shown.push(`... and ${findings.length - MAX_FINDINGS} more`);
  return { oracle, ok: findings.length === 0, findings: shown, notes };
}

/**
 * A verdict of `total` findings of which the first ones are `first` (at least the first
 * {@link MAX_FINDINGS}, or all): what {@link verdict} gives for the whole list.
 */
export function countedVerdict(
  oracle: OracleName,
  first: readonly string[],
  total: number,
  notes: string[],
): Verdict {
  const shown = first.slice(0, Math.min(total, MAX_FINDINGS));
  if (total > MAX_FINDINGS) shown.push(`... and ${total - MAX_FINDINGS} more`);
  return { oracle, ok: total === 0, findings: shown, notes };
}

export function show(byte: number): string {
  return byte >= 0x20 && byte < 0x7f
    ? `'${String.fromCharCode(byte)}'`
    : `0x${byte.toString(16).padStart(2, "0")}`;
}

/** One oracle's verdict against the scenario's expectation of it. */
export interface Judgement {
  readonly verdict: Verdict;
  readonly expected: "pass" | "violation";
  /** The verdict is what the scenario expects (an expected violation is a finding). */
  readonly asExpected: boolean;
  /** What the verdict covers when not the one run (`over 8 schedules`), printed after the name. */
  readonly scope?: string;
}
