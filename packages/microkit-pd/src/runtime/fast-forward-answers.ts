/**
 * The repeatable answers of quiet VMMs (fast-forward.ts; program.ts `RepeatableExit`): a VMM
 * that answers an idle guest's WFI at once and changes nothing else replies with the same
 * object each time, and fast-forward counts how often each was given, as a linear quantity of
 * its fingerprint, applying skipped exits through the object's `repeat(n)`.
 */
import type { RepeatableExit } from "../program.js";
import type { IpcMessage } from "./tcb.js";

/** Distinct repeatable answers tracked at once (a VMM should give the same object every time). */
const MAX_CONTRACTS = 64;

export class RepeatableAnswers {
  private readonly repeats = new Map<RepeatableExit, number>();
  private readonly contracts: RepeatableExit[] = [];
  /** Changes to the tracked list so far (a resume memo holds only while it is the same). */
  changed = 0;

  /** Answers tracked, in the order their counts are fingerprinted. */
  get length(): number {
    return this.contracts.length;
  }

  /** `exit` was given; false when it is not yet tracked (a fresh one ends the history). */
  given(exit: RepeatableExit): boolean {
    const seen = this.repeats.get(exit);
    if (seen === undefined) {
      if (this.contracts.length >= MAX_CONTRACTS) {
        this.contracts.length = 0;
        this.repeats.clear();
      }
      this.contracts.push(exit);
      this.changed++;
    }
    this.repeats.set(exit, (seen ?? 0) + 1);
    return seen !== undefined;
  }

  /** How often each tracked answer was given, in order. */
  counts(): number[] {
    return this.contracts.map((exit) => this.repeats.get(exit)!);
  }

  /** The `i`th answer stands for `times` more exits (a leap skipped them). */
  repeat(i: number, times: number): void {
    const exit = this.contracts[i]!;
    this.repeats.set(exit, this.repeats.get(exit)! + times);
    exit.repeat(times);
  }
}

/** Whether `message` is a vCPU's WFI exit (a quiet VMM may answer it repeatably). */
export function isWfiExit(message: IpcMessage): boolean {
  return (
    message.kind === "fault" && message.fault.kind === "vcpu" && message.fault.exit.kind === "wfi"
  );
}
