/**
 * Programs the inert-tick properties share (runtime/ticks.prop.test.ts, spin-ticks.prop.test.ts,
 * ticks-recorded.prop.test.ts): an idle guest that computes in bursts between declared idle
 * stretches, and a PD that busy-waits on shared memory for a count another PD raises.
 */
import type { GuestProgram, PdContext, PdProgram } from "../program.js";
import { work } from "../program.js";
import { spinUntil } from "../runtime/spin.js";
import { pdProgram } from "./programs.js";

/** One burst of the guest: `burstUs` of work, a hypercall, then an idle gap of `gapUs`. */
export interface GuestStep {
  readonly burstUs: number;
  readonly gapUs: number;
}

/**
 * A guest that runs its `steps` (each burst ends with hypercall 0x100 + its index, each gap is a
 * declared idle loop of passes of `passNs` until the gap's end), then idles for good; a virtual
 * IRQ ends an idle stretch and is acknowledged.
 */
export function steppedGuest(passNs: number, steps: readonly GuestStep[]): GuestProgram {
  return {
    *run(vcpu) {
      const pass = work("ns", passNs);
      let n = 0;
      const drain = function* () {
        for (let irq = vcpu.takeIrq(); irq !== undefined; irq = vcpu.takeIrq())
          yield* vcpu.eoi(irq);
      };
      for (const step of steps) {
        yield work("us", step.burstUs);
        yield* vcpu.hypercall(0x100 + n++);
        const due = vcpu.now() + step.gapUs * 1000;
        while (vcpu.now() < due) {
          yield* vcpu.idle({ pass, until: (now) => now >= due });
          yield* drain();
        }
      }
      for (;;) {
        yield* vcpu.idle({ pass });
        yield* drain();
      }
    },
  };
}

/**
 * A PD that, at init and at each notification, busy-waits (a declared spin) until the word at 0 of
 * its `shared` region changes, counting its turns at 4 and its wakes at 8, then works `burstNs`.
 */
export function spinnerPd(burstNs: number): PdProgram {
  function* wait(pd: PdContext) {
    const q = pd.memory("shared");
    const from = q.load32(0);
    yield* spinUntil({
      pass: work("spin", 1),
      poll: () => (q.load32(0) !== from ? true : undefined),
      passed: (n) => q.store32(4, q.load32(4) + n),
    });
    q.store32(8, q.load32(8) + 1);
    yield work("ns", burstNs);
  }
  return pdProgram({
    *init(pd) {
      yield* wait(pd);
    },
    *notified(_ch, pd) {
      yield* wait(pd);
    },
  });
}
