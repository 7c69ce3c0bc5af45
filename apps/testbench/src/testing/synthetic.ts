/**
 * Scenarios built in memory for tests and property suites: two sDDF-client guests on the
 * bundled `traces/systems/serial-two-guests.system`, with short made-up traces.
 */
import { fileURLToPath } from "node:url";
import type { Asciicast } from "../asciicast.js";
import type {
  GuestCpu,
  GuestInput,
  KeyStroke,
  Knobs,
  Scenario,
  ScenarioGuest,
} from "../scenario.js";

/** The bundled two-client serial system. */
export const BUNDLED_SYSTEM = fileURLToPath(
  new URL("../../../../traces/systems/serial-two-guests.system", import.meta.url),
);

/** The bundled two-VM system (VMMs `vmm_guest1`, `vmm_guest2`). */
export const BUNDLED_VM_SYSTEM = fileURLToPath(
  new URL("../../../../traces/systems/vm-two-guests.system", import.meta.url),
);

export interface SyntheticGuest {
  /** `[seconds, text]` outputs, in time order. */
  readonly output: readonly (readonly [number, string])[];
  readonly cpu?: GuestCpu;
  readonly input?: GuestInput;
  /** A `vm` guest only: run `@vmmux/vmm`'s hostile guest instead of the trace. */
  readonly hostile?: boolean;
}

export const DEFAULT_KNOBS: Knobs = {
  profile: "hardened",
  seed: 1,
  durationLimit: 10,
  colour: true,
  lineAtomic: false,
  baud: 115_200,
  uart: "hardware",
  queueSizes: {},
  pds: {},
};

export function syntheticCast(output: readonly (readonly [number, string])[]): Asciicast {
  return {
    header: { version: 2, width: 80, height: 24 },
    events: output.map(([time, data]) => ({ time, code: "o" as const, data })),
  };
}

/**
 * A scenario for guests `guest1` and `guest2`: sDDF client PDs on the bundled serial system,
 * or (`kind: "vm"`) Linux guests on the bundled two-VM system.
 */
export function syntheticScenario(options: {
  readonly guests: readonly [SyntheticGuest, SyntheticGuest];
  readonly kind?: "sddf-client" | "vm";
  readonly keyboard?: readonly KeyStroke[];
  readonly knobs?: Partial<Knobs>;
  readonly file?: string;
}): Scenario {
  const vm = options.kind === "vm";
  return {
    file: options.file ?? "<synthetic>",
    description: undefined,
    systemPath: vm ? BUNDLED_VM_SYSTEM : BUNDLED_SYSTEM,
    guests: options.guests.map((g, k): ScenarioGuest => {
      const common = {
        name: `guest${k + 1}`,
        tracePath: `<synthetic guest${k + 1}>`,
        trace: syntheticCast(g.output),
      };
      return vm
        ? {
            ...common,
            kind: "vm",
            workload: g.hostile === true ? "hostile" : "trace",
            pd: `vmm_guest${k + 1}`,
            input: g.input ?? "echo",
            thenShell: false,
            boot: 0.002,
            loopCostUs: 20,
          }
        : {
            ...common,
            kind: "sddf-client",
            pd: `guest${k + 1}`,
            cpu: g.cpu ?? "idle",
            input: g.input ?? "record",
          };
    }),
    keyboard: [...(options.keyboard ?? [])].sort((a, b) => a.at - b.at),
    knobs: { ...DEFAULT_KNOBS, ...options.knobs },
    expect: undefined,
    lineOf: () => 1,
  };
}
