/**
 * Planted defects that the property suites must catch (COMMON.md: every property is shown
 * able to fail). Kept beside the arbitraries so packages above can reuse them.
 *
 * - `overrun-replaces-newest`: on overrun the incoming character overwrites the newest
 *   FIFO entry instead of being lost (a FIFO entry disappears; reference §6.3 says the
 *   FIFO contents stay valid).
 * - `imsc-write-skips-irq-update`: writing IMSC does not re-evaluate the interrupt line,
 *   so unmasking an already-set RIS bit does not raise UARTINTR (reference §7).
 * - driver `rx-no-recheck`: `rx_return` requests a signal without re-checking the queue
 *   (sddf-serial §3.2), the lost wake-up the interleaving explorer must find.
 */
import type { DeviceHost } from "@vmmux/microkit-pd";
import {
  Pl011Device,
  type Pl011InternalOptions,
  type Pl011Options,
  type PlantedDeviceBug,
} from "../device.js";

export type { PlantedDriverBug } from "../config.js";
export type { PlantedDeviceBug };

export const PLANTED_DEVICE_BUGS: readonly PlantedDeviceBug[] = [
  "overrun-replaces-newest",
  "imsc-write-skips-irq-update",
];

/** A device with one planted defect. */
export function plantedDevice(
  bug: PlantedDeviceBug,
  options: Omit<Pl011Options, "host"> & { host: DeviceHost },
): Pl011Device {
  const internal: Pl011InternalOptions = { ...options, plantedBug: bug };
  return new Pl011Device(internal);
}
