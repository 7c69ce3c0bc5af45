/**
 * One call for a VMM: a console device on its virtio-mmio transport, with the three hooks
 * libvmm's console uses (reference virtio §4.8–§4.10): notify virt_tx, notify virt_rx and
 * inject the virtual IRQ. The hooks are plain callbacks, so the device needs no runtime.
 */
import {
  type DefectFinding,
  type DefectSwitches,
  type GuestMemory,
  VirtioMmioTransport,
} from "@vmmux/virtio-core";
import { type ConsoleHooks, VirtioConsoleDevice, type VirtioConsoleOptions } from "./device.js";

export interface ConsoleWiringHooks extends ConsoleHooks {
  /** Inject the device's virtual IRQ; false when the vGIC refuses (libvmm L12). */
  injectIrq(): boolean;
  /** Level semantics (hardened): InterruptStatus went back to 0. */
  lowerIrq?(): void;
}

export interface ConsoleWiringOptions extends Omit<VirtioConsoleOptions, "hooks"> {
  readonly memory: GuestMemory;
  readonly hooks: ConsoleWiringHooks;
  /** Per-defect overrides of the transport's and virtqueue's switches. */
  readonly transportDefects?: Partial<DefectSwitches>;
  /** Register window size (libvmm example: 0x200). */
  readonly windowSize?: number;
  readonly onFinding?: (finding: DefectFinding) => void;
}

export interface ConsoleWiring {
  readonly device: VirtioConsoleDevice;
  readonly transport: VirtioMmioTransport;
}

/**
 * Build the device and its transport with one profile for both. `Device` builds the device
 * (a subclass of `VirtioConsoleDevice`, e.g. a deliberately wrong one in tests).
 */
export function createVirtioConsole(
  options: ConsoleWiringOptions,
  Device: new (options: VirtioConsoleOptions) => VirtioConsoleDevice = VirtioConsoleDevice,
): ConsoleWiring {
  const { memory, hooks, transportDefects, windowSize, onFinding, ...deviceOptions } = options;
  const device = new Device({
    ...deviceOptions,
    hooks: { notifyTx: (p) => hooks.notifyTx(p), notifyRx: (p) => hooks.notifyRx(p) },
  });
  const lower = hooks.lowerIrq;
  const transport = new VirtioMmioTransport({
    device,
    memory,
    profile: options.profile ?? "hardened",
    ...(transportDefects === undefined ? {} : { defects: transportDefects }),
    interrupt: {
      raise: () => hooks.injectIrq(),
      ...(lower === undefined ? {} : { lower: () => lower() }),
    },
    ...(windowSize === undefined ? {} : { windowSize }),
    ...(onFinding === undefined ? {} : { onFinding }),
  });
  return { device, transport };
}
