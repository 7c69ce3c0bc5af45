/**
 * A thread control block, cut the way seL4 cuts its TCB state among the kernel's parts
 * (reference §4.1): the core the dispatch loop owns, and one small record per part — scheduling
 * (`sched`), notification word (`ntfn`), endpoint IPC (`ipc`), virtual CPU (`vcpu`) and fault
 * handling (`fault`). A part writes only its own record and reads the others.
 */
import type { FaultMessage, FaultReply, MessageInfo } from "../program.js";
import type { EntryPoint, ThreadStateName } from "./event-log.js";
import type { ScheduledEvent } from "./event-queue.js";
import type { SchedContext } from "./sched-context.js";
import type { SpinWait } from "./spin.js";

export type ThreadKind = "pd" | "monitor" | "vcpu";

/** An IPC message on an endpoint: a PPC, a fault, or the passive hand-over to the monitor. */
export type IpcMessage =
  | {
      readonly kind: "ppc";
      readonly ch: number;
      readonly info: MessageInfo;
      readonly mrs: readonly bigint[];
    }
  | { readonly kind: "fault"; readonly child: number; readonly fault: FaultMessage }
  | { readonly kind: "handover"; readonly pd: Thread };

export interface ReplyPayload {
  readonly info: MessageInfo;
  readonly mrs: readonly bigint[];
  readonly fault?: FaultReply;
  /** A user exception replied with a non-zero label is not resumed (reference §2.8). */
  readonly resume?: boolean;
}

/** What a receive returns to the body. */
export type Received =
  | {
      readonly kind: "signal";
      readonly lo: number;
      readonly hi: number;
      /** Signal ids per channel, for the flow arrows of the trace. */
      readonly flows: ReadonlyMap<number, readonly number[]>;
    }
  | { readonly kind: "ipc"; readonly message: IpcMessage; readonly from: Thread };

/** The one `work` op the kernel hands every body to yield (kernel.ts `workOp`), reused. */
export interface ScratchWorkOp {
  op: "work";
  ns: number;
  kind: string;
  spin: SpinWait<unknown> | null;
}

export type KernelOp =
  /** A preemption point: the code just run takes `ns` of virtual time. */
  | {
      readonly op: "work";
      readonly ns: number;
      readonly kind: string;
      /** The step is a turn of a declared busy-wait (spin.ts). */
      readonly spin?: SpinWait<unknown> | null;
    }
  /** The receive phase of the event loop, optionally replying first (`ReplyRecv`). */
  | { readonly op: "recv"; readonly reply?: ReplyPayload }
  /** `seL4_Call` on an endpoint: PPC or fault IPC. The reply arrives in `ipc.lastReply`. */
  | { readonly op: "call"; readonly target: Thread; readonly message: IpcMessage }
  /** A vCPU waits (untrapped WFI) until a virtual IRQ is pending. */
  | { readonly op: "wait-virq" };

/** Scheduler's record (reference §3.1–§3.3): queue membership, SC binding, throttling, domain. */
export class SchedRecord {
  /** In a ready queue. */
  queued = false;
  /** Throttled: runnable but waiting for its SC's next refill. */
  inRelease = false;
  releaseEvent: ScheduledEvent | null = null;
  /** The SC the thread runs on now: its own, a donated one, or none (passive, blocked). */
  sc: SchedContext | null;
  /** Passive after the monitor hand-over (reference §2.9). */
  passive = false;
  /** Scheduling domain (reference §3.3); vCPU threads stay in domain 0 (microkit#594). */
  domain = 0;

  constructor(readonly ownSc: SchedContext) {
    this.sc = ownSc;
  }
}

/** Notification part's record (reference §2.3): the notification word and its signal ids. */
export class NtfnRecord {
  /** Bits 0–31 and 32–63. */
  lo = 0;
  hi = 0;
  readonly flows = new Map<number, number[]>();
}

/** Endpoint part's record (reference §2.5, §2.8): queues, reply objects, donation, MRs. */
export class IpcRecord {
  /** Callers queued on this thread's endpoint, highest priority first, FIFO within a priority. */
  readonly sendQueue: Thread[] = [];
  outgoing: IpcMessage | null = null;
  /** Endpoint owner this thread is queued on or waits for a reply from. */
  callTarget: Thread | null = null;
  /** The caller this thread owes a reply (its reply object). */
  replyTo: Thread | null = null;
  /** The caller whose SC this thread runs on. */
  donor: Thread | null = null;
  lastReply: ReplyPayload | null = null;
  readonly mrs: bigint[] = new Array<bigint>(120).fill(0n);
}

/** vCPU part's record (reference §2.10). */
export class VcpuRecord {
  /** Pending virtual IRQs. */
  virqs: number[] = [];
  /** The armed virtual timer. */
  vtimer: ScheduledEvent | null = null;
}

/** Fault part's record (reference §1.4, §2.8): who handles this thread's faults. */
export class FaultRecord {
  handler: Thread | null = null;
  /** The badge id the handler sees. */
  id = 0;
}

/** A TCB with its libmicrokit-side state. */
export class Thread {
  state: ThreadStateName = "inactive";
  body: Generator<KernelOp, void, unknown> | null = null;
  resumeValue: unknown = undefined;
  /** Virtual time left in the current work step. */
  workRemaining = 0;
  /**
   * Kernel-operation time incurred but not charged yet; added to the thread's next work step
   * (a blocking call stays atomic and its cost is billed when the thread runs again).
   */
  pendingKernelNs = 0;
  entry: EntryPoint | null = null;
  /** Total virtual time spent running. */
  runTime = 0;
  /**
   * The thread's code is inside a loop declared state-preserving (a guest's idle loop, its VMM
   * answering that loop's WFI): its steps may be fast-forwarded (fast-forward.ts).
   */
  quiet = false;
  /** The busy-wait whose turn the current work step is (spin.ts), with its price in ns. */
  spin: SpinWait<unknown> | null = null;
  spinNs = 0;
  /** `Kernel.epoch` when the turn was yielded: equal while nothing else has happened since. */
  spinEpoch = -1;
  readonly sched: SchedRecord;
  readonly ntfn = new NtfnRecord();
  readonly ipc = new IpcRecord();
  readonly vcpu = new VcpuRecord();
  readonly fault = new FaultRecord();

  constructor(
    readonly index: number,
    readonly name: string,
    readonly kind: ThreadKind,
    readonly priority: number,
    ownSc: SchedContext,
  ) {
    this.sched = new SchedRecord(ownSc);
  }
}
