/**
 * The `PdContext` a PD program gets (reference §2.11): libmicrokit's calls (notify, IRQ ack,
 * deferred operations with their one slot, PPC, message registers, mappings) as kernel
 * operations, and the checks that turn a program's mistakes into faults: what a preemption
 * point may be, and how many API calls may run between two of them.
 */
import type {
  FaultMessage,
  MappedRegion,
  MessageInfo,
  MmioPort,
  PdContext,
  PdStep,
  PreemptionPoint,
} from "../program.js";
import { pointCost } from "./cost-model.js";
import { ThreadFault } from "./errors.js";
import type { IrqLine } from "./irqs.js";
import type { Kernel } from "./kernel.js";
import type { Prng } from "./prng.js";
import { spinOf } from "./spin.js";
import type { IpcMessage, KernelOp, Thread } from "./tcb.js";

/** Marks a preemption point that is really a blocking kernel call (ppcall, guest exit). */
const KERNEL_CALL: unique symbol = Symbol("vmmux.kernelCall");

interface KernelCallPoint extends PreemptionPoint {
  readonly [KERNEL_CALL]: KernelOp;
}

function kernelCallPoint(kind: string, op: KernelOp): KernelCallPoint {
  return { kind, units: 0, [KERNEL_CALL]: op };
}

export function asKernelCall(point: PreemptionPoint): KernelOp | undefined {
  return (point as Partial<KernelCallPoint>)[KERNEL_CALL];
}

/**
 * The `work` op for a yielded preemption point. What a program yields is checked: anything but
 * `{ kind: string, units?: finite number >= 0 }` (e.g. `yield undefined`, NaN or negative units)
 * is a program error and faults the thread instead of corrupting the clock.
 */
export function workOf(k: Kernel, point: unknown): KernelOp {
  const p = point as { kind?: unknown; units?: unknown } | null | undefined;
  if (typeof p !== "object" || p === null || typeof p.kind !== "string") {
    throw new ThreadFault({
      kind: "exception",
      message: `yielded ${describeValue(point)} where a preemption point { kind, units } was expected`,
    });
  }
  const units = p.units;
  if (units !== undefined && !(typeof units === "number" && Number.isFinite(units) && units >= 0)) {
    throw new ThreadFault({
      kind: "exception",
      message: `preemption point '${p.kind}' has units ${describeValue(units)}; expected a finite number >= 0`,
    });
  }
  const ns = pointCost(k.costs, p.kind, units);
  if (!(Number.isFinite(ns) && ns >= 0)) {
    throw new ThreadFault({
      kind: "exception",
      message: `preemption point '${p.kind}' costs ${ns} ns in the cost model; expected a finite number >= 0`,
    });
  }
  return k.workOp(ns, p.kind, spinOf(p as PreemptionPoint) ?? null);
}

function describeValue(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "object" && value !== null) return "an object";
  return String(value);
}

/** A message count as seL4 keeps it: an integer 0..120 (garbage counts as 0). */
export function clampCount(count: number): number {
  return Number.isFinite(count) ? Math.max(0, Math.min(120, Math.trunc(count))) : 0;
}

/**
 * Kernel and libmicrokit calls a PD may make between two preemption points. Code between yields
 * takes no virtual time, so a loop that never yields would hang the run; one that keeps calling
 * the API is stopped here with a fault. (A loop that calls nothing cannot be interrupted by a
 * JavaScript runtime at all.)
 */
export const API_CALLS_PER_POINT = 1_000_000;

/** Counts a thread's API calls between two preemption points (see {@link API_CALLS_PER_POINT}). */
export class CallBound {
  private calls = 0;

  /** Count one call; fault the thread when its code runs on without ever yielding. */
  use(call: string): void {
    if (++this.calls <= API_CALLS_PER_POINT) return;
    this.calls = 0;
    throw new ThreadFault({
      kind: "exception",
      message: `${API_CALLS_PER_POINT} api calls (last: ${call}) without reaching a preemption point: a loop that never yields`,
    });
  }

  /** The thread reached a preemption point. */
  reset(): void {
    this.calls = 0;
  }
}

/** One end of a channel as its PD sees it. */
export interface ChannelEndpoint {
  readonly peer: Thread;
  readonly peerCh: number;
  readonly notify: boolean;
  readonly pp: boolean;
}

type DeferredOp =
  | { readonly op: "notify"; readonly ch: number }
  | { readonly op: "irq-ack"; readonly ch: number }
  | { readonly op: "handover" };

