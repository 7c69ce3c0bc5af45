/**
 * The console's TX path: guest transmitq chains → the port's sDDF TX queue. Two behaviours of
 * the `txWholeChain` defect, chosen once by `behaviours.ts`: libvmm's whole-or-nothing copy
 * ({@link txWhole}, reference virtio §4.8) and the hardened transfer in parts with the double
 * check ({@link txInParts}, sddf-serial §3.2).
 */
import { type BufferSegment, forEachSegmentSpan } from "@vmmux/virtio-core";
import { txQueueOf } from "../constants.js";
import type { ConsoleCore, ConsolePreemptionSite } from "./core.js";
import { lengthOf } from "./port.js";

/** Bound on chains handled per call: libvmm may reprocess up to 65535 stale slots (L15). */
export const MAX_CHAINS_PER_CALL = 65536;

/**
 * TX as steps: the generator yields at each site where the real C code can be preempted
 * (reference virtio §6.1 item 11) and returns what the synchronous form returns.
 */
export type TxSteps = Generator<ConsolePreemptionSite, boolean, void>;

/** Run TX steps to their end, calling the core's preemption callback at each site. */
function drive(core: ConsoleCore, port: number, steps: TxSteps): boolean {
  for (;;) {
    const next = steps.next();
    if (next.done) return next.value;
    core.preemptionPoint(next.value, port);
  }
}

/** libvmm `virtio_console_handle_tx` (reference §4.8). */
export function txWhole(core: ConsoleCore, port: number): boolean {
  return drive(core, port, txWholeSteps(core, port));
}

/** {@link txWhole} as steps. */
export function* txWholeSteps(core: ConsoleCore, port: number): TxSteps {
  const host = core.requireHost();
  const state = core.portState(port);
  const b = core.behaviours;
  if (!b.txGate(host.queueSel, port)) return true;
  const q = host.queue(txQueueOf(port));
  if (q === undefined) return true;
  const txq = state.spec.tx;
  let transferred = false;
  for (let n = 0; n < MAX_CHAINS_PER_CALL; n++) {
    const peeked = q.peekAvailable();
    if (peeked.kind === "crash") return core.transportCrashed(peeked.finding);
    if (peeked.kind !== "chain") break;
    const chain = peeked.chain;
    if (!b.badHead(core, port, chain.head, q.size)) return false;
    if (b.direction.wrong(core, port, chain, "transmit")) break;
    const segments = b.direction.txPayload(chain);
    const payload = lengthOf(segments);
    if (!b.oversize(core, port, chain.head, payload, txq.capacity)) return false;
    const free = txq.free();
    // A handle opened with `onCorruptIndex: "break"` stops here, where `"throw"` would.
    if (txq.broken !== undefined) return true;
    if (payload > free) {
      yield "tx-full";
      txq.requestConsumerSignal();
      const after = b.spaceAfterRequest(txq);
      if (txq.broken !== undefined) return true;
      if (payload <= after) {
        txq.cancelConsumerSignal();
        state.counters.txRecheckHits++;
        continue;
      }
      // Reached only when the strategy did not look (libvmm, T8): observing, not acting on,
      // the space shows the lost wake-up.
      const seen = txq.free();
      if (txq.broken !== undefined) return true;
      if (payload <= seen) {
        core.found(
          "txNoRecheck",
          "stall",
          `port ${port}: virt_tx freed space before the signal request; tx waits anyway`,
        );
      }
      state.txWaiting = true;
      state.counters.txBlocked++;
      break;
    }
    state.txWaiting = false;
    if (!copyTx(core, port, segments, 0, payload)) return false;
    if (txq.broken !== undefined) return true;
    if (core.crashedBy !== undefined) return false;
    q.addUsed(chain.head, 0);
    q.skipAvailable();
    state.counters.txChains++;
    transferred = true;
  }
  if (!transferred) return true;
  const injected = host.signalUsedBuffer();
  yield "tx-published";
  core.hooks.notifyTx(port);
  return injected;
}

/**
 * Hardened TX: chains of any size move in parts as space allows. When the sDDF queue is
 * full the device requests a signal, then re-checks the free space (sddf-serial §3.2): a
 * consumer that drained the queue between our check and our request saw the old flag and
 * will not signal, so without the re-check TX would wait forever (§3.3).
 */
export function txInParts(core: ConsoleCore, port: number): boolean {
  return drive(core, port, txInPartsSteps(core, port));
}

