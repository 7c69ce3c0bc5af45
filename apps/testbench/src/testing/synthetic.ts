/**
 * Scenarios built in memory for tests and property suites: two sDDF-client guests on the
 * bundled `traces/systems/serial-two-guests.system`, with short made-up traces.
 */
import { fileURLToPath } from "node:url";
import type { Asciicast } from "../asciicast.js";
import type { GuestCpu, GuestInput, KeyStroke, Knobs, Scenario } from "../scenario.js";

/** The bundled two-guest serial system. */
export const BUNDLED_SYSTEM = fileURLToPath(
  new URL("../../../../traces/systems/serial-two-guests.system", import.meta.url),
);

export interface SyntheticGuest {
  /** `[seconds, text]` outputs, in time order. */
  readonly output: readonly (readonly [number, string])[];
  readonly cpu?: GuestCpu;
  readonly input?: GuestInput;
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

/** A scenario for guests `guest1` and `guest2` (the bundled system's client PDs). */
export function syntheticScenario(options: {
  readonly guests: readonly [SyntheticGuest, SyntheticGuest];
  readonly keyboard?: readonly KeyStroke[];
  readonly knobs?: Partial<Knobs>;
  readonly file?: string;
}): Scenario {
  return {
    file: options.file ?? "<synthetic>",
    description: undefined,
    systemPath: BUNDLED_SYSTEM,
    guests: options.guests.map((g, k) => ({
      name: `guest${k + 1}`,
      kind: "sddf-client" as const,
      pd: `guest${k + 1}`,
      tracePath: `<synthetic guest${k + 1}>`,
      trace: syntheticCast(g.output),
      cpu: g.cpu ?? "idle",
      input: g.input ?? "record",
    })),
    keyboard: [...(options.keyboard ?? [])].sort((a, b) => a.at - b.at),
    knobs: { ...DEFAULT_KNOBS, ...options.knobs },
    expect: undefined,
    lineOf: () => 1,
  };
}
