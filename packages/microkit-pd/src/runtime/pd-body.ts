/**
 * PD thread bodies: libmicrokit's `main`/`handler_loop` (reference §2.1–§2.2, §2.6, §2.9) and
 * the Microkit monitor (§2.8). Each body is a generator of kernel ops; a PD's preemption points
 * become `work` ops priced by the cost model, and a fault inside an entry point becomes a fault
 * IPC to the PD's handler.
 */
import type { FaultMessage, FaultReply, PdProgram, PdStep } from "../program.js";
import { recordEntry, recordEntryEnd } from "./cycle-records.js";
import { RuntimeError, ThreadFault } from "./errors.js";
import type { EntryPoint } from "./event-log.js";
import type { Kernel } from "./kernel.js";
import { wordChannels } from "./notifications.js";
import {
  asKernelCall,
  clampCount,
  faultOf,
  type PdWiring,
  type RuntimePdContext,
  workOf,
} from "./pd-context.js";
import type { KernelOp, Received, ReplyPayload, Thread } from "./tcb.js";

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
  if (k.recordingCycles) recordEntry(k, t.name, entry, ch, flows);
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
      const op = call ?? workOf(k, next.value);
      // A step the kernel can end in place goes on without the round trip through its loop.
      if (!k.continueStep(t, op)) yield op;
      ctx.calls.reset();
    }
  } catch (error) {
    // A configuration error of the model (e.g. a device driving an unrouted IRQ) is not the PD's
    // fault: let it surface from the run call.
    if (error instanceof RuntimeError) throw error;
    if (k.recordingCycles) recordEntryEnd(k, t.name, entry);
    t.entry = null;
    yield* raiseFault(k, t, faultOf(error));
    return undefined;
  }
  if (k.recordingCycles) recordEntryEnd(k, t.name, entry);
  t.entry = null;
  return result;
}

/** Fault IPC to the thread's handler (reference §2.8); returns when the handler replies. */
export function* raiseFault(
  k: Kernel,
  t: Thread,
  fault: FaultMessage,
): Generator<KernelOp, void, unknown> {
  const handler = t.fault.handler;
  if (handler === null) {
    k.faults.stop(t, "dead");
    return;
  }
  if (k.recording)
    k.record({ t: k.now, type: "fault", thread: t.name, handler: handler.name, fault });
  t.pendingKernelNs += k.costs.faultIpc;
  yield { op: "call", target: handler, message: { kind: "fault", child: t.fault.id, fault } };
}

/** The event loop's plain receive (no reply), read-only to the kernel: one for every PD. */
const RECV: KernelOp = Object.freeze({ op: "recv" });

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
  for (const line of wiring.irqs.values()) k.irqs.ack(line, t);
  let reply: ReplyPayload | undefined;
  for (;;) {
    if (reply && ctx.deferred) {
      // Fixed in 2.3.0: the deferred op is its own `seL4_Send`, before the `ReplyRecv` (§2.6).
      ctx.performDeferred(false);
      yield k.workOp(0, "send");
    }
    if (reply) t.pendingKernelNs += k.costs.reply;
    ctx.performDeferred(true);
    const received = (yield reply ? { op: "recv", reply } : RECV) as Received;
    reply = undefined;
    if (k.costs.recv > 0) yield k.workOp(k.costs.recv, "recv");
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
      reply = { info: { label: info.label, count }, mrs: t.ipc.mrs.slice(0, count) };
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
    const received = (yield RECV) as Received;
    if (received.kind !== "ipc") continue;
    const message = received.message;
    if (message.kind === "handover") {
      const pd = message.pd;
      pd.sched.passive = true;
      if (pd.state === "blocked-recv" && pd.sched.sc === pd.sched.ownSc) pd.sched.sc = null;
      k.record({ t: k.now, type: "debug", thread: t.name, message: `'${pd.name}' is now passive` });
    } else if (message.kind === "fault") {
      k.record({
        t: k.now,
        type: "debug",
        thread: t.name,
        message: `MON|ERROR: '${received.from.name}' faulted (${message.fault.kind}); it will not run again`,
      });
      k.faults.stop(received.from, "dead");
    }
  }
}
