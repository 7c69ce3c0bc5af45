/**
 * The `real` guest kind of a scenario (issue 10): Debian's unmodified Linux kernel on the v86
 * emulator as the vCPU of a VMM PD (`@vmmux/v86-guest`, reference real-guest.md). It prints no
 * trace; its console output is whatever the kernel and its shell on `/dev/hvc0` write.
 */
import { z } from "zod";
import type { Asciicast } from "../asciicast.js";
import type { VmScenarioGuest } from "../scenario.js";

/** Emulated million instructions per virtual second when a scenario does not say. */
export const DEFAULT_REAL_MIPS = 1000;

export const realGuestSchema = z.strictObject({
  name: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]{0,62}$/, "must be a PD name: letters, digits, _ (at most 63)"),
  kind: z.literal("real"),
  /** The VMM PD in the system file (it holds the `virtual_machine`); default `vmm_<name>`. */
  pd: z.string().min(1).max(64).optional(),
  /** Emulated instructions per virtual microsecond: the guest's clock rate in the cost model. */
  mips: z.number().int().min(1).max(100_000).default(DEFAULT_REAL_MIPS),
  /** Kernel command-line words added after the ones the guest needs (e.g. `quiet`). */
  cmdline: z.string().max(1000).default(""),
});

/** What a real guest adds to a `vm` guest (a scenario's `kind: "real"` entry). */
export interface RealGuestSettings {
  readonly mips: number;
  readonly cmdline: string;
}

const NO_TRACE: Asciicast = { header: { version: 2, width: 80, height: 24 }, events: [] };

/**
 * The scenario guest of a validated `real` entry: a `vm` guest (a VMM PD with a virtual
 * machine) whose workload is `real`; it replays no trace and its tty echoes typed input.
 */
export function realScenarioGuest(g: z.output<typeof realGuestSchema>): VmScenarioGuest {
  return {
    kind: "vm",
    workload: "real",
    real: { mips: g.mips, cmdline: g.cmdline },
    name: g.name,
    pd: g.pd ?? `vmm_${g.name}`,
    tracePath: "",
    trace: NO_TRACE,
    input: "echo",
    thenShell: false,
    boot: 0,
    loopCostUs: 1,
  };
}
