/**
 * A model of Linux's virtio console driver on the virtio-mmio transport, as the device sees
 * it (reference virtio §5; torvalds/linux `drivers/char/virtio_console.c`,
 * `drivers/virtio/virtio_mmio.c`, `virtio.c`, `drivers/tty/hvc/hvc_console.c`).
 *
 * Every entry point is a generator: each `yield` is a preemption point charging guest CPU
 * time (`@vmmux/microkit-pd` `work()`), so a VMM can run the driver on a vCPU thread. The
 * driver touches the device only through {@link GuestMmio}; each register access is itself
 * a generator, so a VMM can turn it into a vCPU fault and resume the driver with the value.
 *
 * Modelled: the single-port probe with its exact register sequence (reference §5.1), feature
 * negotiation, 128 (QueueNumMax) receive buffers of PAGE_SIZE each with a kick per buffer,
 * `put_chars` with the busy-wait for the buffer to come back (local IRQs off, no timeout,
 * ended only by a broken queue), the printk path (16-byte chunks, `\n` → `\r\n`) and the tty
 * path (≤ PAGE_SIZE per buffer), the interrupt handler (read + ack InterruptStatus, config
 * change, `in_intr` → `hvc_poll` reading 16 bytes at a time, at most 128 per interrupt) and
 * the `add_port` window in which returned input is flushed (reference §5.2).
 *
 * This class is the driver's face; the parts are `probe.ts`, `transmit.ts`, `receive.ts` and
 * `control.ts`, all working on one `DriverState`.
 */
import type { GuestStep } from "@vmmux/microkit-pd";
import type { DriverVirtqueue } from "@vmmux/virtio-core";
import { runControlWork } from "./control.js";
import {
  DriverState,
  type LinuxConsoleDriverOptions,
  type LinuxDriverCounters,
} from "./driver-state.js";
import { type ProbeOutcome, probe } from "./probe.js";
import { hvcPoll, vmInterrupt } from "./receive.js";
import { consolePrint, putChars, ttyWrite } from "./transmit.js";

export type {
  GuestMmio,
  LinuxConsoleDriverOptions,
  LinuxDriverCounters,
  UsedEventRule,
} from "./driver-state.js";
export { keepUsedEventCurrent, vcpuMmio } from "./driver-state.js";
export type { ProbeOutcome } from "./probe.js";
export type { GuestStep };

export class LinuxConsoleDriver {
  private readonly s: DriverState;

  constructor(options: LinuxConsoleDriverOptions) {
    this.s = new DriverState(options);
    const s = this.s;
    s.takeInterrupt = () => vmInterrupt(s);
  }

  get counters(): LinuxDriverCounters {
    return this.s.counters;
  }

  /** Negotiated features after a successful probe. */
  get features(): bigint {
    return this.s.features;
  }

  /** Console size (F_SIZE config, or RESIZE under MULTIPORT). */
  get size(): { cols: number; rows: number } | undefined {
    return this.s.size;
  }

  /** `max_nr_ports` read from the config space under MULTIPORT. */
  get maxNrPorts(): number {
    return this.s.maxNrPorts;
  }

  /**
   * True when a kernel thread has work: more input waits for `khvcd` (the interrupt path
   * stopped at 128 bytes) or an interrupt scheduled the MULTIPORT control work.
   */
  get pollPending(): boolean {
    return this.s.pollPending || this.s.controlWorkPending;
  }

  /** True once the console port is on the driver's port list. */
  get portListed(): boolean {
    return this.s.consolePort?.listed ?? false;
  }

  /** The console port's transmit queue, once set up. */
  get transmitQueue(): DriverVirtqueue | undefined {
    return (this.s.consolePort ?? this.s.ports.get(0))?.txq;
  }

  /** The console port's receive queue, once set up. */
  get receiveQueue(): DriverVirtqueue | undefined {
    return (this.s.consolePort ?? this.s.ports.get(0))?.rxq;
  }

  /** Ports the driver created, with their state as Linux keeps it. */
  portInfo(): { id: number; console: boolean; hostConnected: boolean; name?: string }[] {
    return [...this.s.ports.values()].map((p) => ({
      id: p.id,
      console: p.console,
      hostConnected: p.hostConnected,
      ...(p.name === undefined ? {} : { name: p.name }),
    }));
  }

  /** `virtio_mmio_probe` → `register_virtio_device` → `virtio_dev_probe` → `virtcons_probe`. */
  probe(): GuestStep<ProbeOutcome> {
    return probe(this.s);
  }

  /**
   * `put_chars` → `__send_to_port(nonblock = false)` on the console port. Returns the count
   * sent, 0 when the add failed, -EPIPE without a console.
   */
  putChars(bytes: Uint8Array, tags?: Uint32Array | number): GuestStep<number> {
    return putChars(this.s, bytes, tags);
  }

  /** `hvc_console_print`: a kernel-log message, 16-byte CRLF-converted chunks. */
  consolePrint(message: Uint8Array, tags?: Uint32Array): GuestStep<number> {
    return consolePrint(this.s, message, tags);
  }

  /** `hvc_write` → `hvc_push`: a tty write, up to PAGE_SIZE per `put_chars`. */
  ttyWrite(bytes: Uint8Array, tags?: Uint32Array): GuestStep<number> {
    return ttyWrite(this.s, bytes, tags);
  }

  /**
   * `vm_interrupt`: read and ack InterruptStatus, then config change and vring callbacks;
   * then the control work it scheduled, as the kworker runs it right after.
   */
  *handleInterrupt(): GuestStep<boolean> {
    const handled = yield* vmInterrupt(this.s);
    yield* runControlWork(this.s);
    return handled;
  }

  /** The kernel threads: pending control work, then `khvcd` reading what the interrupt left. */
  *pollInput(): GuestStep<number> {
    yield* runControlWork(this.s);
    const port = this.s.consolePort;
    if (port === undefined || !port.listed) return 0;
    return yield* hvcPoll(this.s, port, false);
  }

  /** Where local interrupts come back on: take a pending device interrupt now. */
  irqWindow(): GuestStep {
    return this.s.irqWindow();
  }
}
