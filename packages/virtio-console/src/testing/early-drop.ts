/**
 * Planted bug: a console that drops input arriving before the driver has set DRIVER_OK and
 * counts nothing. It dequeues what virt_rx delivered (keeping the sDDF signalling protocol,
 * sddf-serial §3.1) and forgets it: the bytes vanish between the RX queue and the guest,
 * unlike libvmm's discard (L14), which the `reference` device counts. The testbench's `input`
 * oracle must find them in no named place.
 */
import type { SerialQueue } from "@vmmux/sddf-queues";
import { Status, type VirtioDeviceHost } from "@vmmux/virtio-core";
import { type ConsoleHooks, VirtioConsoleDevice, type VirtioConsoleOptions } from "../device.js";
import { type ConsoleWiring, type ConsoleWiringOptions, createVirtioConsole } from "../wiring.js";

export class UncountedEarlyDropConsole extends VirtioConsoleDevice {
  private readonly rxQueues: readonly SerialQueue[];
  private readonly rxHooks: ConsoleHooks;
  private attachedTo: VirtioDeviceHost | undefined;

  constructor(options: VirtioConsoleOptions) {
    super(options);
    this.rxQueues = options.ports.map((p) => p.rx);
    this.rxHooks = options.hooks;
  }

  override attach(host: VirtioDeviceHost): void {
    super.attach(host);
    this.attachedTo = host;
  }

  override serialRxSignalled(port = 0): boolean {
    const status = this.attachedTo?.status ?? 0;
    const rx = this.rxQueues[port];
    if ((status & Status.DRIVER_OK) !== 0 || rx === undefined) return super.serialRxSignalled(port);
    while (rx.dequeue() !== undefined) {
      // dropped, not counted
    }
    if (rx.requireConsumerSignal()) {
      rx.cancelConsumerSignal();
      this.rxHooks.notifyRx(port);
    }
    return true;
  }
}

/** `createVirtioConsole` with the planted device (a VMM's console factory in tests). */
export function createUncountedEarlyDropConsole(options: ConsoleWiringOptions): ConsoleWiring {
  return createVirtioConsole(options, UncountedEarlyDropConsole);
}