/** Everything a PD's context needs from the system. */
export interface PdWiring {
  readonly kernel: Kernel;
  readonly thread: Thread;
  readonly monitor: Thread;
  readonly prng: Prng;
  readonly channels: ReadonlyMap<number, ChannelEndpoint>;
  readonly irqs: ReadonlyMap<number, IrqLine>;
  readonly regions: ReadonlyMap<string, MappedRegion>;
  readonly ports: ReadonlyMap<string, MmioPort>;
  readonly vcpus: ReadonlyMap<number, VcpuHandle>;
  /** Child PDs by their `id` (reference §1.4). */
  readonly children?: ReadonlyMap<number, ChildHandle>;
  readonly passive: boolean;
}

/** What a parent needs to control one child PD (`microkit_pd_restart`, `microkit_pd_stop`). */
export interface ChildHandle {
  readonly thread: Thread;
  restart(): void;
}

/** What a VMM needs to drive one of its vCPUs. */
export interface VcpuHandle {
  readonly thread: Thread;
  restart(): void;
}

/** The `PdContext` the runtime hands a PD program (reference §2.11). */
export class RuntimePdContext implements PdContext {
  readonly name: string;
  deferred: DeferredOp | null = null;
  readonly calls = new CallBound();

  constructor(private readonly w: PdWiring) {
    this.name = w.thread.name;
  }

  private use(call: string): void {
    this.calls.use(call);
  }

  notify(ch: number): void {
    this.use("notify");
    this.signalPeer(ch, true);
  }

  irqAck(ch: number): void {
    this.use("irqAck");
    this.ackIrq(ch, true);
  }

  /**
   * `seL4_Signal`. As its own system call (`ownCall`) the kernel settles the wake-up before the
   * caller's code goes on; as the send phase of `NBSendRecv` it is settled together with the
   * receive that blocks the caller (§3.1 "C blocks in the same call").
   */
  private signalPeer(ch: number, ownCall: boolean): void {
    const end = this.w.channels.get(ch);
    if (!end?.notify) {
      this.debug(`microkit_notify: invalid channel ${ch}`);
      return;
    }
    this.w.thread.pendingKernelNs += this.w.kernel.costs.signal;
    this.w.kernel.ntfn.signal(this.name, end.peer, end.peerCh);
    if (ownCall) this.w.kernel.sched.settleWake(this.w.thread);
  }

  private ackIrq(ch: number, ownCall: boolean): void {
    const line = this.w.irqs.get(ch);
    if (!line) {
      this.debug(`microkit_irq_ack: invalid channel ${ch}`);
      return;
    }
    this.w.thread.pendingKernelNs += this.w.kernel.costs.irqAck;
    this.w.kernel.irqs.ack(line, this.w.thread);
    if (ownCall) this.w.kernel.sched.settleWake(this.w.thread);
  }

  deferredNotify(ch: number): void {
    this.use("deferredNotify");
    this.setDeferred({ op: "notify", ch });
  }

  deferredIrqAck(ch: number): void {
    this.use("deferredIrqAck");
    this.setDeferred({ op: "irq-ack", ch });
  }

  /** One slot; a second deferred call before the loop runs overwrites the first (§2.6). */
  setDeferred(op: DeferredOp): void {
    if (this.deferred && this.deferred.op !== "handover")
      this.logDeferred(this.deferred, "overwritten");
    this.deferred = op;
    if (op.op !== "handover") this.logDeferred(op, "set");
  }

  private logDeferred(
    op: Exclude<DeferredOp, { op: "handover" }>,
    phase: "set" | "overwritten" | "performed",
  ): void {
    const k = this.w.kernel;
    if (k.recording)
      k.record({ t: k.now, type: "deferred", thread: this.name, op: op.op, ch: op.ch, phase });
  }

  /**
   * Perform the deferred op: as the send phase of the loop's `NBSendRecv` (`fused`), or as its
   * own `seL4_Send` before a reply.
   */
  performDeferred(fused: boolean): void {
    const op = this.deferred;
    this.deferred = null;
    if (op === null) return;
    if (op.op === "handover") {
      this.w.kernel.ipc.nbSend(this.w.thread, this.w.monitor, {
        kind: "handover",
        pd: this.w.thread,
      });
      return;
    }
    this.logDeferred(op, "performed");
    if (op.op === "notify") this.signalPeer(op.ch, !fused);
    else this.ackIrq(op.ch, !fused);
  }

  *ppcall(ch: number, msg: MessageInfo): PdStep<MessageInfo> {
    const end = this.w.channels.get(ch);
    if (!end?.pp) {
      this.debug(`microkit_ppcall: invalid channel ${ch}`);
      return { label: 0, count: 0 };
    }
    const t = this.w.thread;
    const k = this.w.kernel;
    const count = clampCount(msg.count);
    t.pendingKernelNs += k.costs.call;
    if (k.recording) k.record({ t: k.now, type: "ppcall", from: this.name, to: end.peer.name, ch });
    const message: IpcMessage = {
      kind: "ppc",
      ch: end.peerCh,
      info: { label: msg.label, count },
      mrs: t.ipc.mrs.slice(0, count),
    };
    yield kernelCallPoint("ppcall", { op: "call", target: end.peer, message });
    const reply = t.ipc.lastReply;
    t.ipc.lastReply = null;
    return reply?.info ?? { label: 0, count: 0 };
  }

