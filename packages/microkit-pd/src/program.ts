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
  /** Record a device event (for example a byte leaving the wire) in the event log. */
  trace(name: string, args?: Readonly<Record<string, unknown>>): void;
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
