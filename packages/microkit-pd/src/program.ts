/**
 * The contract between the runtime and the programs it runs: protection-domain programs
 * written as generator functions, and MMIO devices driven in virtual time.
 *
 * A PD program mirrors a libmicrokit PD (microkit reference §2.2): `init`, then one
 * entry point per event. Every entry point is a generator; each `yield` is a
 * preemption point that charges virtual time through the runtime's cost model
 * (DESIGN.md "The simulation kernel"). A higher-priority thread that becomes
 * runnable takes the core at the next preemption point, as the single-core seL4
 * kernel would at its next kernel entry.
 */

/** Virtual time, integer nanoseconds since boot. */
export type Nanoseconds = number;

/**
 * What a preemption point charges: `units` times the cost-model price of `kind`
 * (for example `{ kind: "copy", units: 64 }` for a 64-byte copy).
 */
export interface PreemptionPoint {
  readonly kind: string;
  readonly units?: number;
}

/** A preemption point charging `units` of work of the given kind. */
export function work(kind: string, units = 1): PreemptionPoint {
  return { kind, units };
}

/**
 * The body of an entry point. `yield` marks a preemption point; `return` ends the
 * entry point. Blocking calls (`ppcall`) are delegated with `yield*`.
 */
export type PdStep<T = void> = Generator<PreemptionPoint, T, undefined>;

/** `seL4_MessageInfo` as libmicrokit uses it (microkit reference §2.7). */
export interface MessageInfo {
  /** 52-bit label. */
  readonly label: number;
  /** Number of message registers that travel with the message (0–120). */
  readonly count: number;
}

/** Access rights of a mapping, as the SDF `perms` attribute gives them. */
export interface Permissions {
  readonly read: boolean;
  readonly write: boolean;
  readonly execute: boolean;
}

/**
 * A memory region mapped into a PD. Checked accessors enforce the mapping's
 * permissions: a store through a read-only mapping raises a fault for the PD, as the
 * real system does, instead of writing.
 */
export interface MappedRegion {
  readonly name: string;
  /** Virtual address in the PD (`vaddr` or the `setvar_vaddr` value). */
  readonly vaddr: number;
  readonly size: number;
  readonly perms: Permissions;
  /** The backing memory, shared with every other PD that maps the same region. */
  readonly buffer: ArrayBufferLike;
  readonly byteOffset: number;
  /** A view for code that shares the region as a data structure. Faults unless mapped `rw`. */
  writable(): Uint8Array;
  load8(offset: number): number;
  load32(offset: number): number;
  store8(offset: number, value: number): void;
  store32(offset: number, value: number): void;
}

/**
 * A device register window mapped into a PD: every access has side effects.
 * Provenance (DESIGN.md) rides beside data registers: `write` may carry the tag of
 * the byte written, and `readTag` gives the tag of the value the last `read` at that
 * offset returned (0 = untagged).
 */
export interface MmioPort {
  readonly name: string;
  read(offset: number, width: AccessWidth): number;
  write(offset: number, width: AccessWidth, value: number, tag?: number): void;
  readTag(offset: number): number;
}

export type AccessWidth = 1 | 2 | 4 | 8;

/**
 * What a PD program can ask of the kernel and libmicrokit (microkit reference §2.11).
 * Channel ids are the PD's own ends (0–62).
 */
