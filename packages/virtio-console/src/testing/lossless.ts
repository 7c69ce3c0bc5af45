/**
 * End-to-end console scenarios with the Linux front end: a guest program writes kernel-log
 * and tty output (busy-waiting on each buffer, as Linux does) while the environment plays
 * virt_tx (draining the sDDF TX queue in random amounts and signalling when asked) and
 * virt_rx (typing input). Used by the lossless property and its planted-bug check.
 */
import { ORIGIN_KEYBOARD, provenanceTag } from "@vmmux/sddf-queues";
import type { FeatureRequest } from "../device/behaviours.js";
import type { UsedEventRule } from "../guest/linux-driver.js";
import type { ConsoleDefectSwitches } from "../profile.js";
import { ConsoleRig, runGuest } from "./rig.js";

export interface GuestWrite {
  readonly kind: "printk" | "tty";
  readonly len: number;
}

export interface EnvStep {
  /** Guest preemption points to run before this step. */
  readonly slice: number;
  /** Bytes virt_tx drains now. */
  readonly drain: number;
  /** Bytes typed now. */
  readonly input: number;
}

export interface ConsoleScenario {
  readonly capacity: number;
  readonly queueSize: number;
  readonly writes: readonly GuestWrite[];
  readonly env: readonly EnvStep[];
  /**
   * At each "queue full, about to request a signal" preemption point, whether virt_tx runs
   * right there (cycled). This is the interleaving the double check exists for.
   */
  readonly interleave: readonly boolean[];
}

export interface ScenarioOutcome {
  readonly guestFinished: boolean;
  /** Output tags as virt_tx saw them, and what the guest wrote (CRLF included). */
  readonly outputTags: number[];
  readonly expectedTags: number[];
  readonly inputTags: number[];
  readonly typedTags: number[];
}

const GUEST_ORIGIN = 0x01;
const LF = 0x0a;

/** Deterministic guest text: printable bytes with a newline every 37. */
function guestText(len: number, seq0: number): { bytes: Uint8Array; tags: Uint32Array } {
  const bytes = Uint8Array.from({ length: len }, (_, i) =>
    (seq0 + i) % 37 === 36 ? LF : 0x20 + ((seq0 + i) % 90),
  );
  const tags = Uint32Array.from({ length: len }, (_, i) => provenanceTag(GUEST_ORIGIN, seq0 + i));
  return { bytes, tags };
}

/** What else a scenario may vary: the device's feature offer, the front end's rule. */
export interface ScenarioOptions {
  readonly features?: FeatureRequest;
  readonly usedEvent?: UsedEventRule;
}

/** Run `scenario` against a hardened console with optional defect switches. */
export function runScenario(
  scenario: ConsoleScenario,
  defects: Partial<ConsoleDefectSwitches> = {},
  options: ScenarioOptions = {},
): ScenarioOutcome {
  let preempts = 0;
  const outputTags: number[] = [];
  const rig = new ConsoleRig({
    profile: "hardened",
    defects,
    serialCapacity: scenario.capacity,
    queueSize: scenario.queueSize,
    ...(options.features === undefined ? {} : { features: options.features }),
    ...(options.usedEvent === undefined ? {} : { usedEvent: options.usedEvent }),
    onPreempt: (site, port, r) => {
      if (site !== "tx-full" || scenario.interleave.length === 0) return;
      if (scenario.interleave[preempts++ % scenario.interleave.length]) {
        outputTags.push(...r.drainTx(port, Number.POSITIVE_INFINITY, true).tags);
      }
    },
  });
  const probe = runGuest(rig.driver.probe());
  if (!probe.done || !probe.value.ok) throw new Error("probe failed");
  const expectedTags: number[] = [];
  const typedTags: number[] = [];
  let seq = 0;
  let typedSeq = 0;
  const driver = rig.driver;
  const program = (function* () {
    for (const w of scenario.writes) {
      const { bytes, tags } = guestText(w.len, seq);
      seq += w.len;
      if (w.kind === "printk") {
        // The printk path inserts CR before LF; the CR carries its LF's tag.
        bytes.forEach((b, i) => {
          if (b === LF) expectedTags.push(tags[i]!);
          expectedTags.push(tags[i]!);
        });
        yield* driver.consolePrint(bytes, tags);
      } else {
        expectedTags.push(...tags);
        yield* driver.ttyWrite(bytes, tags);
      }
      yield* driver.pollInput();
    }
  })();
  let finished = false;
  const runProgram = (slice: number) => {
    if (finished) return;
    finished = runGuest(program, slice).done;
  };
  for (const step of scenario.env) {
    runProgram(step.slice);
    rig.deliverSignals();
    // virt_tx drains, then the VMM sees its signal: never nested in the drain.
    outputTags.push(...rig.drainTx(0, step.drain, true).tags);
    rig.deliverSignals();
    if (step.input > 0) {
      const tags = Uint32Array.from({ length: step.input }, () =>
        provenanceTag(ORIGIN_KEYBOARD, typedSeq++),
      );
      const n = rig.typeInput(new Uint8Array(step.input).fill(0x61), tags);
      typedTags.push(...tags.subarray(0, n));
      // virt_rx drops what does not fit (sddf-serial R5): not the console's loss.
      typedSeq -= step.input - n;
    }
  }
  // Liveness phase: faults stop, virt_tx drains everything it is given.
  for (let round = 0; round < 400 && !finished; round++) {
    runProgram(64);
    rig.deliverSignals();
    outputTags.push(...rig.drainTx(0, Number.POSITIVE_INFINITY, true).tags);
    rig.deliverSignals();
  }
  outputTags.push(...rig.drainTx(0, Number.POSITIVE_INFINITY, true).tags);
  for (let round = 0; round < 64; round++) {
    if (rig.takeIrq()) runGuest(driver.handleInterrupt(), 100_000);
    runGuest(driver.pollInput(), 100_000);
  }
  return {
    guestFinished: finished,
    outputTags,
    expectedTags,
    inputTags: rig.receivedTags,
    typedTags,
  };
}
