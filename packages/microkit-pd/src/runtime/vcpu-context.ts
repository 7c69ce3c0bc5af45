/**
 * The vCPU side (reference §2.10): the `VcpuContext` a guest program gets, and the vCPU thread's
 * body that runs the guest until it exits; every exit is a fault IPC to the VMM and blocks the
 * vCPU until the reply.
 */
import type {
  AccessWidth,
  FaultMessage,
  FaultReply,
  GuestExit,
  GuestProgram,
  GuestStep,
  IdleLoop,
  MappedRegion,
  PreemptionPoint,
  VcpuContext,
} from "../program.js";
import { recordEntry, recordEntryEnd, recordGuestExit } from "./cycle-records.js";
import { GuestDataAbort, RuntimeError, ThreadFault } from "./errors.js";
import type { Kernel } from "./kernel.js";
import { raiseFault } from "./pd-body.js";
import { CallBound, faultOf, mapped, workOf } from "./pd-context.js";
import type { Prng } from "./prng.js";
import type { KernelOp, Thread } from "./tcb.js";

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
    const reply = this.t.ipc.lastReply;
    this.t.ipc.lastReply = null;
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
    yield* this.exit(WFI_EXIT);
  }

  *idle(loop: IdleLoop): GuestStep {
    this.calls.use("idle");
    const ff = this.k.ff;
    ff.enterQuiet(this.t);
    try {
      for (;;) {
        yield* this.wfi();
        yield loop.pass;
        if (this.irqPending() || (loop.until?.(this.now()) ?? false)) return;
        ff.anchor(this.t, loop);
      }
    } finally {
      ff.leaveQuiet(this.t);
    }
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
    return this.t.vcpu.virqs.shift();
  }

  setTimer(deadline: number | null, ppi = 27): void {
    this.calls.use("setTimer");
    this.k.vcpus.armVirtualTimer(this.t, deadline, ppi);
  }

  runTime(): number {
    this.calls.use("runTime");
    return this.t.runTime;
  }

  irqPending(): boolean {
    this.calls.use("irqPending");
    return this.t.vcpu.virqs.length > 0;
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
  return exit === WFI_EXIT ? WFI_POINT : { kind: "guest-exit", units: 0, [GUEST_EXIT]: exit };
}

/** A WFI exit carries nothing: one frozen exit and point serve every trap of an idle loop. */
const WFI_EXIT: GuestExit = Object.freeze({ kind: "wfi" });
const WFI_POINT: GuestExitPoint = Object.freeze({
  kind: "guest-exit",
  units: 0,
  [GUEST_EXIT]: WFI_EXIT,
});

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
  const vmm = t.fault.handler!;
  let wfiCall: ReturnType<typeof faultCall> | null = null;
  t.entry = "guest";
  if (k.recordingCycles) recordEntry(k, t.name, "guest", undefined, undefined);
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
        const op = workOf(k, next.value);
        // A step the kernel can end in place goes on without the round trip (Kernel.continueStep).
        if (!k.continueStep(t, op)) yield op;
        ctx.calls.reset();
        continue;
      }
      if (exit.kind === "wfi" && !trapWfi) {
        yield { op: "wait-virq" };
        continue;
      }
      ctx.calls.reset();
      // Messages are read-only to the kernel and the VMM: the WFI trap's is built once.
      if (exit === WFI_EXIT) wfiCall ??= faultCall(vmm, ctx.vcpuId, exit);
      const call = exit === WFI_EXIT ? wfiCall! : faultCall(vmm, ctx.vcpuId, exit);
      if (k.recordingCycles) recordGuestExit(k, t.name, vmm.name, call.fault);
      t.pendingKernelNs += k.costs.faultIpc;
      yield call.op;
    }
  } catch (error) {
    if (error instanceof RuntimeError) throw error;
    yield* raiseFault(k, t, faultOf(error));
  }
  if (k.recordingCycles) recordEntryEnd(k, t.name, "guest");
  t.entry = null;
}

/** The fault IPC of a guest exit: its message and the `call` op that sends it to the VMM. */
function faultCall(vmm: Thread, vcpuId: number, exit: GuestExit) {
  const fault: FaultMessage = { kind: "vcpu", vcpuId, exit };
  const op: KernelOp = {
    op: "call",
    target: vmm,
    message: { kind: "fault", child: vcpuId, fault },
  };
  return { fault, op };
}
