/**
 * Planted bugs: variants of the device-side queue with one classic mistake each, kept so
 * the property suites keep proving they can fail (STYLE.md "Small habits").
 */

import type { PopResult } from "../virtqueue.js";
import { SplitVirtqueue } from "../virtqueue.js";
import { Wrapping16 } from "../wrapping.js";

/** Re-enables notifications without the re-check: a chain published meanwhile waits forever. */
export class NoRecheckQueue extends SplitVirtqueue {
  override enableNotification(): boolean {
    super.enableNotification();
    return false;
  }
}

/**
 * Compares ring indices as raw numbers instead of wrapping them: after avail.idx wraps to a
 * value below the device's shadow, the queue looks empty and buffers are lost.
 */
export class RawIndexQueue extends SplitVirtqueue {
  override peekAvailable(): PopResult {
    const idx = this.availIdx();
    if (idx instanceof Wrapping16 && idx.value < this.lastAvailIdx.value) return { kind: "empty" };
    return super.peekAvailable();
  }

  override hasAvailable(): boolean {
    const idx = this.availIdx();
    if (idx instanceof Wrapping16 && idx.value < this.lastAvailIdx.value) return false;
    return super.hasAvailable();
  }
}
