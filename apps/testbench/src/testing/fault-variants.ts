/**
 * Deliberately wrong variants of the fault scenarios (issue 11 item 3), each of which `check`
 * must catch: a virt_tx that does not contain a corrupt client, and a driver that stops on a
 * line error. Never used outside tests.
 */
import type { PdContext, PdStep } from "@vmmux/microkit-pd";
import { Pl011Driver } from "@vmmux/pl011-uart";
import type { SerialQueue } from "@vmmux/sddf-queues";
import { VirtTx } from "@vmmux/sddf-serial";

/**
 * virt_tx without quarantine: a client queue's corrupt index is not contained but escapes the
 * PD, as it would from handles left at the queue library's default `onCorruptIndex: "throw"`
 * (sddf-serial §2.3). The corrupt client takes virt_tx, and every other client's output, down.
 */
export class VirtTxWithoutQuarantine extends VirtTx {
  protected override *processChecked(
    pd: PdContext,
    k: number,
    client: SerialQueue,
  ): PdStep<boolean> {
    const moved = yield* super.processChecked(pd, k, client);
    const broken = client.broken;
    if (broken !== undefined) throw broken;
    return moved;
  }
}

/**
 * A PL011 driver that stops serving its UART after the first received byte with an error flag
 * (framing, parity, break or overrun; sddf-serial §10 R4): it ignores every notification from
 * then on and never acknowledges the IRQ again, so neither direction moves.
 */
export class Pl011DriverStoppingOnLineError extends Pl011Driver {
  override *notified(ch: number, pd: PdContext): PdStep {
    if (this.counters.rxErrorBytes > 0) return;
    yield* super.notified(ch, pd);
  }
}
