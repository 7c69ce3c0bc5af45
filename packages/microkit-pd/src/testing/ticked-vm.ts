/**
 * The small system the Perfetto export tests stream (runtime/perfetto.test.ts,
 * perfetto-window.test.ts): an idle guest whose VMM answers its WFI exits repeatably, and a PD
 * that takes IRQ 40 and signals the VMM, which injects a virtual IRQ. Flows, entry points, idle
 * runs and (with `onTick`) a counter, in a few lines of a test.
 */
import type { PdContext, PreemptionPoint } from "../program.js";
import { work } from "../program.js";
import { System } from "../runtime/system.js";
import { describeSystem } from "./describe-system.js";
import { pdProgram } from "./programs.js";

export interface TickedVmOptions {
  readonly retainEvents: boolean;
  /** The VMM's work after injecting the virtual IRQ (default 1 unit of `default` work). */
  readonly vmmWork?: PreemptionPoint;
  /** Called by the ticking PD at each IRQ, before it signals the VMM. */
  readonly onTick?: (pd: PdContext) => void;
}

/** The system; its IRQ is raised with {@link raiseTicks}. */
export function tickedVmSystem(options: TickedVmOptions): System {
  const repeatable = { repeat() {} };
  return new System(
    describeSystem({
      pds: [
        { name: "vmm", priority: 100, vm: { name: "vm", priority: 99 } },
        { name: "tick", priority: 120, irqs: [{ id: 0, irq: 40 }] },
      ],
      channels: [
        [
          { pd: "tick", id: 1 },
          { pd: "vmm", id: 1 },
        ],
      ],
    }),
    {
      retainEvents: options.retainEvents,
      programs: {
        "vmm.elf": pdProgram({
          *init(pd) {
            pd.vcpuRestart(0);
          },
          *notified(_ch, pd) {
            pd.vcpuInjectIrq(0, 33);
            yield options.vmmWork ?? work("default", 1);
          },
          *fault() {
            yield work("default", 1);
            return { resume: true, repeatable };
          },
        }),
        "tick.elf": pdProgram({
          *notified(ch, pd) {
            pd.irqAck(ch);
            options.onTick?.(pd);
            pd.notify(1);
            yield work("us", 1);
          },
        }),
      },
      guests: {
        vm: {
          *run(vcpu) {
            for (;;) {
              yield* vcpu.idle({ pass: work("ns", 200) });
              while (vcpu.takeIrq() !== undefined) yield* vcpu.eoi(33);
            }
          },
        },
      },
    },
  );
}

/** Raise and lower the ticking PD's IRQ at each of `count` instants `everyNs` apart. */
export function raiseTicks(sys: System, count: number, everyNs: number): void {
  for (let t = 1; t <= count; t++) {
    sys.at(t * everyNs, () => {
      sys.setIrqLevel(40, true);
      sys.setIrqLevel(40, false);
    });
  }
}
