/**
 * Hardened: when input that arrives before the guest can take it may be delivered.
 *
 * Linux's `add_port` posts its receive buffers (`fill_queue`: a kick per buffer, an interrupt
 * window after each) before it puts the port on its list; a buffer returned used in that window
 * meets `find_port_by_vq() == NULL` in `in_intr` and is flushed with its bytes (reference virtio
 * §5.2, "Window"). A device that fills the first posted buffer hands early input to a driver
 * that throws it away. So until the guest has stopped posting, the hardened device keeps input
 * back (bounded, `holdBeforeReady`): it releases it at the first event (a keystroke from
 * virt_rx, a kick) that finds the driver's `avail.idx` where the previous event on this queue
 * left it, or, with nothing held, once every slot is posted (`fill_queue` stops at `num_free`
 * 0; a driver that suppresses kicks, EVENT_IDX, fills the ring between events). Under MULTIPORT the port's PORT_OPEN is the signal instead (`portTakesInput`), so
 * this gate serves the single-port console.
 */
import { type SplitVirtqueue, Wrapping16 } from "@vmmux/virtio-core";
import type { PortState } from "./port.js";

/** Per port: the receive queue and its `avail.idx` at the previous event before release. */
const lastSeen = new WeakMap<PortState, { readonly q: SplitVirtqueue; readonly idx: number }>();
/** Per port: the receive queue input was released to (a queue set up afresh starts over). */
const released = new WeakMap<PortState, SplitVirtqueue>();

/**
 * Whether input may go to `q` now: always once released on this queue; before that only at an
 * event that finds no buffer posted since the previous one (the driver's `fill_queue` is over),
 * or at one that finds the ring full while nothing early is held.
 */
export function inputReleased(state: PortState, q: SplitVirtqueue): boolean {
  if (released.get(state) === q) return true;
  const idx = q.availIdx();
  // A driver area outside RAM: let the normal path meet (and report) it.
  if (!(idx instanceof Wrapping16)) return true;
  const previous = lastSeen.get(state);
  lastSeen.set(state, { q, idx: idx.value });
  const quiet = previous?.q === q && previous.idx === idx.value;
  const full = idx.since(q.lastAvailIdx) >= q.size;
  if (!quiet && !(full && state.held.length === 0)) return false;
  released.set(state, q);
  return true;
}