export interface PdContext {
  readonly name: string;
  /** `microkit_notify`: signal the peer; may preempt the caller at its next yield. */
  notify(ch: number): void;
  /** `microkit_irq_ack`: unmask the IRQ line; a level IRQ still asserted fires again. */
  irqAck(ch: number): void;
  /** `microkit_deferred_notify`: one slot, performed when the entry point returns. */
  deferredNotify(ch: number): void;
  /** `microkit_deferred_irq_ack`: same slot as `deferredNotify`; last call wins. */
  deferredIrqAck(ch: number): void;
  /** `microkit_ppcall`: blocks until the higher-priority callee replies. Use with `yield*`. */
  ppcall(ch: number, msg: MessageInfo): PdStep<MessageInfo>;
  mrGet(index: number): bigint;
  mrSet(index: number, value: bigint): void;
  /** A memory region mapped into this PD, by its SDF name. */
  memory(name: string): MappedRegion;
  /** A device register window mapped into this PD, by its SDF memory-region name. */
  mmio(name: string): MmioPort;
  /** Current virtual time. */
  now(): Nanoseconds;
  /** Uniform in [0, 1) from the run's seeded generator. */
  random(): number;
  /** A debug print (`microkit_dbg_puts`), recorded in the event log. */
  debug(message: string): void;
  /** Publish a counter track value (for example a queue depth) to the event log. */
  counter(name: string, value: number): void;
  /**
   * `microkit_vcpu_restart`: (re)start one of this VMM's vCPUs, running its guest program from
   * the beginning (microkit reference §2.10: vCPU threads are not started at boot).
   */
  vcpuRestart(vcpuId: number): void;
  /**
   * `microkit_pd_restart`: restart child PD `childId` (its `id` in the SDF) at its entry point
   * (microkit reference §2.8): whatever it was doing is abandoned, a fresh program instance runs
   * `init` again and then its event loop. A parent typically calls it from `fault` (reply
   * `{ resume: false }`, so the fault reply does not resume the old code). Not a child: a debug
   * print, nothing else.
   */
  pdRestart(childId: number): void;
  /** `microkit_pd_stop`: stop child PD `childId` until restarted. */
  pdStop(childId: number): void;
  /** `microkit_vcpu_stop`: suspend the vCPU thread. */
  vcpuStop(vcpuId: number): void;
  /**
   * `microkit_vcpu_restart` with the vCPU's current PC (microkit reference §2.8: write registers
   * and resume): a vCPU stopped by `vcpuStop`, or left without a reply because `fault` returned
   * `{ resume: false }`, continues where it stopped instead of from the start; the exit it was
   * blocked in completes with no value. A VMM emulates a blocking WFI this way: it leaves the
   * WFI exit unanswered and resumes the vCPU when it injects an interrupt. No effect on a vCPU
   * that is running, runnable, waiting for another reply, never started or finished.
   */
  vcpuResume(vcpuId: number): void;
  /**
   * `microkit_vcpu_arm_inject_irq`: make a virtual IRQ pending for the guest; wakes a vCPU that
   * waits in an untrapped WFI. No scheduling effect on the caller (§2.11).
   */
  vcpuInjectIrq(vcpuId: number, irq: number): void;
}

/**
 * A PD program. `notified` is called once per set notification bit, in ascending
 * channel order (microkit reference §2.2). A PD without `protected` or `fault` that
 * receives such a message faults, as libmicrokit's weak stubs do.
 */
export interface PdProgram {
  init(pd: PdContext): PdStep;
  notified(ch: number, pd: PdContext): PdStep;
  protected?(ch: number, msg: MessageInfo, pd: PdContext): PdStep<MessageInfo>;
  /**
   * A child PD or one of this PD's vCPUs faulted (microkit reference §2.8, §2.10). `child` is
   * the child id or vCPU id. Return `{ resume: true }` to reply (libmicrokit's `true`), with the
   * value a trapped MMIO read returns; `{ resume: false }` sends no reply and the faulting thread
   * never runs again unless restarted.
   */
  fault?(child: number, msg: FaultMessage, pd: PdContext): PdStep<FaultReply>;
}

/** Why a guest left the vCPU and now waits for its VMM (libvmm `fault.c`, reference §2.10). */
export type GuestExit =
  /** Stage-2 data abort on a load: the VMM emulates the register and replies with `value`. */
  | { readonly kind: "mmio-read"; readonly address: number; readonly width: AccessWidth }
  /** Stage-2 data abort on a store. `tag` carries provenance beside the data. */
  | {
      readonly kind: "mmio-write";
      readonly address: number;
      readonly width: AccessWidth;
      readonly value: number;
      readonly tag?: number;
    }
  /** A trapped WFI/WFE (vCPU fault, EC = WFx). libvmm resumes at once. */
  | { readonly kind: "wfi" }
  /** HVC/SMC call (PSCI and friends) with its function id and arguments. */
  | { readonly kind: "hypercall"; readonly fn: number; readonly args: readonly number[] }
  /** vGIC maintenance: the guest completed (EOI'd) an injected virtual IRQ. */
  | { readonly kind: "vgic-maintenance"; readonly irq: number };

