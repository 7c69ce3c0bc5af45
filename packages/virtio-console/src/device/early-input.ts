/**
 * Hardened: when input that arrives before the guest can take it may be delivered.
 *
 * Linux's `add_port` posts its receive buffers (`fill_queue`: a kick per buffer, an interrupt
 * window after each) before it puts the port on its list; a buffer returned used in that window
 * meets `find_port_by_vq() == NULL` in `in_intr` and is flushed with its bytes (reference virtio
 * §5.2, "Window"). A device that fills the first posted buffer hands early input to a driver
 * that throws it away. So until the guest has stopped posting, the hardened device keeps input
 * back (bounded, `holdBeforeReady`) and releases it once the ring is full (`fill_queue` stops
 * at `num_free` 0): with nothing held, at once; with input held, at the next event (a keystroke
 * from virt_rx, a kick) that finds the full ring as the previous one left it, since the event
 * that completed the ring may be `add_port`'s last kick. A driver that never fills its ring gets
 * the input at the third event in a row that finds no buffer posted. Under MULTIPORT the
 * port's PORT_OPEN is the signal instead (`portTakesInput`), so
 * this gate serves the single-port console.
 */
import { type SplitVirtqueue, Wrapping16 } from "@vmmux/virtio-core";
import type { PortState } from "./port.js";

/** Per port, before release: the queue, its `avail.idx` at the last event, and for how many events in a row it stood still. */
const lastSeen = new WeakMap<
  PortState,
  { readonly q: SplitVirtqueue; readonly idx: number; readonly still: number }
>();
/** Per port: the receive queue input was released to (a queue set up afresh starts over). */
const released = new WeakMap<PortState, SplitVirtqueue>();

/** Events in a row with no buffer posted after which a driver that never fills its ring is served. */
const STILL_EVENTS = 3;

/** Whether input may go to `q` now (see the module comment). */
export function inputReleased(state: PortState, q: SplitVirtqueue): boolean {
  if (released.get(state) === q) return true;
  const idx = q.availIdx();
  // A driver area outside RAM: let the normal path meet (and report) it.
  if (!(idx instanceof Wrapping16)) return true;
  const previous = lastSeen.get(state);
  const same = previous?.q === q && previous.idx === idx.value;
  const still = same ? previous.still + 1 : 0;
  lastSeen.set(state, { q, idx: idx.value, still });
  const full = idx.since(q.lastAvailIdx) >= q.size;
  const held = state.held.length > 0;
  if (!(full && (!held || same)) && still < STILL_EVENTS) return false;
  released.set(state, q);
  return true;
}
