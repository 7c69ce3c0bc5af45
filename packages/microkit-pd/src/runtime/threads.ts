/**
 * Thread bodies: libmicrokit's `main`/`handler_loop` for PDs (reference §2.1–§2.2, §2.6, §2.9),
 * the monitor (§2.8), and the vCPU thread that runs a guest program (§2.10). Each body is a
 * generator of kernel ops; PD and guest preemption points become `work` ops priced by the cost
 * model.
 */
import type {
  AccessWidth,
  FaultMessage,
  FaultReply,
  GuestExit,
  GuestProgram,
  GuestStep,
  MappedRegion,
  MessageInfo,
  MmioPort,
  PdContext,
  PdProgram,
  PdStep,
  PreemptionPoint,
  VcpuContext,
} from "../program.js";
import { pointCost } from "./cost-model.js";
import { GuestDataAbort, RuntimeError, ThreadFault } from "./errors.js";
import type { EntryPoint } from "./event-log.js";
import {
  type IpcMessage,
  type IrqLine,
  type Kernel,
  type KernelOp,
  type Received,
  type ReplyPayload,
  type Thread,
  wordChannels,
} from "./kernel.js";
import type { Prng } from "./prng.js";

/** Marks a preemption point that is really a blocking kernel call (ppcall, guest exit). */
const KERNEL_CALL: unique symbol = Symbol("vmmux.kernelCall");

interface KernelCallPoint extends PreemptionPoint {
  readonly [KERNEL_CALL]: KernelOp;
}

function kernelCallPoint(kind: string, op: KernelOp): KernelCallPoint {
  return { kind, units: 0, [KERNEL_CALL]: op };
}

function asKernelCall(point: PreemptionPoint): KernelOp | undefined {
  return (point as Partial<KernelCallPoint>)[KERNEL_CALL];
}

/**
 * The `work` op for a yielded preemption point. What a program yields is checked: anything but
 * `{ kind: string, units?: finite number >= 0 }` (e.g. `yield undefined`, NaN or negative units)
 * is a program error and faults the thread instead of corrupting the clock.
 */
function workOf(k: Kernel, point: unknown): KernelOp {
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
  return { op: "work", ns, kind: p.kind };
}

function describeValue(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "object" && value !== null) return "an object";
  return String(value);
}

