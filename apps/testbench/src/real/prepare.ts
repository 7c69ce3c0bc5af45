/**
 * The asynchronous step a scenario with real guests needs before its synchronous run: one
 * emulated PC per real guest, started fresh for every run (reference real-guest.md; the v86
 * machine boots from its first instruction, so two runs from fresh machines are the same run).
 * `@vmmux/v86-guest` is loaded only here, so scenarios without real guests never load v86.
 */
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import type { V86Guest, V86GuestOptions, V86Machine } from "@vmmux/v86-guest";
import { ScenarioError } from "../errors.js";
import { type RunOptions, type RunResult, runScenario } from "../run.js";
import type { Scenario, VmScenarioGuest } from "../scenario.js";
import { DEFAULT_REAL_MIPS } from "./schema.js";

/** Guest RAM of a real guest: what the kernel, its initramfs and the DTB need (reference §1). */
export const REAL_GUEST_RAM = 128 * 1024 * 1024;
/** Kernel command line the guest needs; a scenario's `cmdline` words follow it. */
export const REAL_GUEST_CMDLINE = "console=ttyS0,115200 loglevel=4 tsc=unstable rdinit=/init";
/** The emulated PC's wall clock at power-on: fixed, so the guest's `date` is the same every run. */
const EPOCH_MS = Date.UTC(2026, 0, 1);

/** One started emulator and how to make the vCPU program that drives it. */
export interface PreparedMachine {
  readonly machine: V86Machine;
  /** The console window as the emulated PC sees it (the SSDT's), with its I/O APIC line. */
  readonly window: { readonly base: number; readonly size: number; readonly irq: number };
  newGuest(options: V86GuestOptions): V86Guest;
  /** The last guest program made (its counters after the run). */
  current: V86Guest | undefined;
}

export interface PreparedGuests {
  /** By scenario guest name: the started emulator of each real guest. */
  readonly machines: ReadonlyMap<string, PreparedMachine>;
  /**
   * Stops every emulator (their worker threads) and collects garbage, so the guests' RAM
   * (shared memory the run's system viewed) is returned before anything else starts.
   */
  stop(): Promise<void>;
}

/**
 * A full garbage collection now. A stopped emulator's guest RAM (tens of MB resident) is freed
 * only by a major GC of the thread that made it, which a following run, allocating little that
 * lives long, may not trigger before its own emulator has claimed as much again.
 */
function collectGarbage(): void {
  setFlagsFromString("--expose-gc");
  (runInNewContext("gc") as () => void)();
}

const NONE: PreparedGuests = { machines: new Map(), stop: async () => {} };

export function hasRealGuests(scenario: Scenario): boolean {
  return scenario.guests.some((g) => g.kind === "vm" && g.workload === "real");
}

/**
 * Starts an emulated PC for each real guest of `scenario` (nothing when it has none). Fails
 * with a located message naming `pnpm guest-assets` when the boot files are absent.
 */
export async function prepareGuests(scenario: Scenario): Promise<PreparedGuests> {
  const real = scenario.guests
    .map((g, index) => ({ g, index }))
    .filter(
      (x): x is { g: VmScenarioGuest; index: number } =>
        x.g.kind === "vm" && x.g.workload === "real",
    );
  if (real.length === 0) return NONE;
  const v86 = await import("@vmmux/v86-guest");
  if (!v86.guestAssetsPresent()) {
    const { index } = real[0]!;
    throw new ScenarioError(
      scenario.file,
      scenario.lineOf(["guests", index, "kind"]),
      `guests[${index}]`,
      `a real guest boots from files not found in ${v86.guestAssetDir()}: run \`${v86.GUEST_ASSETS_COMMAND}\` once`,
    );
  }
  const machines = new Map<string, PreparedMachine>();
  const stopAll = async () => {
    await Promise.all([...machines.values()].map((m) => m.machine.stop()));
    collectGarbage();
  };
  try {
    for (const { g } of real) {
      const machine = await v86.V86Machine.start({
        assets: v86.guestAssetPaths(),
        cmdline: [REAL_GUEST_CMDLINE, g.real?.cmdline ?? ""].join(" ").trim(),
        memorySize: REAL_GUEST_RAM,
        instructionsPerMs: (g.real?.mips ?? DEFAULT_REAL_MIPS) * 1000,
        window: v86.CONSOLE_WINDOW,
        epochMs: EPOCH_MS,
        seed: scenario.knobs.seed,
      });
      machines.set(g.name, {
        machine,
        window: v86.CONSOLE_WINDOW,
        newGuest(options) {
          this.current = new v86.V86Guest(options);
          return this.current;
        },
        current: undefined,
      });
    }
  } catch (error) {
    await stopAll();
    throw error;
  }
  return { machines, stop: stopAll };
}

/**
 * `runScenario` for scenarios that may hold real guests: fresh emulators for this run, stopped
 * after it whatever happens.
 */
export async function runPrepared(
  scenario: Scenario,
  options: RunOptions = {},
): Promise<RunResult> {
  const prepared = await prepareGuests(scenario);
  try {
    return runScenario(scenario, { ...options, prepared });
  } finally {
    await prepared.stop();
  }
}
