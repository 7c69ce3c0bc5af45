/**
 * Planted defects that the property suites must catch (COMMON.md: every property is shown
 * able to fail), as subclasses through the extension points the production classes
 * document. Kept beside the arbitraries so packages above can reuse them.
 *
 * - `overrun-replaces-newest`: on overrun the incoming character overwrites the newest
 *   FIFO entry instead of being lost (a FIFO entry disappears; reference §6.3 says the
 *   FIFO contents stay valid). Through `Pl011Device.makeFifo`.
 * - `imsc-write-skips-irq-update`: writing IMSC does not re-evaluate the interrupt line,
 *   so unmasking an already-set RIS bit does not raise UARTINTR (reference §7). Through
 *   `Pl011Device.writeRegister`.
 * - driver `rx-no-recheck`: `rx_return` requests a signal without re-checking the queue
 *   (sddf-serial §3.2), the lost wake-up the interleaving explorer must find. Through
 *   `Pl011Driver.rxRecheck`.
 */
import type { PdStep } from "@vmmux/microkit-pd";
import { Pl011Device, type Pl011Options } from "../device.js";
import { Pl011Driver } from "../driver.js";
import { TaggedFifo } from "../fifo.js";
import { Reg, WIDTH_MASK } from "../registers.js";

export type PlantedDeviceBug = "overrun-replaces-newest" | "imsc-write-skips-irq-update";
export type PlantedDriverBug = "rx-no-recheck";

export const PLANTED_DEVICE_BUGS: readonly PlantedDeviceBug[] = [
  "overrun-replaces-newest",
  "imsc-write-skips-irq-update",
];

/** A FIFO that, when full, overwrites its newest entry (and still reports the push failed). */
class OverwritingFifo extends TaggedFifo {
  override push(value: number, tag: number, depth: number): boolean {
    if (this.count < depth) return super.push(value, tag, depth);
    if (this.count > 0) {
      const slot = (this.head + this.count - 1) % this.storage;
      this.values[slot] = value;
      this.tags[slot] = tag;
    }
    return false;
  }
}

class OverrunReplacesNewestDevice extends Pl011Device {
  protected override makeFifo(direction: "rx" | "tx"): TaggedFifo {
    return direction === "rx" ? new OverwritingFifo(32) : super.makeFifo(direction);
  }
}

class ImscSkipsIrqUpdateDevice extends Pl011Device {
  protected override writeRegister(offset: number, value: number, tag: number): void {
    if (offset === Reg.IMSC) {
      this.regs.imsc = value & WIDTH_MASK.IMSC;
      return;
    }
    super.writeRegister(offset, value, tag);
  }
}

/** A device with one planted defect. */
export function plantedDevice(bug: PlantedDeviceBug, options: Pl011Options): Pl011Device {
  switch (bug) {
    case "overrun-replaces-newest":
      return new OverrunReplacesNewestDevice(options);
    case "imsc-write-skips-irq-update":
      return new ImscSkipsIrqUpdateDevice(options);
  }
}

/** The driver without the re-check after its signal request. */
export class NoRecheckDriver extends Pl011Driver {
  protected override *rxRecheck(): PdStep<boolean> {
    return false;
  }
}