/** A message count as seL4 keeps it: an integer 0..120 (garbage counts as 0). */
function clampCount(count: number): number {
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
  readonly passive: boolean;
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
    this.w.kernel.signal(this.name, end.peer, end.peerCh);
    if (ownCall) this.w.kernel.settleWake(this.w.thread);
  }

  private ackIrq(ch: number, ownCall: boolean): void {
    const line = this.w.irqs.get(ch);
    if (!line) {
      this.debug(`microkit_irq_ack: invalid channel ${ch}`);
      return;
    }
    this.w.thread.pendingKernelNs += this.w.kernel.costs.irqAck;
    this.w.kernel.irqAck(line, this.w.thread);
    if (ownCall) this.w.kernel.settleWake(this.w.thread);
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
      this.w.kernel.nbSend(this.w.thread, this.w.monitor, { kind: "handover", pd: this.w.thread });
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
    k.record({ t: k.now, type: "ppcall", from: this.name, to: end.peer.name, ch });
    const message: IpcMessage = {
      kind: "ppc",
      ch: end.peerCh,
      info: { label: msg.label, count },
      mrs: t.mrs.slice(0, count),
    };
    yield kernelCallPoint("ppcall", { op: "call", target: end.peer, message });
    const reply = t.lastReply;
    t.lastReply = null;
    return reply?.info ?? { label: 0, count: 0 };
  }

  mrGet(index: number): bigint {
    this.use("mrGet");
    return this.w.thread.mrs[index] ?? 0n;
  }

  mrSet(index: number, value: bigint): void {
    this.use("mrSet");
    if (!Number.isInteger(index) || index < 0 || index >= 120) {
      throw new ThreadFault({
        kind: "exception",
        message: `message register ${index} is outside 0..119`,
      });
    }
    this.w.thread.mrs[index] = BigInt.asUintN(64, value);
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

  now(): number {
    this.use("now");
    return this.w.kernel.now;
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

  vcpuStop(vcpuId: number): void {
    const vcpu = this.w.vcpus.get(vcpuId);
    if (!vcpu) {
      this.debug(`microkit_vcpu_stop: invalid vcpu ${vcpuId}`);
      return;
    }
    this.w.kernel.stop(vcpu.thread, "inactive");
  }

  vcpuResume(vcpuId: number): void {
    this.use("vcpuResume");
    const vcpu = this.w.vcpus.get(vcpuId);
    if (!vcpu) {
      this.debug(`microkit_vcpu_restart: invalid vcpu ${vcpuId}`);
      return;
    }
    this.w.kernel.resume(vcpu.thread);
    this.w.kernel.settleWake(this.w.thread);
  }

  vcpuInjectIrq(vcpuId: number, irq: number): void {
    const vcpu = this.w.vcpus.get(vcpuId);
    if (!vcpu) {
      this.debug(`microkit_vcpu_arm_inject_irq: invalid vcpu ${vcpuId}`);
      return;
    }
    this.w.kernel.injectVirq(vcpu.thread, irq);
    this.w.kernel.settleWake(this.w.thread);
  }
}

/** A mapping by SDF name; asking for one that is not mapped faults the caller. */
function mapped<T>(from: ReadonlyMap<string, T>, name: string, missing: () => string): T {
  const found = from.get(name);
  if (found === undefined) throw new ThreadFault({ kind: "exception", message: missing() });
  return found;
}

function faultOf(error: unknown): FaultMessage {
  if (error instanceof ThreadFault) return error.fault;
  return { kind: "exception", message: error instanceof Error ? error.message : String(error) };
}

/**
 * Run one entry point to its end, turning preemption points into work and blocking calls into
 * kernel calls. A fault inside it (a mapping violation, a thrown error) becomes a fault IPC to
 * the thread's handler; if the handler resumes the thread, the entry point is abandoned and the
 * PD continues at its event loop. Returns `undefined` when the entry point was abandoned.
 */
function* runEntry<T>(
  k: Kernel,
  t: Thread,
  ctx: RuntimePdContext,
  entry: EntryPoint,
  ch: number | undefined,
  flows: readonly number[] | undefined,
  start: () => PdStep<T>,
): Generator<KernelOp, T | undefined, unknown> {
  t.entry = entry;
  k.record({
    t: k.now,
    type: "entry",
    thread: t.name,
    entry,
    ...(ch === undefined ? {} : { ch }),
    ...(flows === undefined ? {} : { flows }),
  });
  let result: T | undefined;
  try {
    const step = start() as PdStep<T> | undefined;
    if (typeof step?.next !== "function") {
      throw new ThreadFault({
        kind: "exception",
        message: `entry point ${entry} of '${t.name}' did not return a generator (write it as \`*${entry}(...)\`)`,
      });
    }
    for (;;) {
      const next = step.next();
      if (next.done) {
        result = next.value;
        break;
      }
      const call = next.value == null ? undefined : asKernelCall(next.value);
      yield call ?? workOf(k, next.value);
      ctx.calls.reset();
    }
  } catch (error) {
    // A configuration error of the model (e.g. a device driving an unrouted IRQ) is not the PD's
    // fault: let it surface from the run call.
    if (error instanceof RuntimeError) throw error;
    k.record({ t: k.now, type: "entry-end", thread: t.name, entry });
    t.entry = null;
    yield* raiseFault(k, t, faultOf(error));
    return undefined;
  }
  k.record({ t: k.now, type: "entry-end", thread: t.name, entry });
  t.entry = null;
  return result;
}

/** Fault IPC to the thread's handler (reference §2.8); returns when the handler replies. */
function* raiseFault(
  k: Kernel,
  t: Thread,
  fault: FaultMessage,
): Generator<KernelOp, void, unknown> {
  const handler = t.faultHandler;
  if (handler === null) {
    k.stop(t, "dead");
    return;
  }
  k.record({ t: k.now, type: "fault", thread: t.name, handler: handler.name, fault });
  t.pendingKernelNs += k.costs.faultIpc;
  yield { op: "call", target: handler, message: { kind: "fault", child: t.faultId, fault } };
}

/** libmicrokit's `main` + `handler_loop` for one PD. */
export function* pdBody(
  k: Kernel,
  t: Thread,
  ctx: RuntimePdContext,
  program: PdProgram,
  wiring: PdWiring,
): Generator<KernelOp, void, unknown> {
  yield* runEntry(k, t, ctx, "init", undefined, undefined, () => program.init(ctx));
  if (wiring.passive) ctx.setDeferred({ op: "handover" });
  // libmicrokit acks every owned IRQ once on entering the loop (seL4 issue 1536 work-around, §2.1).
  for (const line of wiring.irqs.values()) k.irqAck(line, t);
  let reply: ReplyPayload | undefined;
  for (;;) {
    if (reply && ctx.deferred) {
      // Fixed in 2.3.0: the deferred op is its own `seL4_Send`, before the `ReplyRecv` (§2.6).
      ctx.performDeferred(false);
      yield { op: "work", ns: 0, kind: "send" };
    }
    if (reply) t.pendingKernelNs += k.costs.reply;
    ctx.performDeferred(true);
    const received = (yield { op: "recv", ...(reply ? { reply } : {}) }) as Received;
    reply = undefined;
    if (k.costs.recv > 0) yield { op: "work", ns: k.costs.recv, kind: "recv" };
    if (received.kind === "signal") {
      for (const ch of wordChannels(received.lo, received.hi)) {
        yield* runEntry(k, t, ctx, "notified", ch, received.flows.get(ch) ?? [], () =>
          program.notified(ch, ctx),
        );
      }
      continue;
    }
    const message = received.message;
    if (message.kind === "ppc") {
      if (!program.protected) {
        yield* raiseFault(k, t, {
          kind: "exception",
          message: `'${t.name}' has no protected entry point`,
        });
        continue;
      }
      const answer = yield* runEntry(k, t, ctx, "protected", message.ch, undefined, () =>
        program.protected!(message.ch, message.info, ctx),
      );
      const info = answer ?? { label: 0, count: 0 };
      const count = clampCount(info.count);
      reply = { info: { label: info.label, count }, mrs: t.mrs.slice(0, count) };
    } else if (message.kind === "fault") {
      if (!program.fault) {
        yield* raiseFault(k, t, {
          kind: "exception",
          message: `'${t.name}' has no fault entry point`,
        });
        continue;
      }
      const answer: FaultReply | undefined = yield* runEntry(
        k,
        t,
        ctx,
        "fault",
        message.child,
        undefined,
        () => program.fault!(message.child, message.fault, ctx),
      );
      if (answer?.resume) {
        const resume = message.fault.kind !== "exception" || (answer.label ?? 0) === 0;
        reply = { info: { label: answer.label ?? 0, count: 0 }, mrs: [], fault: answer, resume };
      }
    }
  }
}

/** The Microkit monitor (reference §2.8, §2.9): root-PD faults kill the PD; passive hand-over. */
export function* monitorBody(k: Kernel, t: Thread): Generator<KernelOp, void, unknown> {
  for (;;) {
    const received = (yield { op: "recv" }) as Received;
    if (received.kind !== "ipc") continue;
    const message = received.message;
    if (message.kind === "handover") {
      const pd = message.pd;
      pd.passive = true;
      if (pd.state === "blocked-recv" && pd.sc === pd.ownSc) pd.sc = null;
      k.record({ t: k.now, type: "debug", thread: t.name, message: `'${pd.name}' is now passive` });
    } else if (message.kind === "fault") {
      k.record({
        t: k.now,
        type: "debug",
        thread: t.name,
        message: `MON|ERROR: '${received.from.name}' faulted (${message.fault.kind}); it will not run again`,
      });
      k.stop(received.from, "dead");
    }
  }
}

/** The guest-side context of a vCPU. */
export class RuntimeVcpuContext implements VcpuContext {
  constructor(
    readonly vmName: string,
    readonly vcpuId: number,
    private readonly k: Kernel,
    private readonly t: Thread,
    private readonly prng: Prng,
    private readonly ram: ReadonlyMap<string, MappedRegion>,
  ) {}

  readonly calls = new CallBound();

  private *exit(exit: GuestExit): GuestStep<FaultReply | undefined> {
    yield guestExitPoint(exit);
    const reply = this.t.lastReply;
    this.t.lastReply = null;
    if (reply?.fault?.abort && (exit.kind === "mmio-read" || exit.kind === "mmio-write"))
      throw new GuestDataAbort(exit.address, exit.kind === "mmio-write");
    return reply?.fault;
  }

  *mmioRead(address: number, width: AccessWidth): GuestStep<number> {
    const reply = yield* this.exit({ kind: "mmio-read", address, width });
    return reply?.value ?? 0;
  }

  *mmioWrite(address: number, width: AccessWidth, value: number, tag?: number): GuestStep {
    yield* this.exit({
      kind: "mmio-write",
      address,
      width,
      value,
      ...(tag === undefined ? {} : { tag }),
    });
  }

  *wfi(): GuestStep {
    yield* this.exit({ kind: "wfi" });
  }

  *hypercall(fn: number, args: readonly number[] = []): GuestStep<number> {
    const reply = yield* this.exit({ kind: "hypercall", fn, args });
    return reply?.value ?? 0;
  }

  *eoi(irq: number): GuestStep {
    yield* this.exit({ kind: "vgic-maintenance", irq });
  }

  takeIrq(): number | undefined {
    this.calls.use("takeIrq");
    return this.t.virqs.shift();
  }

  setTimer(deadline: number | null, ppi = 27): void {
    this.calls.use("setTimer");
    this.k.armVirtualTimer(this.t, deadline, ppi);
  }

  runTime(): number {
    this.calls.use("runTime");
    return this.t.runTime;
  }

  irqPending(): boolean {
    this.calls.use("irqPending");
    return this.t.virqs.length > 0;
  }

  memory(name: string): MappedRegion {
    this.calls.use("memory");
    return mapped(this.ram, name, () => `no guest memory '${name}' in '${this.vmName}'`);
  }

  now(): number {
    this.calls.use("now");
    return this.k.now;
  }

  random(): number {
    this.calls.use("random");
    return this.prng.next();
  }

  debug(message: string): void {
    this.calls.use("debug");
    this.k.record({ t: this.k.now, type: "debug", thread: this.t.name, message });
  }

  counter(name: string, value: number): void {
    this.calls.use("counter");
    this.k.record({ t: this.k.now, type: "counter", name, value, thread: this.t.name });
  }
}

const GUEST_EXIT: unique symbol = Symbol("vmmux.guestExit");

interface GuestExitPoint extends PreemptionPoint {
  readonly [GUEST_EXIT]: GuestExit;
}

function guestExitPoint(exit: GuestExit): GuestExitPoint {
  return { kind: "guest-exit", units: 0, [GUEST_EXIT]: exit };
}

/**
 * A vCPU thread: the guest program runs until it exits; every exit is a fault IPC to the VMM
 * and blocks the vCPU until the reply (reference §2.10). With `trapWfi` off, WFI blocks the
 * vCPU until a virtual IRQ is injected instead.
 */
export function* vcpuBody(
  k: Kernel,
  t: Thread,
  guest: GuestProgram,
  ctx: RuntimeVcpuContext,
  trapWfi: boolean,
): Generator<KernelOp, void, unknown> {
  const vmm = t.faultHandler!;
  t.entry = "guest";
  k.record({ t: k.now, type: "entry", thread: t.name, entry: "guest" });
  try {
    const run = guest.run(ctx) as GuestStep | undefined;
    if (typeof run?.next !== "function") {
      throw new ThreadFault({
        kind: "exception",
        message: `the guest program of '${t.name}' did not return a generator (write it as \`*run(vcpu)\`)`,
      });
    }
    for (;;) {
      const next = run.next();
      if (next.done) break;
      const exit =
        next.value == null ? undefined : (next.value as Partial<GuestExitPoint>)[GUEST_EXIT];
      if (exit === undefined) {
        yield workOf(k, next.value);
        ctx.calls.reset();
        continue;
      }
      if (exit.kind === "wfi" && !trapWfi) {
        yield { op: "wait-virq" };
        continue;
      }
      ctx.calls.reset();
      const fault: FaultMessage = { kind: "vcpu", vcpuId: ctx.vcpuId, exit };
      k.record({ t: k.now, type: "fault", thread: t.name, handler: vmm.name, fault });
      t.pendingKernelNs += k.costs.faultIpc;
      yield { op: "call", target: vmm, message: { kind: "fault", child: ctx.vcpuId, fault } };
    }
  } catch (error) {
    if (error instanceof RuntimeError) throw error;
    yield* raiseFault(k, t, faultOf(error));
  }
  k.record({ t: k.now, type: "entry-end", thread: t.name, entry: "guest" });
  t.entry = null;
}