/** The fault a PD's `fault` entry point is handed. */
export type FaultMessage =
  /** A vCPU of this VMM trapped. */
  | { readonly kind: "vcpu"; readonly vcpuId: number; readonly exit: GuestExit }
  /** A child PD's access violated its mappings (seL4 VM fault). */
  | {
      readonly kind: "memory";
      readonly region: string;
      readonly offset: number;
      readonly write: boolean;
    }
  /** A child PD raised an exception the model cannot attribute to memory (user exception). */
  | { readonly kind: "exception"; readonly message: string };

/** What a `fault` handler answers (libmicrokit: return value plus `reply_msginfo`). */
export interface FaultReply {
  /** Reply and resume the faulting thread. */
  readonly resume: boolean;
  /** For an `mmio-read` or `hypercall` exit: the value the guest receives. */
  readonly value?: number;
  /** Reply label; a user exception resumes only with label 0 (§2.8). */
  readonly label?: number;
  /**
   * For a `wfi` exit answered at once: the VMM's promise that answering one more such exit
   * changes nothing in it but what `repeat` applies (its counters), so the kernel may advance
   * whole idle trap cycles by arithmetic (see {@link VcpuContext.idle}). Leave it out whenever
   * the exit did anything else. Give the same object with every such reply.
   */
  readonly repeatable?: RepeatableExit;
  /**
   * For an `mmio-read`/`mmio-write` exit: inject a synchronous data abort into the guest instead
   * of completing the access (what a VMM does with an access no device claims). The guest's
   * `yield* mmioRead/mmioWrite` throws a `GuestDataAbort`; uncaught, it ends the guest program
   * and reaches the VMM as an `exception` fault.
   */
  readonly abort?: boolean;
}

/**
 * The body of a guest program on a vCPU. `yield` charges guest compute time (a preemption point
 * of the vCPU thread); exits are delegated with `yield*` and block the vCPU until its VMM replies.
 */
export type GuestStep<T = void> = Generator<PreemptionPoint, T, undefined>;

/** What a guest program can do on its vCPU (an AArch64 guest under libvmm, reference §2.10). */
export interface VcpuContext {
  readonly vmName: string;
  readonly vcpuId: number;
  /** A load from an emulated device: traps to the VMM, returns the value it replies with. */
  mmioRead(address: number, width: AccessWidth): GuestStep<number>;
  /** A store to an emulated device: traps to the VMM. */
  mmioWrite(address: number, width: AccessWidth, value: number, tag?: number): GuestStep;
  /**
   * Wait for interrupt. With WFI trapping (the seL4 default) this is a vCPU fault the VMM answers
   * at once, so an idle guest looping on WFI stays runnable; without trapping the vCPU blocks
   * until a virtual IRQ is pending.
   */
  wfi(): GuestStep;
  /**
   * Idle until a virtual IRQ is pending or the loop's own deadline passes: WFI, then the loop's
   * pass, again and again (see {@link IdleLoop}). Only the guest's declared loop runs meanwhile,
   * which lets the kernel fast-forward it when the VMM answers each WFI at once.
   */
  idle(loop: IdleLoop): GuestStep;
  /** HVC/SMC: traps to the VMM, returns its reply value. */
  hypercall(fn: number, args?: readonly number[]): GuestStep<number>;
  /** Acknowledge the oldest pending virtual IRQ (GIC IAR read); `undefined` when none. */
  takeIrq(): number | undefined;
  /** Whether a virtual IRQ is pending. */
  irqPending(): boolean;
  /** End of interrupt: exits to the VMM as a vGIC maintenance fault. */
  eoi(irq: number): GuestStep;
  /** Guest RAM by memory-region name, as the VM's `map` elements give it. */
  memory(name: string): MappedRegion;
  /**
   * Arm the guest's virtual timer (CNTV): at virtual time `deadline` the timer PPI (27 unless
   * given) becomes pending for this vCPU and wakes it from an untrapped WFI. `null` disarms it.
   */
  setTimer(deadline: Nanoseconds | null, ppi?: number): void;
  /** Virtual ns this vCPU has spent on the core (a descheduled guest's progress falls behind `now`). */
  runTime(): Nanoseconds;
  now(): Nanoseconds;
  random(): number;
  debug(message: string): void;
  counter(name: string, value: number): void;
}

