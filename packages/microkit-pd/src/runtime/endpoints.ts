/**
 * The endpoint part (seL4 `endpoint.c`, `ipc`, reply objects; reference §2.5, §2.8): the event
 * loop's receive, `seL4_Call` for PPCs and fault IPC with callers queued by priority, reply
 * objects, scheduling-context donation to passive servers, and the non-blocking send of the
 * passive hand-over. It owns each thread's {@link IpcRecord}; it calls the notification part
 * (a pending word beats queued callers) and the scheduler (block, wake).
 */
import { recordReply } from "./cycle-records.js";
import type { Kernel } from "./kernel.js";
import type { IpcMessage, Received, ReplyPayload, Thread } from "./tcb.js";

export class Endpoints {
  constructor(protected readonly k: Kernel) {}

  /** The event loop's receive, after an optional reply (`ReplyRecv`). */
  recv(t: Thread, reply: ReplyPayload | undefined): void {
    const k = this.k;
    if (reply) this.reply(t, reply);
    else if (t.quiet) k.ff.taint();
    // The answer to an idle WFI (if any) is given: what the thread does next is its own.
    t.quiet = false;
    const ipc = t.ipc;
    const s = t.sched;
    if (ipc.replyTo) {
      // MCS: receiving on a reply object that still holds a caller cancels it (reference §2.8).
      const stale = ipc.replyTo;
      ipc.replyTo = null;
      this.returnDonation(t, stale);
      stale.ipc.callTarget = null;
      k.record({
        t: k.now,
        type: "debug",
        thread: t.name,
        message: `reply to '${stale.name}' cancelled`,
      });
      if (stale.state === "blocked-reply") k.sched.block(stale, "inactive");
    }
    if (k.ntfn.pending(t)) {
      if (s.sc === null && s.passive) s.sc = s.ownSc;
      t.resumeValue = k.ntfn.take(t);
      return;
    }
    const caller = ipc.sendQueue.shift();
    if (caller) {
      this.deliverCall(caller, t);
      return;
    }
    if (s.passive && s.sc === s.ownSc) s.sc = null;
    k.sched.block(t, "blocked-recv");
  }

  /** A server that runs on `caller`'s SC gives it back (reply, cancelled reply, stopped caller). */
  returnDonation(server: Thread, caller: Thread): void {
    if (server.ipc.donor !== caller) return;
    caller.sched.sc = server.sched.sc;
    server.sched.sc = null;
    server.ipc.donor = null;
  }

  /** `seL4_Call`: deliver to a waiting server, or queue by priority then FIFO (§2.5). */
  call(t: Thread, target: Thread, message: IpcMessage): void {
    if (!this.k.ff.isIdleWfi(t, message)) this.k.ff.taint();
    t.ipc.outgoing = message;
    if (target.state === "blocked-recv") {
      this.deliverCall(t, target);
      return;
    }
    const queue = target.ipc.sendQueue;
    let i = queue.length;
    while (i > 0 && queue[i - 1]!.priority < t.priority) i--;
    queue.splice(i, 0, t);
    t.ipc.callTarget = target;
    this.k.sched.block(t, "blocked-send");
  }

  /** A non-blocking send (libmicrokit's passive hand-over); dropped if nobody waits. */
  nbSend(t: Thread, target: Thread, message: IpcMessage): void {
    const k = this.k;
    k.ff.taint();
    if (target.state !== "blocked-recv") {
      k.record({
        t: k.now,
        type: "debug",
        thread: t.name,
        message: `send to '${target.name}' dropped`,
      });
      return;
    }
    target.resumeValue = { kind: "ipc", message, from: t } satisfies Received;
    k.sched.wake(target);
  }

  private deliverCall(caller: Thread, server: Thread): void {
    const k = this.k;
    const message = caller.ipc.outgoing!;
    caller.ipc.outgoing = null;
    if (message.kind === "ppc") {
      for (let i = 0; i < message.mrs.length; i++) server.ipc.mrs[i] = message.mrs[i]!;
    }
    server.resumeValue = { kind: "ipc", message, from: caller } satisfies Received;
    // A VMM answering an idle guest's WFI runs quiet until it replies (fast-forward.ts).
    server.quiet = k.ff.isIdleWfi(caller, message);
    server.ipc.replyTo = caller;
    caller.ipc.callTarget = server;
    if (server.sched.sc === null) {
      server.sched.sc = caller.sched.sc;
      caller.sched.sc = null;
      server.ipc.donor = caller;
    }
    k.sched.block(caller, "blocked-reply");
    if (server !== k.sched.current) k.sched.wake(server);
  }

  private reply(t: Thread, payload: ReplyPayload): void {
    const k = this.k;
    const caller = t.ipc.replyTo;
    if (t.quiet) k.ff.replied(payload.fault?.repeatable, payload.resume !== false);
    if (caller === null) return;
    t.ipc.replyTo = null;
    caller.ipc.callTarget = null;
    if (k.recordingCycles) recordReply(k, t.name, caller.name);
    for (let i = 0; i < payload.mrs.length; i++) caller.ipc.mrs[i] = payload.mrs[i]!;
    caller.ipc.lastReply = payload;
    this.returnDonation(t, caller);
    if (caller.state !== "blocked-reply") return;
    if (payload.resume === false) k.sched.block(caller, "inactive");
    else k.sched.wake(caller);
  }

  /** Detach a stopped thread from any IPC in flight (its queue slot, its pending reply). */
  detach(t: Thread): void {
    const ipc = t.ipc;
    if (t.state === "blocked-send" && ipc.callTarget) {
      const queue = ipc.callTarget.ipc.sendQueue;
      const i = queue.indexOf(t);
      if (i >= 0) queue.splice(i, 1);
    }
    if (t.state === "blocked-reply" && ipc.callTarget && ipc.callTarget.ipc.replyTo === t) {
      ipc.callTarget.ipc.replyTo = null;
      this.returnDonation(ipc.callTarget, t);
    }
    ipc.callTarget = null;
    ipc.outgoing = null;
  }

  /** Cancel the reply a resumed thread was waiting for (its handler will not send it). */
  cancelPendingReply(t: Thread): void {
    const ipc = t.ipc;
    if (t.state === "blocked-reply" && ipc.callTarget?.ipc.replyTo === t) {
      ipc.callTarget.ipc.replyTo = null;
      this.returnDonation(ipc.callTarget, t);
    }
    ipc.callTarget = null;
    ipc.lastReply = null;
  }
}
