/**
 * Planted bugs: variants of the device-side queue and of the transport with one classic
 * mistake each, kept so the property suites keep proving they can fail (STYLE.md "Small
 * habits").
 */

import { Reg } from "../constants.js";
import { type MmioReply, type MmioWidth, VirtioMmioTransport } from "../mmio.js";
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

/**
 * A transport that loses a doorbell: the first QueueNotify a live device gets after each
 * reset is answered but never reaches the device, so the chains it announced wait although
 * the device could take them. Plug it in with `runHostile`'s `transport` option.
 */
export class DroppedNotifyTransport extends VirtioMmioTransport {
  private dropped = false;

  override writeAccess(offset: number, width: MmioWidth, value: number): MmioReply {
    if (offset === Reg.Status && value === 0) this.dropped = false;
    if (offset === Reg.QueueNotify && width === 4 && this.isLive() && !this.dropped) {
      this.dropped = true;
      return { value: 0, resume: true };
    }
    return super.writeAccess(offset, width, value);
  }
}