/** {@link txInParts} as steps. */
export function* txInPartsSteps(core: ConsoleCore, port: number): TxSteps {
  const host = core.requireHost();
  const state = core.portState(port);
  const b = core.behaviours;
  const q = host.queue(txQueueOf(port));
  if (q === undefined) return true;
  const txq = state.spec.tx;
  let moved = 0;
  let used = false;
  state.txWaiting = false;
  for (let n = 0; n < MAX_CHAINS_PER_CALL; ) {
    if (state.txChain === undefined) {
      const popped = q.popAvailable();
      if (popped.kind === "crash") return core.transportCrashed(popped.finding);
      if (popped.kind !== "chain") break;
      n++;
      const chain = popped.chain;
      if (b.direction.wrong(core, port, chain, "transmit")) break;
      const segments = b.direction.txPayload(chain);
      state.txChain = { head: chain.head, segments, total: lengthOf(segments), offset: 0 };
    }
    const part = state.txChain;
    if (part.offset < part.total) {
      let free = txq.free();
      if (txq.broken !== undefined) return true;
      if (free === 0) {
        // virt_tx may run between the check and the request (another core, or a
        // preemption): it then sees no request and will not signal.
        yield "tx-full";
        txq.requestConsumerSignal();
        free = b.spaceAfterRequest(txq);
        if (txq.broken !== undefined) return true;
        if (free === 0) {
          state.txWaiting = true;
          state.counters.txBlocked++;
          break;
        }
        txq.cancelConsumerSignal();
        state.counters.txRecheckHits++;
      }
      const count = Math.min(part.total - part.offset, free);
      if (!copyTx(core, port, part.segments, part.offset, count)) return false;
      if (txq.broken !== undefined) return true;
      part.offset += count;
      moved += count;
      continue;
    }
    q.addUsed(part.head, 0);
    state.txChain = undefined;
    state.counters.txChains++;
    used = true;
  }
  // Producer → consumer notifications are unconditional (sddf-serial §1).
  if (moved > 0) {
    yield "tx-published";
    core.hooks.notifyTx(port);
  }
  if (used && q.needsInterrupt()) return host.signalUsedBuffer();
  return true;
}

/** Staging for {@link copyTx}, reused by every transfer (copied out before it returns). */
const scratch = { bytes: new Uint8Array(4096), tags: new Uint32Array(4096) };

/**
 * Copy `count` bytes from logical offset `offset` of `segments` into the port's sDDF TX
 * queue, provenance tags included. Touching a buffer outside guest RAM is libvmm's L2 crash
 * (only `reference` queues hand such buffers out).
 */
function copyTx(
  core: ConsoleCore,
  port: number,
  segments: readonly BufferSegment[],
  offset: number,
  count: number,
): boolean {
  const memory = core.requireHost().memory;
  const state = core.portState(port);
  if (scratch.bytes.length < count) {
    scratch.bytes = new Uint8Array(count);
    scratch.tags = new Uint32Array(count);
  }
  const { bytes, tags } = scratch;
  tags.fill(0, 0, count); // as fresh: a memory without a tag shadow may leave tags unwritten
  let unmapped: BufferSegment | undefined;
  const done = forEachSegmentSpan(segments, offset, count, (s, skip, n, at) => {
    if (!s.inRam) {
      unmapped = s;
      return false;
    }
    memory.readInto(s.addr + skip, bytes.subarray(at, at + n), tags.subarray(at, at + n));
    return true;
  });
  if (unmapped !== undefined) return core.crashUnmapped(`port ${port}`, unmapped);
  const copied = state.spec.tx.enqueueBatch(bytes, tags, 0, done);
  state.counters.txBytes += copied;
  return true;
}

/**
 * F_EMERG_WRITE (VirtIO 1.2 §5.3.5.1): one byte written to `emerg_wr` goes straight to port 0's
 * sDDF TX queue, tagged with the configured provenance; on a full queue it is dropped, counted.
 */
export function emergencyWrite(core: ConsoleCore, byte: number): void {
  const state = core.portState(0);
  core.contained(() => {
    const queued = state.spec.tx.enqueue(byte, core.emergencyTag);
    if (state.spec.tx.broken !== undefined) return true;
    if (queued) {
      state.counters.emergBytes++;
      core.hooks.notifyTx(0);
    } else {
      state.counters.emergDropped++;
    }
    return true;
  });
}
