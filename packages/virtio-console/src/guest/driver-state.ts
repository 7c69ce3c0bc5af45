/**
 * What the modelled Linux console driver keeps (Linux `struct ports_device` and `struct port`)
 * and its primitive steps: register accesses through {@link GuestMmio}, `virtio_add_status`,
 * `virtqueue_kick`, page allocation and the interrupt window where local IRQs come back on.
 * The probe, transmit, receive and control parts (`probe.ts`, `transmit.ts`, `receive.ts`,
 * `control.ts`) work on one of these.
 */
import type { AccessWidth, GuestStep, VcpuContext } from "@vmmux/microkit-pd";
import {
  DriverQueueError,
  type DriverVirtqueue,
  Feature,
  type GuestMemory,
  hasFeature,
  Reg,
  type UsedBuffer,
} from "@vmmux/virtio-core";
import { ConsoleError } from "../errors.js";

/**
 * How the driver reaches the device registers. Tests wire it straight to a transport; a
 * VMM routes it through vCPU faults (each access may block the vCPU until the VMM replies).
 */
export interface GuestMmio {
  read(address: number, width: AccessWidth): GuestStep<number>;
  write(address: number, width: AccessWidth, value: number): GuestStep<void>;
}

/** The driver's register accesses as vCPU exits to the VMM (`@vmmux/microkit-pd` vCPUs). */
export function vcpuMmio(vcpu: VcpuContext): GuestMmio {
  return {
    read: (address, width) => vcpu.mmioRead(address, width),
    write: (address, width, value) => vcpu.mmioWrite(address, width, value),
  };
}

export interface LinuxConsoleDriverOptions {
  readonly mmio: GuestMmio;
  /** Guest-physical base of the virtio-mmio window (device tree `reg`). */
  readonly base: number;
  readonly memory: GuestMemory;
  /** Guest RAM the driver may allocate rings and buffers from (page aligned). */
  readonly heap: { readonly base: number; readonly size: number };
  /** Bytes the hvc layer read, for the tty above (tags = provenance of each byte). */
  readonly onInput?: (bytes: Uint8Array, tags: Uint32Array, port: number) => void;
  /**
   * Whether the device's vIRQ is pending and deliverable; asked where the driver re-enables
   * local interrupts. When true the driver runs its interrupt handler there.
   */
  readonly interruptPending?: () => boolean;
  /**
   * Run after each interrupt the driver takes at such a window (a VMM's EOI of the vIRQ,
   * which a real guest's GIC driver does when `vm_interrupt` returns). Default: nothing.
   */
  readonly endOfInterrupt?: () => GuestStep;
  /** Features the driver knows (Linux's table: F_SIZE, F_MULTIPORT). */
  readonly driverFeatures?: bigint;
  /**
   * What the driver does to a queue's `used_event` after taking a used buffer. Default:
   * {@link keepUsedEventCurrent}, as Linux does. Another guest kernel's ring code can be
   * modelled by passing a different rule.
   */
  readonly usedEvent?: UsedEventRule;
}

/** The driver's `used_event` rule, run after each used buffer it takes under EVENT_IDX. */
export type UsedEventRule = (queue: DriverVirtqueue) => void;

/**
 * Linux `virtqueue_get_buf_ctx_split`: unless callbacks are off for the queue, store
 * `last_used_idx` into `used_event` after taking a buffer, so the device interrupts for the
 * next one (VirtIO 1.2 §2.7.10; reference virtio §1.6). `enableInterrupts` writes exactly
 * that slot under EVENT_IDX.
 */
export const keepUsedEventCurrent: UsedEventRule = (queue) => {
  queue.enableInterrupts();
};

/** Counters a test or the VMM can read. */
export interface LinuxDriverCounters {
  /** `put_chars` calls and bytes handed to the device. */
  putChars: number;
  bytesSent: number;
  /** Chunks thrown away by the hvc layer because `put_chars` failed. */
  chunksDropped: number;
  bytesDropped: number;
  /** `cpu_relax` iterations spent waiting for transmit buffers. */
  spinIterations: number;
  /** Bytes handed to the tty. */
  bytesReceived: number;
  /** Input flushed because the port was not yet on the port list (reference §5.2). */
  bytesFlushedBeforePort: number;
  /** Input thrown away because no process had the (generic) port open. */
  bytesDiscardedClosedPort: number;
  /** Interrupts handled, and those that found no work on any queue. */
  interrupts: number;
  interruptsNoWork: number;
  configChanges: number;
  /** MULTIPORT control messages received and sent. */
  controlReceived: number;
  controlSent: number;
}

/** The receive buffer `hvc_poll` is reading from (Linux `port->inbuf`). */
export interface RxBuffer {
  readonly addr: number;
  len: number;
  offset: number;
}

