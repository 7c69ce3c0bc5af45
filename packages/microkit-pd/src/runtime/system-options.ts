/**
 * What a {@link System} is built from besides its SDF: the registries of programs, guests and
 * devices, and the fidelity switches; and what inspection reports about a thread.
 */
import type { DeviceHost, GuestProgram, MmioDevice, PdProgram } from "../program.js";
import type { CostModelOverride } from "./cost-model.js";
import type { EntryPoint, RuntimeEvent, ThreadStateName } from "./event-log.js";
import type { ThreadKind } from "./tcb.js";

/** A PD program, or a factory called once per PD that runs the image (and again on restart). */
export type ProgramEntry = PdProgram | ((pdName: string) => PdProgram);
/** A guest program, or a factory called each time the vCPU is (re)started. */
export type GuestEntry = GuestProgram | ((vcpuId: number) => GuestProgram);
/** A device model, or a factory given the device's host interface. */
export type DeviceEntry = MmioDevice | ((host: DeviceHost) => MmioDevice);

export interface SystemOptions {
  /** PD programs by `program_image` path. */
  readonly programs: Readonly<Record<string, ProgramEntry>>;
  /** Guest programs by virtual-machine name. */
  readonly guests?: Readonly<Record<string, GuestEntry>>;
  /** Device models by the name of the memory region (with `phys_addr`) that holds their registers. */
  readonly devices?: Readonly<Record<string, DeviceEntry>>;
  /** The run's one seed (default 1). */
  readonly seed?: number;
  readonly costModel?: CostModelOverride;
  /** MIN_BUDGET in µs (reference §3.2, §4.4; default 0). */
  readonly minBudgetUs?: number;
  /**
   * Equal-priority start order (reference §2.1, derived): `capdl` resumes TCBs in byte-wise
   * alphabetical order of their names, each to the head of its queue, so the alphabetically last
   * PD runs `init` first (default); `document` starts equal-priority PDs in SDF order.
   */
  readonly bootOrder?: "capdl" | "document";
  /** Back memory regions with SharedArrayBuffer (default false). */
  readonly sharedMemory?: boolean;
  /**
   * Memory regions backed by bytes the caller owns instead of fresh buffers, each exactly the
   * region's size: for example a real guest's RAM, which lives in an emulator's shared memory.
   */
  readonly regionBacking?: Readonly<Record<string, Uint8Array>>;
  /** WFI traps to the VMM (seL4's default, reference §2.10); false blocks the vCPU until a virtual IRQ. */
  readonly trapWfi?: boolean;
  /** Record the event log (default true). */
  readonly recordEvents?: boolean;
  /** Also record every preemption point a thread reaches (default false; large logs). */
  readonly recordPoints?: boolean;
  /** Record thread state changes (`state` events; default true; the Perfetto export skips them). */
  readonly recordStates?: boolean;
  /** Record every kernel cycle's scheduling records (default true; see `KernelOptions`). */
  readonly recordCycles?: boolean;
  /**
   * Keep recorded events in `System.log` (default true). With false the kernel keeps none:
   * listeners (`onEvent` here or `System.onEvent`, e.g. a `PerfettoStream`) see each event as it
   * is logged, so a run of any length needs memory for its state only.
   */
  readonly retainEvents?: boolean;
  /** Called with each event as it is recorded (see {@link retainEvents}). */
  readonly onEvent?: (event: RuntimeEvent) => void;
  /**
   * Advance idle guests' trapped-WFI loops by whole periods of arithmetic instead of simulating
   * every trap (default true). Exact: clock, run times, slice use, counters and event count come
   * out as with `false`, which simulates every trap; the log shows each applied run as one `idle`
   * record. See the README's "Fast-forward".
   */
  readonly fastForward?: boolean;
  /**
   * End a work step that nothing else can interrupt (no heap event, release, IRQ or timer due
   * before its end, within the run's limit) in the dispatch loop, without putting its timer on
   * the heap (default true). Exact: clock, run times, slice use, `eventsProcessed` (each such
   * step counts as the event it replaces) and log are the same as with `false`.
   */
  readonly inlineSteps?: boolean;
  /**
   * Fast-forward leaps over device ticks that change nothing before the device's next wake
   * (`DeviceHost.atTick`, `ticks.ts`; exact; default true; false fires every one on the way).
   */
  readonly inertTicks?: boolean;
  /**
   * Fast-forward leaps one measured period after a hand-over or a taint, by a thread's memo of
   * its last period (`fast-forward-resume.ts`; exact; default true). False waits for two measured
   * periods, as a Perfetto timeline folds best (the cycles before a leap form runs).
   */
  readonly resumeLeaps?: boolean;
  /**
   * Domain of vCPU threads when the SDF has a domain schedule: `zero` is the pinned Microkit
   * behaviour (microkit#594, reference §3.3: a VM whose VMM is in another domain hangs); `vmm`
   * puts them in their VMM's domain as the upstream fix does. Default `zero`.
   */
  readonly vcpuDomain?: "zero" | "vmm";
  /** Length of a domain-schedule `ticks` unit in ns (platform timer; default 1000). */
  readonly domainTickNs?: number;
}

/** A thread as inspection reports it. */
export interface ThreadInfo {
  readonly name: string;
  readonly kind: ThreadKind;
  readonly priority: number;
  /** `running` when it holds the core; otherwise its kernel state. */
  readonly state: ThreadStateName | "running";
  readonly throttled: boolean;
  readonly passive: boolean;
  /** Virtual ns spent on the core. */
  readonly runTime: number;
  /** The entry point it is inside, if any. */
  readonly entry: EntryPoint | null;
  /** Budget and period of its own SC, in ns. */
  readonly budget: number;
  readonly period: number;
  /** Scheduling domain (reference §3.3). */
  readonly domain: number;
}
