/**
 * InterruptStatus, InterruptACK and the device's interrupt line (VirtIO 1.2 §4.2.2,
 * §4.2.3.4; reference virtio §4.10). Two defect switches, each chosen once:
 * - `interruptStatusOverwrite` (§4.10): libvmm's `virtio_set_interrupt_status` overwrites
 *   the register instead of OR-ing the new cause in;
 * - `edgeInterrupt` (§4.10): libvmm injects once per event and never re-asserts, where the
 *   spec's line follows InterruptStatus ≠ 0 (level).
 */
import { chooseBehaviour } from "@vmmux/profiles";
import type { InterruptLine, TransportCore } from "./mmio-core.js";

/** Switch `interruptStatusOverwrite`: the register after `bit` is signalled. */
type SetCause = (core: TransportCore, before: number, bit: number) => number;

const orCause: SetCause = (_core, before, bit) => before | bit;

const overwriteCause: SetCause = (core, before, bit) => {
  if (before !== 0 && before !== bit) {
    core.found(
      "interruptStatusOverwrite",
      "deviation",
      `InterruptStatus 0x${before.toString(16)} overwritten with 0x${bit.toString(16)}`,
    );
  }
  return bit;
};

/** Switch `edgeInterrupt`: how the line follows the register. */
interface LineDriver {
  /** A cause was added; returns whether the injection succeeded. */
  raise(irq: InterruptLine): boolean;
  /** InterruptStatus may have dropped to `status`. */
  settle(irq: InterruptLine | undefined, status: number): void;
}

/** libvmm: one injection per event; the ack callback does nothing. */
function edgeLine(): LineDriver {
  return { raise: (irq) => irq.raise(), settle: () => {} };
}

/** §4.2.3.4: the line is up while InterruptStatus ≠ 0; raised once, lowered when it clears. */
function levelLine(): LineDriver {
  let raised = false;
  return {
    raise(irq) {
      if (raised) return true;
      raised = irq.raise();
      return raised;
    },
    settle(irq, status) {
      if (status !== 0 || !raised) return;
      raised = false;
      irq?.lower?.();
    },
  };
}

export class InterruptRegister {
  private status = 0;
  private readonly setCause: SetCause;
  private readonly line: LineDriver;

  constructor(
    private readonly core: TransportCore,
    private readonly irq: InterruptLine | undefined,
    defects: { readonly interruptStatusOverwrite: boolean; readonly edgeInterrupt: boolean },
  ) {
    this.setCause = chooseBehaviour(defects.interruptStatusOverwrite, overwriteCause, orCause);
    this.line = chooseBehaviour(defects.edgeInterrupt, edgeLine, levelLine)();
  }

  get value(): number {
    return this.status;
  }

  /** Add cause `bit` and raise the line; returns whether the injection succeeded. */
  signal(bit: number): boolean {
    this.status = this.setCause(this.core, this.status, bit);
    if (this.irq === undefined) return true;
    return this.line.raise(this.irq);
  }

  /** InterruptACK: clear the acknowledged causes. */
  acknowledge(value: number): void {
    this.status = (this.status & ~value) >>> 0;
    this.line.settle(this.irq, this.status);
  }

  reset(): void {
    this.status = 0;
    this.line.settle(this.irq, this.status);
  }
}
