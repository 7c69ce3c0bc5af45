/**
 * A VMM that reads the clock while it answers an idle guest's WFI ends fast-forward's history
 * (pd-context.ts `now`): an answer declared repeatable may still depend on the time, as a
 * libvmm assert armed for a moment does (`@vmmux/vmm`'s FaultingVmm). Its first exit at or
 * after that moment is the same with and without fast-forward.
 */
import { describe, expect, it } from "vitest";
import type { GuestProgram, RepeatableExit } from "../program.js";
import { work } from "../program.js";
import { describeSystem, pdProgram } from "../testing/index.js";
import { System } from "./system.js";

/** Notes the time of the first WFI exit at or after `at` ns; its answers are declared repeatable. */
function run(at: number, fastForward: boolean) {
  let noticed: number | null = null;
  let exits = 0;
  const repeat: RepeatableExit = {
    repeat(times) {
      exits += times;
    },
  };
  const idle: GuestProgram = {
    *run(vcpu) {
      const pass = work("ns", 700);
      for (;;) yield* vcpu.idle({ pass });
    },
  };
  const sys = new System(
    describeSystem({
      pds: [{ name: "vmm", priority: 61, vm: { name: "vm", priority: 50, budget: 1000 } }],
    }),
    {
      programs: {
        "vmm.elf": pdProgram({
          *init(pd) {
            pd.vcpuRestart(0);
          },
          *fault(_child, msg, pd) {
            exits++;
            if (noticed === null && pd.now() >= at) noticed = pd.now();
            yield work("default", 1);
            return msg.kind === "vcpu" ? { resume: true, repeatable: repeat } : { resume: false };
          },
        }),
      },
      guests: { vm: idle },
      fastForward,
      recordEvents: false,
    },
  );
  sys.runUntil(3_000_000);
  return { noticed, exits, now: sys.now(), events: sys.eventsProcessed, threads: sys.threads() };
}

describe("a VMM that reads the clock while answering an idle WFI", () => {
  it.each([123_456, 1_000_000, 2_345_678])(
    "sees its first exit at or after %i ns at the same time with and without fast-forward",
    (at) => {
      const on = run(at, true);
      expect(on.noticed).not.toBeNull();
      expect(on).toEqual(run(at, false));
    },
  );
});
