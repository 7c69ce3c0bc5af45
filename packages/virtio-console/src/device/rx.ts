/**
 * The console's RX path: the port's sDDF RX queue → guest receiveq buffers (libvmm
 * `virtio_console_handle_rx`, reference virtio §4.9, or its hardened counterpart), and the two
 * behaviours of the `rxDiscardBeforeReady` defect for input that arrives before the guest can
 * take it: libvmm discards it (L14), hardened keeps it, bounded, and releases it only once the
 * driver has stopped posting receive buffers (`early-input.ts`).
 */
import type { BufferSegment, SplitVirtqueue } from "@vmmux/virtio-core";
import { rxQueueOf } from "../constants.js";
import type { ConsoleCore } from "./core.js";
import { inputReleased } from "./early-input.js";
import { lengthOf, type PortState, rxScratch } from "./port.js";
import { MAX_CHAINS_PER_CALL } from "./tx.js";

/**
 * Under MULTIPORT a port takes input once the guest has opened it (PORT_OPEN 1): Linux's
 * `in_intr` discards data for a port that is not `guest_connected`, and a console port is
 * connected only when the driver handles CONSOLE_PORT, after PORT_READY (reference virtio
 * §3.5 steps 5–6). QEMU likewise holds input until the guest side is open.
 */
export function portTakesInput(core: ConsoleCore, port: number): boolean {
  return !core.multiportNegotiated() || core.portState(port).guestOpen;
}

/**
 * The guest's receiveq of `port` if it can take input now. The hardened device (the one that
 * holds input) also waits for the single-port driver's `fill_queue` to end (`inputReleased`).
 */
function rxQueueFor(core: ConsoleCore, port: number): SplitVirtqueue | undefined {
  const q = core.requireHost().queue(rxQueueOf(port));
  if (q === undefined) return undefined;
  if (!portTakesInput(core, port)) return undefined;
  const holds = core.behaviours.inputWhileNotReady === holdBeforeReady;
  if (holds && !core.multiportNegotiated() && !inputReleased(core.portState(port), q))
    return undefined;
  return q;
}

/** libvmm `virtio_console_handle_rx` (reference §4.9) or its hardened counterpart. */
export function handleRx(core: ConsoleCore, port: number): boolean {
  const host = core.requireHost();
  const state = core.portState(port);
  const b = core.behaviours;
  const rxq = state.spec.rx;
  const q = rxQueueFor(core, port);
  let used = false;
  if (q === undefined) {
    b.inputWhileNotReady(core, port);
  } else {
    for (let n = 0; n < MAX_CHAINS_PER_CALL; n++) {
      if (state.held.length === 0 && rxq.empty()) break;
      // A handle opened with `onCorruptIndex: "break"` stops here, where `"throw"` would.
      if (rxq.broken !== undefined) return true;
      const popped = q.popAvailable();
      if (popped.kind === "crash") return core.transportCrashed(popped.finding);
      if (popped.kind !== "chain") break;
      const chain = popped.chain;
      if (b.direction.wrong(core, port, chain, "receive")) break;
      const written = fillRx(core, port, b.direction.rxPayload(chain));
      if (written === STOPPED) return true;
      if (written < 0) return false;
      q.addUsed(chain.head, written);
      state.counters.rxChains++;
      used = true;
    }
  }
  // Consumer side of the signalling protocol: wake virt_rx if it asked (sddf-serial §3.1).
  if (rxq.requireConsumerSignal()) {
    rxq.cancelConsumerSignal();
    core.hooks.notifyRx(port);
  }
  if (!used || q === undefined) return true;
  if (b.dispatch.rxInterrupt(q)) return host.signalUsedBuffer();
  return true;
}

/**
 * Consumer: take everything the sDDF RX queue holds, in one batch (sddf-serial §2.4), into the
 * port's scratch arrays; returns the count.
 */
function drainRx(state: PortState): number {
  const rxq = state.spec.rx;
  const n = rxq.lengthConsumer();
  rxScratch(state, n);
  return rxq.dequeueBatch(state.scratchBytes, state.scratchTags, 0, n);
}

/** libvmm: input that arrives while RX is not ready is dequeued and discarded (L14). */
export function discardBeforeReady(core: ConsoleCore, port: number): void {
  const state = core.portState(port);
  const discarded = drainRx(state);
  if (discarded > 0) {
    state.counters.rxDiscardedNotReady += discarded;
    core.found(
      "rxDiscardBeforeReady",
      "loss",
      `port ${port}: ${discarded} input bytes discarded, receive queue not ready`,
    );
  }
}

/** Hardened: input that arrives while RX is not ready is kept (≤ `preReadyLimit`, overflow counted). */
export function holdBeforeReady(core: ConsoleCore, port: number): void {
  const state = core.portState(port);
  const got = drainRx(state);
  const bytes = state.scratchBytes;
  const tags = state.scratchTags;
  const keep = Math.min(got, Math.max(0, core.preReadyLimit - state.held.length));
  for (let i = 0; i < keep; i++) {
    state.held.push(bytes[i]!);
    state.heldTags.push(tags[i]!);
  }
  state.counters.rxHeldBeforeReady += keep;
  state.counters.rxOverflowBeforeReady += got - keep;
}

/** {@link fillRx}: the sDDF RX handle broke (`onCorruptIndex: "break"`); the work stops. */
const STOPPED = -2;

/**
 * Fill one RX buffer greedily: held input first, then the sDDF RX queue, up to the
 * buffer's size. Returns the bytes written, or -1 when libvmm would have crashed.
 */
function fillRx(core: ConsoleCore, port: number, segments: readonly BufferSegment[]): number {
  const state = core.portState(port);
  const rxq = state.spec.rx;
  // Never allocate more than there is to deliver: a hostile chain may claim gigabytes.
  const count = Math.min(lengthOf(segments), state.held.length + rxq.lengthConsumer());
  if (rxq.broken !== undefined) return STOPPED;
  rxScratch(state, count);
  const bytes = state.scratchBytes;
  const tags = state.scratchTags;
  const fromHeld = Math.min(count, state.held.length);
  if (fromHeld > 0) {
    bytes.set(state.held.splice(0, fromHeld));
    tags.set(state.heldTags.splice(0, fromHeld));
  }
  const filled = fromHeld + rxq.dequeueBatch(bytes, tags, fromHeld, count - fromHeld);
  if (rxq.broken !== undefined) return STOPPED;
  const memory = core.requireHost().memory;
  let done = 0;
  for (const s of segments) {
    if (done >= filled) break;
    const n = Math.min(s.len, filled - done);
    if (n === 0) continue;
    if (!s.inRam) {
      core.crashUnmapped(`port ${port}`, s);
      return -1;
    }
    memory.write(s.addr, bytes.subarray(done, done + n), tags.subarray(done, done + n));
    done += n;
  }
  state.counters.rxBytes += done;
  return done;
}
