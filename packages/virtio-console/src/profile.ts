/**
 * The console's own libvmm defects (reference virtio §4.5, §4.8, §4.9, §4.11; sddf-serial
 * §9, §10), each a named switch: `true` = behave like libvmm's `console.c`. The transport
 * and virtqueue defects live in @vmmux/virtio-core and are switched there.
 */
import type { Profile } from "@vmmux/profiles";

export const CONSOLE_DEFECTS = {
  featuresLibvmm: {
    ref: "§4.4",
    summary: "only VIRTIO_F_VERSION_1 is offered and config space is refused",
  },
  notifyRunsBoth: {
    ref: "§4.5",
    summary: "every QueueNotify and serial-RX signal runs RX then TX, whatever the queue index",
  },
  txQueueSelGate: {
    ref: "§4.5",
    summary: "TX runs only while QueueSel is 1, not for the queue that was notified",
  },
  txWholeChain: {
    ref: "§4.8",
    summary:
      "a TX chain is copied whole or not at all; one that does not fit blocks all later ones",
  },
  txOversizeAssert: {
    ref: "L4",
    summary: "a TX chain larger than the serial queue asserts (debug) or stalls forever (release)",
  },
  txBadHeadAssert: {
    ref: "L5",
    summary: "a TX head beyond the queue fails read_data's assert (debug) or is returned (release)",
  },
  txNoRecheck: {
    ref: "T8",
    summary: "TX requests a consumer signal without re-checking the free space",
  },
  txSignalIgnored: {
    ref: "L13",
    summary: "virt_tx's wake-up on the TX channel is ignored; blocked TX waits for a kick or input",
  },
  rxDiscardBeforeReady: {
    ref: "L14",
    summary: "input that arrives while the RX queue is not ready is dequeued and discarded",
  },
  directionUnchecked: {
    ref: "L15",
    summary: "payload counts every descriptor: TX reads writable buffers, RX writes readable ones",
  },
} as const satisfies Record<string, { ref: string; summary: string }>;

export type ConsoleDefectName = keyof typeof CONSOLE_DEFECTS;

export type ConsoleDefectSwitches = { readonly [K in ConsoleDefectName]: boolean };

/** The console switches of a profile with optional per-defect overrides. */
export function consoleDefectsFor(
  profile: Profile,
  overrides: Partial<ConsoleDefectSwitches> = {},
): ConsoleDefectSwitches {
  const on = profile === "reference";
  const switches = {} as Record<ConsoleDefectName, boolean>;
  for (const name of Object.keys(CONSOLE_DEFECTS) as ConsoleDefectName[]) {
    switches[name] = overrides[name] ?? on;
  }
  return switches;
}

/** What a console defect did when it bit. */
export type ConsoleImpact =
  /** The VMM PD would trap (debug-build assert): the device stops for good. */
  | "vmm-crash"
  /** Output or input waits with no event that will resume it. */
  | "stall"
  /** Bytes were thrown away. */
  | "loss"
  /** Behaviour differs from the spec without loss. */
  | "deviation";

/** A console defect exercised under the `reference` profile (reported, not thrown). */
export interface ConsoleFinding {
  readonly defect: ConsoleDefectName;
  readonly ref: string;
  readonly impact: ConsoleImpact;
  /** Lower-case description naming the place (port, queue, descriptor head, byte count). */
  readonly message: string;
}

export function consoleFinding(
  defect: ConsoleDefectName,
  impact: ConsoleImpact,
  message: string,
): ConsoleFinding {
  return { defect, ref: CONSOLE_DEFECTS[defect].ref, impact, message };
}
