/**
 * The runtime's error family. Configuration mistakes (an SDF the runtime cannot run, a missing
 * program) throw at load; misuse reachable from a PD or a guest is reported in the event log and
 * contained (the thread faults), never thrown out of the kernel.
 */

export type RuntimeErrorCode =
  /** A `program_image` path has no registered program. */
  | "RT_MISSING_PROGRAM"
  /** A PPC channel whose callee is not of strictly higher priority (reference §1.5 G10, §2.5). */
  | "RT_PPC_PRIORITY"
  /** A device was attached to a memory region that does not exist or has no `phys_addr`. */
  | "RT_BAD_DEVICE"
  /** A device drove an IRQ number that no PD owns. */
  | "RT_UNKNOWN_IRQ"
  /** A parameter out of range (priority, budget below MIN_BUDGET, time in the past). */
  | "RT_BAD_CONFIG"
  /** A thread made no progress in virtual time for too many steps (zero-cost loop). */
  | "RT_LIVELOCK"
  /** The kernel reached a state its invariants rule out (a bug in the runtime). */
  | "RT_INTERNAL";

/** Raised by the runtime for configuration errors and broken invariants. */
export class RuntimeError extends Error {
  override readonly name = "RuntimeError";
  constructor(
    readonly code: RuntimeErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Thrown through PD or guest code when it violates its mappings or misuses the API; the kernel
 * catches it at the preemption point and turns it into a fault IPC (reference §2.8). It never
 * leaves the runtime.
 */
export class ThreadFault extends Error {
  override readonly name = "ThreadFault";
  constructor(
    readonly fault:
      | {
          readonly kind: "memory";
          readonly region: string;
          readonly offset: number;
          readonly write: boolean;
        }
      | { readonly kind: "exception"; readonly message: string },
  ) {
    super(
      fault.kind === "memory"
        ? `${fault.write ? "store to" : "load from"} region '${fault.region}' at offset ${fault.offset} violates its mapping`
        : fault.message,
    );
  }
}

/**
 * Thrown into a guest program by `mmioRead`/`mmioWrite` when its VMM answers the exit with
 * `abort: true`: the model of a synchronous external data abort taken by the guest.
 */
export class GuestDataAbort extends Error {
  override readonly name = "GuestDataAbort";
  readonly code = "GUEST_DATA_ABORT";
  constructor(
    readonly address: number,
    readonly write: boolean,
  ) {
    super(`data abort on ${write ? "store to" : "load from"} 0x${address.toString(16)}`);
  }
}