/** What a VMM applies for `times` more identical WFI exits it would have answered (its counters). */
export interface RepeatableExit {
  repeat(times: number): void;
}

/**
 * A guest's idle loop, declared so the kernel can advance it exactly without running every pass:
 * `yield* vcpu.idle(loop)` is `for (;;) { yield* vcpu.wfi(); yield loop.pass;
 * if (vcpu.irqPending() || loop.until?.(vcpu.now())) return; }`.
 */
export interface IdleLoop {
  /** The guest's work between two WFIs (one pass of its main loop finding nothing to do). */
  readonly pass: PreemptionPoint;
  /**
   * The guest's own deadline test, asked after each pass with the current time. It must depend
   * only on the time and be monotone (once true, true at every later time); the kernel asks it
   * at times of its choosing to find where the loop ends.
   */
  readonly until?: (now: Nanoseconds) => boolean;
}

/** A guest operating system model, run from the start each time its vCPU is (re)started. */
export interface GuestProgram {
  run(vcpu: VcpuContext): GuestStep;
}

/** Handle of a device timer event, for cancellation. */
export interface TimerHandle {
  readonly id: number;
}

/**
 * What the runtime offers a device model: the virtual clock, timed callbacks that
 * run "in hardware" (outside any thread, taking no CPU time) and interrupt lines.
 */
export interface DeviceHost {
  now(): Nanoseconds;
  /** Run `action` at virtual time `time` (not earlier than now). */
  at(time: Nanoseconds, action: () => void): TimerHandle;
  cancel(handle: TimerHandle): void;
  /** Drive a level-sensitive interrupt line (a physical IRQ number from the SDF). */
  setIrqLevel(irq: number, asserted: boolean): void;
  /** One edge on an interrupt line (an assert immediately followed by a deassert). */
  pulseIrq(irq: number): void;
  /** Record a device event (for example a byte leaving the wire) in the event log. */
  trace(name: string, args?: Readonly<Record<string, unknown>>): void;
  /**
   * Like `at`, for one of a device's regular ticks that `ticks` describes: while such a tick
   * is inert, fast-forward may pass it by arithmetic instead of firing it (runtime/ticks.ts).
   */
  atTick?(time: Nanoseconds, action: () => void, ticks: InertTicks): TimerHandle;
  /**
   * `trace` for an inert tick passed by arithmetic (`InertTicks.skip`): the record that tick
   * would have written had it fired, stamped with the tick's own `time` (runtime/ticks.ts puts
   * it where the fired tick's record would have been). Absent where no record is kept, so a
   * device builds none.
   */
  traceAt?(time: Nanoseconds, name: string, args?: Readonly<Record<string, unknown>>): void;
}

/**
 * A device's regular timers whose firing changes nothing a thread or the device's observable
 * state shows before the device's next wake (a UART's character ends while its FIFO drains).
 */
export interface InertTicks {
  /** Ticks strictly before this time are inert; the one at or after it is the device's wake. */
  inertUntil(): Nanoseconds;
  /** Time of the `n`-th tick from the pending one (`n = 0`), +Infinity when there is none. */
  tickAt(n: number): Nanoseconds;
  /**
   * The pending tick and the `n − 1` after it (all inert, none fired, the pending timer already
   * removed) have passed: update the state as firing each would, and arm the next tick.
   */
  skip(n: number): void;
  /**
   * `skip` writes, through `DeviceHost.traceAt`, every trace record the ticks it passes would
   * have written when fired, and nothing else. Without it the ticks are never inert while events
   * are recorded (a passed tick would leave its record out).
   */
  readonly tracesPassed?: boolean;
}

/**
 * A device register window: the runtime forwards a PD's MMIO accesses here. `tag` and
 * `readTag` carry provenance beside the data, as on {@link MmioPort}.
 */
export interface MmioDevice {
  read(offset: number, width: AccessWidth): number;
  write(offset: number, width: AccessWidth, value: number, tag?: number): void;
  readTag?(offset: number): number;
}