/** A port as the driver keeps it (Linux `struct port`). */
export interface GuestPort {
  readonly id: number;
  readonly rxq: DriverVirtqueue;
  readonly txq: DriverVirtqueue;
  readonly rxIndex: number;
  readonly txIndex: number;
  /** Buffer address of each outstanding chain, by head. */
  readonly rxBuffers: Map<number, number>;
  readonly txBuffers: Map<number, number>;
  readonly txFree: number[];
  inbuf: RxBuffer | undefined;
  /** On the driver's port list (end of `add_port`). */
  listed: boolean;
  /** An hvc console is attached (`init_port_console`). */
  console: boolean;
  /** Opened in the guest; console ports are, generic ports are not opened by anyone here. */
  guestConnected: boolean;
  hostConnected: boolean;
  name: string | undefined;
}

function alignUp(value: number, align: number): number {
  return Math.ceil(value / align) * align;
}

export class DriverState {
  readonly options: LinuxConsoleDriverOptions;
  readonly counters: LinuxDriverCounters = {
    putChars: 0,
    bytesSent: 0,
    chunksDropped: 0,
    bytesDropped: 0,
    spinIterations: 0,
    bytesReceived: 0,
    bytesFlushedBeforePort: 0,
    bytesDiscardedClosedPort: 0,
    interrupts: 0,
    interruptsNoWork: 0,
    configChanges: 0,
    controlReceived: 0,
    controlSent: 0,
  };
  /** Negotiated features after a successful probe. */
  features = 0n;
  /** Console size (F_SIZE config, or RESIZE under MULTIPORT). */
  size: { cols: number; rows: number } | undefined;
  /** `max_nr_ports` read from the config space under MULTIPORT. */
  maxNrPorts = 1;
  /** True when more input waits for `khvcd` (the interrupt path stopped at 128 bytes). */
  pollPending = false;
  multiport = false;
  /** Every virtqueue by index, once set up. */
  queues: DriverVirtqueue[] = [];
  readonly ports = new Map<number, GuestPort>();
  /** The port hvc0 writes to (port 0 without MULTIPORT; the first CONSOLE_PORT with it). */
  consolePort: GuestPort | undefined;
  /** Control receiveq buffers by head, and the one control transmit buffer. */
  readonly controlBuffers = new Map<number, number>();
  controlOut = 0;
  inInterrupt = false;
  /** `schedule_work(&portdev->control_work)` ran and the work has not run since. */
  controlWorkPending = false;
  /** The control work is running (the kworker is in `control_work_handler`). */
  controlWorkRunning = false;
  /** The interrupt handler (`vm_interrupt`), run where local interrupts come back on. */
  takeInterrupt: () => GuestStep<boolean> = function* () {
    return false;
  };
  private heapNext: number;

  constructor(options: LinuxConsoleDriverOptions) {
    this.options = options;
    this.heapNext = options.heap.base;
  }

  get memory(): GuestMemory {
    return this.options.memory;
  }

  /**
   * `virtqueue_get_buf` on a queue with a callback: take one used buffer, then keep
   * `used_event` current by the driver's rule (only meaningful under EVENT_IDX).
   */
  getBuf(queue: DriverVirtqueue): UsedBuffer | DriverQueueError | undefined {
    const used = queue.getUsed();
    if (used !== undefined && !(used instanceof DriverQueueError) && this.eventIdx) {
      (this.options.usedEvent ?? keepUsedEventCurrent)(queue);
    }
    return used;
  }

  get eventIdx(): boolean {
    return hasFeature(this.features, Feature.EVENT_IDX);
  }

  /** Where local interrupts come back on: take a pending device interrupt now. */
  *irqWindow(): GuestStep {
    if (this.inInterrupt) return;
    const pending = this.options.interruptPending;
    const eoi = this.options.endOfInterrupt;
    for (let i = 0; i < 4 && pending?.() === true; i++) {
      yield* this.takeInterrupt();
      if (eoi !== undefined) yield* eoi();
    }
  }

  /** `virtqueue_kick`: notify unless the device suppressed it. */
  *kick(queue: DriverVirtqueue, index: number): GuestStep {
    if (queue.kickPrepare()) yield* this.write(Reg.QueueNotify, index);
  }

  /** `virtio_add_status`: read-modify-write of the status register. */
  *addStatus(bit: number): GuestStep {
    const status = yield* this.read(Reg.Status);
    yield* this.write(Reg.Status, (status | bit) >>> 0);
  }

  *read(offset: number, width: AccessWidth = 4): GuestStep<number> {
    return yield* this.options.mmio.read(this.options.base + offset, width);
  }

  *write(offset: number, value: number): GuestStep {
    yield* this.options.mmio.write(this.options.base + offset, 4, value >>> 0);
  }

  /** Bump allocation from the driver's heap (kmalloc / alloc_pages stand-in). */
  alloc(size: number, align: number): number {
    const addr = alignUp(this.heapNext, align);
    const end = addr + alignUp(size, align);
    const heap = this.options.heap;
    if (end > heap.base + heap.size) {
      throw new ConsoleError(
        "guest-memory-exhausted",
        `guest heap 0x${heap.base.toString(16)}+0x${heap.size.toString(16)} cannot hold ${size} more bytes`,
      );
    }
    this.heapNext = end;
    return addr;
  }
}
