/**
 * Planted bugs the property suites must catch (COMMON "every property suite must be shown
 * to catch a planted bug"). Each is the hardened console with one libvmm behaviour switched
 * back on, so the bug is real code that the `reference` profile runs, not a test-only fake.
 */
import type { UsedEventRule } from "../guest/linux-driver.js";
import type { ConsoleDefectSwitches } from "../profile.js";

export const PLANTED_BUGS = {
  /** TX sends device-writable buffers of a transmit chain (L15): caught by the fuzz oracle. */
  sendsWritableBuffers: { directionUnchecked: true },
  /** virt_tx's wake-up on the TX channel is ignored (L13): caught by the lossless property. */
  ignoresTxWakeup: { txSignalIgnored: true },
  /** No re-check after requesting a signal (T8, lost wake-up): caught by the lossless property. */
  noRecheck: { txNoRecheck: true },
  /** A chain is sent whole or not at all (L4 stall): caught by the lossless property. */
  wholeChainOnly: { txWholeChain: true, txOversizeAssert: true },
} as const satisfies Record<string, Partial<ConsoleDefectSwitches>>;

export type PlantedBug = keyof typeof PLANTED_BUGS;

/**
 * A front end that never writes `used_event` after taking a used buffer, passed as the
 * driver's `usedEvent` rule: against an EVENT_IDX device only the first buffer ever
 * interrupts (VirtIO 1.2 §2.7.10: the device notifies when it passes `used_event`, which
 * stays 0). Caught by `guest/used-event.test.ts`.
 */
export const neverUpdatesUsedEvent: UsedEventRule = () => {};