  mrGet(index: number): bigint {
    this.use("mrGet");
    return this.w.thread.ipc.mrs[index] ?? 0n;
  }

  mrSet(index: number, value: bigint): void {
    this.use("mrSet");
    if (!Number.isInteger(index) || index < 0 || index >= 120) {
      throw new ThreadFault({
        kind: "exception",
        message: `message register ${index} is outside 0..119`,
      });
    }
    this.w.thread.ipc.mrs[index] = BigInt.asUintN(64, value);
  }

  memory(name: string): MappedRegion {
    this.use("memory");
    return mapped(
      this.w.regions,
      name,
      () => `no memory region '${name}' is mapped into '${this.name}'`,
    );
  }

  mmio(name: string): MmioPort {
    this.use("mmio");
    return mapped(
      this.w.ports,
      name,
      () => `no device region '${name}' is mapped into '${this.name}'`,
    );
  }

  /**
   * A VMM that reads the clock while it answers an idle guest's WFI may answer differently at
   * another time, whatever its answer declares (`FaultReply.repeatable`): fast-forward's history
   * ends there (a taint), so no leap passes an exit whose answer depends on the time.
   */
  now(): number {
    this.use("now");
    const k = this.w.kernel;
    if (this.w.thread.quiet) k.ff.taint();
    return k.now;
  }

  random(): number {
    this.use("random");
    return this.w.prng.next();
  }

  debug(message: string): void {
    this.use("debug");
    const k = this.w.kernel;
    k.record({ t: k.now, type: "debug", thread: this.name, message });
  }

  counter(name: string, value: number): void {
    this.use("counter");
    const k = this.w.kernel;
    k.record({ t: k.now, type: "counter", name, value, thread: this.name });
  }

  vcpuRestart(vcpuId: number): void {
    const vcpu = this.w.vcpus.get(vcpuId);
    if (!vcpu) {
      this.debug(`microkit_vcpu_restart: invalid vcpu ${vcpuId}`);
      return;
    }
    vcpu.restart();
  }

  pdRestart(childId: number): void {
    const child = this.w.children?.get(childId);
    if (!child) {
      this.debug(`microkit_pd_restart: invalid child ${childId}`);
      return;
    }
    child.restart();
    this.w.kernel.sched.settleWake(this.w.thread);
  }

  pdStop(childId: number): void {
    const child = this.w.children?.get(childId);
    if (!child) {
      this.debug(`microkit_pd_stop: invalid child ${childId}`);
      return;
    }
    this.w.kernel.faults.stop(child.thread, "inactive");
  }

  vcpuStop(vcpuId: number): void {
    const vcpu = this.w.vcpus.get(vcpuId);
    if (!vcpu) {
      this.debug(`microkit_vcpu_stop: invalid vcpu ${vcpuId}`);
      return;
    }
    this.w.kernel.faults.stop(vcpu.thread, "inactive");
  }

  vcpuResume(vcpuId: number): void {
    this.use("vcpuResume");
    const vcpu = this.w.vcpus.get(vcpuId);
    if (!vcpu) {
      this.debug(`microkit_vcpu_restart: invalid vcpu ${vcpuId}`);
      return;
    }
    this.w.kernel.faults.resume(vcpu.thread);
    this.w.kernel.sched.settleWake(this.w.thread);
  }

  vcpuInjectIrq(vcpuId: number, irq: number): void {
    const vcpu = this.w.vcpus.get(vcpuId);
    if (!vcpu) {
      this.debug(`microkit_vcpu_arm_inject_irq: invalid vcpu ${vcpuId}`);
      return;
    }
    this.w.kernel.vcpus.injectVirq(vcpu.thread, irq);
    this.w.kernel.sched.settleWake(this.w.thread);
  }
}

/** A mapping by SDF name; asking for one that is not mapped faults the caller. */
export function mapped<T>(from: ReadonlyMap<string, T>, name: string, missing: () => string): T {
  const found = from.get(name);
  if (found === undefined) throw new ThreadFault({ kind: "exception", message: missing() });
  return found;
}

/** The fault message for an error thrown by program code. */
export function faultOf(error: unknown): FaultMessage {
  if (error instanceof ThreadFault) return error.fault;
  return { kind: "exception", message: error instanceof Error ? error.message : String(error) };
}
