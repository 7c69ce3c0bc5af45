/**
 * Planted-bug variants. Each property suite runs against one of these and must fail, which
 * shows the property can catch the kind of bug it is there for. Never used outside tests.
 */
import type { PdContext } from "@vmmux/microkit-pd";
import type { LocalTail, SerialQueue } from "@vmmux/sddf-queues";
import { VirtRx } from "../virt-rx.js";
import { VirtTx } from "../virt-tx.js";

/**
 * virt_tx as before sDDF `334e9be8` (2025-08): after requesting a driver signal it pends
 * the client without re-checking, so a driver that drained the queue in the window of
 * §3.3 never wakes it (lost wake-up, §10 T8).
 */
export class VirtTxWithoutRecheck extends VirtTx {
  protected override stillBlocked(_need: number, _driver: SerialQueue): boolean {
    return true;
  }
}

/**
 * virt_rx that forgets to publish the old client's tail at a switch: bytes typed before
 * the switch in the same pass are never seen by that client (cf. the mid-2024 bug of §6.4,
 * which skipped the publish when the client had not asked for a signal).
 */
export class VirtRxUnpublishedSwitch extends VirtRx {
  protected override publishBeforeSwitch(
    _pd: PdContext,
    _k: number,
    _target: { queue: SerialQueue; local: LocalTail },
    _transferred: boolean,
  ): void {}
}

/**
 * Line-atomic virt_tx that forgets to hold back a trailing partial line: it moves whatever
 * the client published, so another client's bytes can land inside a line, unreported.
 */
export class VirtTxLineBlind extends VirtTx {
  protected override lineUnit(
    _client: SerialQueue,
    available: number,
    _driver: SerialQueue,
  ): number {
    return available;
  }
}
