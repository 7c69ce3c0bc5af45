/**
 * Defects in inert ticks passed by several devices and in their records in a recorded run
 * (runtime/ticks.ts), which ticks-recorded.prop.test.ts must catch.
 */
import type { RuntimeEvent } from "../runtime/event-log.js";
import { type PassedTicks, Ticks } from "../runtime/ticks.js";
import type { PlantedKernel } from "./planted.js";

export type PlantedTickRecordBug =
  /** A passed tick's record is stamped with the kernel's clock at the pass, not its own time. */
  | "kernel-clock"
  /** The first record a kernel's passes write is left out. */
  | "first-dropped"
  /** Ticks of two devices due at one instant write in the order the devices were passed. */
  | "push-order-ignored"
  /** Ticks of two devices due at one timer expiry both do its work (one event too few). */
  | "expiry-tied-twice";

class KernelClock extends Ticks {
  protected override write(record: RuntimeEvent): void {
    super.write({ ...record, t: this.k.now });
  }
}

class FirstDropped extends Ticks {
  private dropped = false;
  protected override write(record: RuntimeEvent): void {
    if (this.dropped) super.write(record);
    this.dropped = true;
  }
}

class PushOrderIgnored extends Ticks {
  protected override firesBefore(a: PassedTicks, b: PassedTicks): boolean {
    return a.times[a.next]! < b.times[b.next]!;
  }
}

class ExpiryTiedTwice extends Ticks {
  protected override expiryFree(): boolean {
    return true;
  }
}

const VARIANTS = {
  "kernel-clock": KernelClock,
  "first-dropped": FirstDropped,
  "push-order-ignored": PushOrderIgnored,
  "expiry-tied-twice": ExpiryTiedTwice,
} as const;

/** The runtime with a defect in passed ticks (pass `.parts` to `new System`). */
export function plantedTickRecords(bug: PlantedTickRecordBug): PlantedKernel {
  const variant = VARIANTS[bug];
  return { parts: { ticks: (k, enabled) => new variant(k, enabled) } };
}
