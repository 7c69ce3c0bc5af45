/**
 * Defects in the trace records a PL011 writes for the character ends the kernel passes as inert
 * ticks in a recorded run (`FifoTransmitter.tracePassed`), which tx-recorded.prop.test.ts must
 * catch. Through `Pl011Device.makeTransmitter`.
 *
 * - `passed-at-pass-time`: the record is stamped with the clock when the ticks are passed, not
 *   with the character's own end.
 * - `passed-untraced`: the device declares `tracesPassed` but writes no record for a passed tick.
 * - `passed-next-character`: a passed character's record names the character after it.
 */
import type { DeviceHost } from "@vmmux/microkit-pd";
import { type PartsContext, transmitterOptions } from "../behaviour.js";
import { Pl011Device } from "../device.js";
import { FifoTransmitter, type Transmitter } from "../tx.js";
import type { PeerWire } from "../wire.js";

export type PlantedPassedTraceBug =
  | "passed-at-pass-time"
  | "passed-untraced"
  | "passed-next-character";

class AtPassTime extends FifoTransmitter {
  protected override tracePassed(
    traceAt: NonNullable<DeviceHost["traceAt"]>,
    k: number,
    _end: number,
  ): void {
    super.tracePassed(traceAt, k, this.regs.host.now());
  }
}

class Untraced extends FifoTransmitter {
  protected override tracePassed(): void {}
}

class NextCharacter extends FifoTransmitter {
  protected override tracePassed(
    traceAt: NonNullable<DeviceHost["traceAt"]>,
    k: number,
    end: number,
  ): void {
    super.tracePassed(traceAt, k + 1, end);
  }
}

/** A PL011 whose passed character ends write a wrong record (same options as `Pl011Device`). */
export function plantedPassedTraces(bug: PlantedPassedTraceBug): typeof Pl011Device {
  const variant =
    bug === "passed-at-pass-time"
      ? AtPassTime
      : bug === "passed-untraced"
        ? Untraced
        : NextCharacter;
  return class extends Pl011Device {
    protected override makeTransmitter(ctx: PartsContext, wire: PeerWire): Transmitter {
      return new variant(ctx.regs, ctx.txFifo, ctx.rx, ctx.output, transmitterOptions(ctx, wire));
    }
  };
}
