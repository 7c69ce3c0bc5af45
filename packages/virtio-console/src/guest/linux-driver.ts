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
 */
import { type AccessWidth, type GuestStep, type VcpuContext, work } from "@vmmux/microkit-pd";
import {
  DriverQueueError,
  DriverVirtqueue,
  Feature,
  featureBit,
  type GuestMemory,
  hasFeature,
  INTERRUPT_CONFIG_CHANGE,
  INTERRUPT_USED_BUFFER,
  MMIO_MAGIC,
  Reg,
  Status,
} from "@vmmux/virtio-core";
import { ConfigOffset } from "../config.js";
import {
  BAD_PORT_ID,
  CONTROL_RX_QUEUE,
  CONTROL_TX_QUEUE,
  ConsoleFeature,
  ControlEvent,
  type ControlEventCode,
  LINUX_MAX_PORTS,
  PAGE_SIZE,
  queueRole,
  rxQueueOf,
  txQueueOf,
} from "../constants.js";
import {
  CONTROL_HEADER_SIZE,
  type ControlMessage,
  decodeControl,
  encodeControl,
} from "../control.js";
import { ConsoleError } from "../errors.js";
import { consolePrintChunks, HVC_ATOMIC_READ_MAX, N_INBUF, ttyWriteChunks } from "./hvc.js";

export type { GuestStep };

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
  /** Features the driver knows (Linux's table: F_SIZE, F_MULTIPORT). */
  readonly driverFeatures?: bigint;
}

/** Why the probe ended. */
export type ProbeOutcome =
  | { readonly ok: true; readonly features: bigint; readonly queueSize: number }
  | { readonly ok: false; readonly reason: string };

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

/** Linux's driver feature table for virtio_console (reference §5.4). */
const LINUX_CONSOLE_FEATURES =
  featureBit(ConsoleFeature.SIZE) | featureBit(ConsoleFeature.MULTIPORT);

/** Transport features `vring_transport_features` keeps when the device offers them. */
const TRANSPORT_FEATURES =
  featureBit(Feature.INDIRECT_DESC) |
  featureBit(Feature.EVENT_IDX) |
  featureBit(Feature.VERSION_1) |
  featureBit(Feature.ACCESS_PLATFORM) |
  featureBit(Feature.RING_PACKED) |
  featureBit(Feature.ORDER_PLATFORM) |
  featureBit(Feature.SR_IOV) |
  featureBit(Feature.NOTIFICATION_DATA) |
  featureBit(Feature.RING_RESET);

/** Transport features this model can drive (no packed ring, no indirect tables). */
const MODELLED_TRANSPORT = featureBit(Feature.VERSION_1) | featureBit(Feature.EVENT_IDX);

interface RxBuffer {
  readonly addr: number;
  len: number;
  offset: number;
}

function alignUp(value: number, align: number): number {
  return Math.ceil(value / align) * align;
}

/** A port as the driver keeps it (Linux `struct port`). */
interface GuestPort {
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

export class LinuxConsoleDriver {
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
  private readonly options: LinuxConsoleDriverOptions;
  private heapNext: number;
  private multiport = false;
  /** Every virtqueue by index, once set up. */
  private queues: DriverVirtqueue[] = [];
  private readonly ports = new Map<number, GuestPort>();
  /** The port hvc0 writes to (port 0 without MULTIPORT; the first CONSOLE_PORT with it). */
  private consolePort: GuestPort | undefined;
  /** Control receiveq buffers by head, and the one control transmit buffer. */
  private readonly controlBuffers = new Map<number, number>();
  private controlOut = 0;
  private inInterrupt = false;

  constructor(options: LinuxConsoleDriverOptions) {
    this.options = options;
    this.heapNext = options.heap.base;
  }

  /** True once the console port is on the driver's port list. */
  get portListed(): boolean {
    return this.consolePort?.listed ?? false;
  }

  /** The console port's transmit queue, once set up. */
  get transmitQueue(): DriverVirtqueue | undefined {
    return (this.consolePort ?? this.ports.get(0))?.txq;
  }

  /** The console port's receive queue, once set up. */
  get receiveQueue(): DriverVirtqueue | undefined {
    return (this.consolePort ?? this.ports.get(0))?.rxq;
  }

  /** Ports the driver created, with their state as Linux keeps it. */
  portInfo(): { id: number; console: boolean; hostConnected: boolean; name?: string }[] {
    return [...this.ports.values()].map((p) => ({
      id: p.id,
      console: p.console,
      hostConnected: p.hostConnected,
      ...(p.name === undefined ? {} : { name: p.name }),
    }));
  }

  // ---- probe (reference §5.1, §3.5) ------------------------------------------------------

  /** `virtio_mmio_probe` → `register_virtio_device` → `virtio_dev_probe` → `virtcons_probe`. */
  *probe(): GuestStep<ProbeOutcome> {
    const magic = yield* this.read(Reg.MagicValue);
    if (magic !== MMIO_MAGIC) return { ok: false, reason: `bad magic 0x${magic.toString(16)}` };
    const version = yield* this.read(Reg.Version);
    if (version < 1 || version > 2) return { ok: false, reason: `version ${version}` };
    const deviceId = yield* this.read(Reg.DeviceID);
    // Device ID 0 is a placeholder: ignore it silently (§4.2.3.1).
    if (deviceId === 0) return { ok: false, reason: "device id 0" };
    yield* this.read(Reg.VendorID);
    if (version !== 2) return { ok: false, reason: "legacy device not modelled" };

    // register_virtio_device: reset (no read-back poll), then ACKNOWLEDGE.
    yield* this.write(Reg.Status, 0);
    yield* this.addStatus(Status.ACKNOWLEDGE);
    // virtio_dev_probe
    yield* this.addStatus(Status.DRIVER);
    yield* this.write(Reg.DeviceFeaturesSel, 1);
    const high = yield* this.read(Reg.DeviceFeatures);
    yield* this.write(Reg.DeviceFeaturesSel, 0);
    const low = yield* this.read(Reg.DeviceFeatures);
    const offered = (BigInt(high) << 32n) | BigInt(low);
    const known = this.options.driverFeatures ?? LINUX_CONSOLE_FEATURES;
    const features = (known & offered) | (offered & TRANSPORT_FEATURES & MODELLED_TRANSPORT);
    if (!hasFeature(features, Feature.VERSION_1)) {
      // vm_finalize_features: a v2 device must offer VERSION_1.
      yield* this.addStatus(Status.FAILED);
      return { ok: false, reason: "device does not offer VIRTIO_F_VERSION_1" };
    }
    yield* this.write(Reg.DriverFeaturesSel, 1);
    yield* this.write(Reg.DriverFeatures, Number(features >> 32n) >>> 0);
    yield* this.write(Reg.DriverFeaturesSel, 0);
    yield* this.write(Reg.DriverFeatures, Number(features & 0xffff_ffffn) >>> 0);
    yield* this.addStatus(Status.FEATURES_OK);
    const status = yield* this.read(Reg.Status);
    if ((status & Status.FEATURES_OK) === 0) {
      yield* this.addStatus(Status.FAILED);
      return { ok: false, reason: "device refuses features" };
    }
    this.features = features;

    // virtcons_probe: with MULTIPORT, max_nr_ports decides how many queues exist.
    this.multiport = hasFeature(features, ConsoleFeature.MULTIPORT);
    if (this.multiport) {
      const max = yield* this.read(Reg.Config + ConfigOffset.maxNrPorts);
      if (max === 0 || max > LINUX_MAX_PORTS) {
        return yield* this.fail(`invalid max_nr_ports ${max}`);
      }
      this.maxNrPorts = max;
    }
    // init_vqs → vm_find_vqs → vm_setup_vq for every queue, in index order.
    const eventIdx = hasFeature(features, Feature.EVENT_IDX);
    const count = this.multiport ? 2 * (this.maxNrPorts + 1) : 2;
    for (let index = 0; index < count; index++) {
      const q = yield* this.setupQueue(index, eventIdx);
      if (typeof q === "string") return yield* this.fail(q);
      this.queues.push(q);
    }
    // virtio_device_ready: DRIVER_OK before buffers are added.
    yield* this.addStatus(Status.DRIVER_OK);
    if (this.multiport) {
      // fill_queue(c_ivq), then DEVICE_READY; ports arrive as PORT_ADD messages.
      const controlRx = this.queues[CONTROL_RX_QUEUE]!;
      while (controlRx.numFree > 0) {
        const addr = this.alloc(PAGE_SIZE, PAGE_SIZE);
        const head = controlRx.addChain([], [{ addr, len: PAGE_SIZE }]);
        if (head instanceof DriverQueueError) break;
        this.controlBuffers.set(head, addr);
        yield* this.kick(controlRx, CONTROL_RX_QUEUE);
        yield* this.irqWindow();
      }
      this.controlOut = this.alloc(CONTROL_HEADER_SIZE, 64);
      yield* this.sendControl(BAD_PORT_ID, ControlEvent.DEVICE_READY, 1);
    } else {
      // add_port(0): fill_queue, then init_port_console, then onto the port list.
      const port = this.createPort(0);
      yield* this.fillReceiveQueue(port);
      this.attachConsole(port);
      yield work("guest-compute", 1);
      port.listed = true;
    }
    // virtio_dev_probe: DRIVER_OK is already set, so only the read.
    yield* this.read(Reg.Status);
    return { ok: true, features, queueSize: this.queues[0]!.size };
  }

  private *fail(reason: string): GuestStep<ProbeOutcome> {
    yield* this.addStatus(Status.FAILED);
    return { ok: false, reason };
  }

  /** `vm_setup_vq`: select, check not ready, read max, allocate, program, enable. */
  private *setupQueue(index: number, eventIdx: boolean): GuestStep<DriverVirtqueue | string> {
    yield* this.write(Reg.QueueSel, index);
    const ready = yield* this.read(Reg.QueueReady);
    if (ready !== 0) return `queue ${index} already set up`;
    const num = yield* this.read(Reg.QueueNumMax);
    if (num === 0) return `queue ${index} absent`;
    // vring_alloc_queue_split rejects a size that is not a power of two.
    if ((num & (num - 1)) !== 0 || num > 32768) return `bad virtqueue length ${num}`;
    // Legacy-compatible layout with MMIO's PAGE_SIZE alignment (reference §5.1).
    const descAddr = this.alloc(16 * num + 6 + 2 * num, PAGE_SIZE);
    const availAddr = descAddr + 16 * num;
    const usedAddr = this.alloc(6 + 8 * num, PAGE_SIZE);
    const queue = new DriverVirtqueue({
      memory: this.options.memory,
      geometry: { size: num, descAddr, availAddr, usedAddr },
      features: { eventIdx },
    });
    yield* this.write(Reg.QueueNum, num);
    yield* this.write(Reg.QueueDescLow, descAddr % 0x1_0000_0000);
    yield* this.write(Reg.QueueDescHigh, Math.floor(descAddr / 0x1_0000_0000));
    yield* this.write(Reg.QueueDriverLow, availAddr % 0x1_0000_0000);
    yield* this.write(Reg.QueueDriverHigh, Math.floor(availAddr / 0x1_0000_0000));
    yield* this.write(Reg.QueueDeviceLow, usedAddr % 0x1_0000_0000);
    yield* this.write(Reg.QueueDeviceHigh, Math.floor(usedAddr / 0x1_0000_0000));
    yield* this.write(Reg.QueueReady, 1);
    return queue;
  }

  private createPort(id: number): GuestPort {
    const rxIndex = rxQueueOf(id);
    const txIndex = txQueueOf(id);
    const port: GuestPort = {
      id,
      rxq: this.queues[rxIndex]!,
      txq: this.queues[txIndex]!,
      rxIndex,
      txIndex,
      rxBuffers: new Map(),
      txBuffers: new Map(),
      txFree: [],
      inbuf: undefined,
      listed: false,
      console: false,
      guestConnected: false,
      hostConnected: false,
      name: undefined,
    };
    for (let i = 0; i < port.txq.size; i++) port.txFree.push(this.alloc(PAGE_SIZE, PAGE_SIZE));
    this.ports.set(id, port);
    return port;
  }

  /** `init_port_console`: hvc attached, the port counts as opened by the guest. */
  private attachConsole(port: GuestPort): void {
    port.console = true;
    port.guestConnected = true;
    this.consolePort ??= port;
  }

  /** `fill_queue`: PAGE_SIZE receive buffers until the ring is full, one kick each. */
  private *fillReceiveQueue(port: GuestPort): GuestStep {
    while (port.rxq.numFree > 0) {
      const addr = this.alloc(PAGE_SIZE, PAGE_SIZE);
      yield* this.addInbuf(port, addr);
      // spin_unlock_irq: a pending interrupt is taken here.
      yield* this.irqWindow();
    }
  }

  /** `add_inbuf`: one device-writable buffer, then `virtqueue_kick`. */
  private *addInbuf(port: GuestPort, addr: number): GuestStep<boolean> {
    const head = port.rxq.addChain([], [{ addr, len: PAGE_SIZE }]);
    if (head instanceof DriverQueueError) return false;
    port.rxBuffers.set(head, addr);
    yield* this.kick(port.rxq, port.rxIndex);
    return true;
  }

  // ---- transmit (reference §5.3) ---------------------------------------------------------

  /**
   * `put_chars` → `__send_to_port(nonblock = false)` on the console port: copy into a fresh
   * buffer, add it, always kick, then spin until the device returns a buffer or the queue
   * breaks. Returns the count sent, 0 when the add failed, -EPIPE without a console.
   */
  *putChars(bytes: Uint8Array, tags?: Uint32Array | number): GuestStep<number> {
    const port = this.consolePort;
    if (port === undefined || !port.listed) return -32;
    const txq = port.txq;
    this.counters.putChars++;
    yield work("copy", bytes.length);
    this.reclaimTx(port);
    const addr = port.txFree.pop();
    let sent = 0;
    let head: number | DriverQueueError = new DriverQueueError(
      "driver-queue-full",
      "no transmit buffer",
    );
    if (addr !== undefined) {
      this.options.memory.write(addr, bytes, tags);
      head = txq.addChain([{ addr, len: bytes.length }], []);
      if (head instanceof DriverQueueError) port.txFree.push(addr);
      else port.txBuffers.set(head, addr);
    }
    yield* this.kick(txq, port.txIndex);
    if (!(head instanceof DriverQueueError)) {
      sent = bytes.length;
      // Local IRQs are off and outvq_lock is held: nothing but the device can end this.
      for (;;) {
        const used = txq.getUsed();
        if (used instanceof DriverQueueError) break;
        if (used !== undefined) {
          this.releaseTx(port, used.head);
          break;
        }
        this.counters.spinIterations++;
        yield work("cpu_relax", 1);
      }
    }
    this.counters.bytesSent += sent;
    // spin_unlock_irqrestore
    yield* this.irqWindow();
    return sent;
  }

  /** `hvc_console_print`: a kernel-log message, 16-byte CRLF-converted chunks. */
  *consolePrint(message: Uint8Array, tags?: Uint32Array): GuestStep<number> {
    return yield* this.sendChunks(consolePrintChunks(message), tags, true);
  }

  /** `hvc_write` → `hvc_push`: a tty write, up to PAGE_SIZE per `put_chars`. */
  *ttyWrite(bytes: Uint8Array, tags?: Uint32Array): GuestStep<number> {
    return yield* this.sendChunks(ttyWriteChunks(bytes, PAGE_SIZE), tags, false);
  }

  private *sendChunks(
    chunks: Uint8Array[],
    tags: Uint32Array | undefined,
    converted: boolean,
  ): GuestStep<number> {
    let sent = 0;
    let at = 0;
    for (const chunk of chunks) {
      // CRLF conversion inserts bytes, so tags follow the source bytes (CR takes its LF's tag).
      const chunkTags = tags === undefined ? undefined : new Uint32Array(chunk.length);
      if (chunkTags !== undefined && tags !== undefined) {
        for (let i = 0; i < chunk.length; i++) {
          chunkTags[i] = tags[Math.min(at, tags.length - 1)] ?? 0;
          if (!(converted && chunk[i] === 0x0d)) at++;
        }
      }
      const r = yield* this.putChars(chunk, chunkTags);
      if (r <= 0) {
        this.counters.chunksDropped++;
        this.counters.bytesDropped += chunk.length;
      } else {
        sent += r;
      }
    }
    return sent;
  }

  private reclaimTx(port: GuestPort): void {
    for (;;) {
      const used = port.txq.getUsed();
      if (used === undefined || used instanceof DriverQueueError) return;
      this.releaseTx(port, used.head);
    }
  }

  private releaseTx(port: GuestPort, head: number): void {
    const addr = port.txBuffers.get(head);
    if (addr === undefined) return;
    port.txBuffers.delete(head);
    port.txFree.push(addr);
  }

  // ---- interrupts and receive (reference §5.2) -------------------------------------------

  /** `vm_interrupt`: read and ack InterruptStatus, then config change and vring callbacks. */
  *handleInterrupt(): GuestStep<boolean> {
    this.counters.interrupts++;
    this.inInterrupt = true;
    const status = yield* this.read(Reg.InterruptStatus);
    yield* this.write(Reg.InterruptACK, status);
    let handled = false;
    if ((status & INTERRUPT_CONFIG_CHANGE) !== 0) {
      yield* this.configChanged();
      handled = true;
    }
    if ((status & INTERRUPT_USED_BUFFER) !== 0) {
      // vring_interrupt on every queue; transmit queues usually have nothing (IRQ_NONE).
      if (this.multiport && this.queues[CONTROL_RX_QUEUE]?.hasUsed()) {
        yield* this.controlWork();
        handled = true;
      }
      for (let index = 0; index < this.queues.length; index += 1) {
        const role = queueRole(index, this.maxNrPorts, this.multiport);
        if (role.kind !== "rx" || !this.queues[index]!.hasUsed()) continue;
        yield* this.inIntr(index, role.port);
        handled = true;
      }
    }
    if (!handled) this.counters.interruptsNoWork++;
    this.inInterrupt = false;
    return handled;
  }

  /** `config_work_handler`: without MULTIPORT read cols and rows, resize with F_SIZE. */
  private *configChanged(): GuestStep {
    this.counters.configChanges++;
    if (this.multiport) return;
    const cols = yield* this.read(Reg.Config + ConfigOffset.cols, 2);
    const rows = yield* this.read(Reg.Config + ConfigOffset.rows, 2);
    if (hasFeature(this.features, ConsoleFeature.SIZE)) this.size = { cols, rows };
  }

  /** `in_intr`: flush while the port is not listed; discard if closed; else `hvc_poll`. */
  private *inIntr(index: number, portId: number): GuestStep {
    const port = this.ports.get(portId);
    if (port === undefined || !port.listed) {
      // find_port_by_vq() == NULL → flush_bufs: the buffers and their bytes are gone.
      const q = port?.rxq ?? this.queues[index]!;
      for (;;) {
        const used = q.getUsed();
        if (used === undefined || used instanceof DriverQueueError) return;
        port?.rxBuffers.delete(used.head);
        this.counters.bytesFlushedBeforePort += Math.min(used.len, PAGE_SIZE);
      }
    }
    if (!port.guestConnected) {
      // discard_port_data: nobody has the port open; the buffers go back.
      for (;;) {
        const got = yield* this.getChars(port, PAGE_SIZE, false);
        if (got === 0) return;
        this.counters.bytesDiscardedClosedPort += got;
      }
    }
    if (port.console) yield* this.hvcPoll(port, true);
  }

  /**
   * `hvc_poll`: `get_chars` 16 bytes at a time into the tty; in interrupt context at most
   * 128 bytes, the rest is left to `khvcd` ({@link pollInput}).
   */
  private *hvcPoll(port: GuestPort, atomic: boolean): GuestStep<number> {
    let total = 0;
    this.pollPending = false;
    for (;;) {
      const got = yield* this.getChars(port, N_INBUF, true);
      if (got === 0) break;
      total += got;
      if (atomic && total >= HVC_ATOMIC_READ_MAX) {
        this.pollPending = true;
        break;
      }
    }
    return total;
  }

  /** `khvcd`: read what the interrupt path left. Returns the bytes read. */
  *pollInput(): GuestStep<number> {
    const port = this.consolePort;
    if (port === undefined || !port.listed) return 0;
    return yield* this.hvcPoll(port, false);
  }

  /**
   * `get_chars` → `fill_readbuf`: copy from the current used buffer; a fully read buffer is
   * re-posted with a kick.
   */
  private *getChars(port: GuestPort, count: number, deliver: boolean): GuestStep<number> {
    if (port.inbuf === undefined) {
      const used = port.rxq.getUsed();
      if (used === undefined || used instanceof DriverQueueError) return 0;
      const addr = port.rxBuffers.get(used.head);
      if (addr === undefined) return 0;
      port.rxBuffers.delete(used.head);
      port.inbuf = { addr, len: Math.min(used.len, PAGE_SIZE), offset: 0 };
    }
    const buf = port.inbuf;
    const n = Math.min(count, buf.len - buf.offset);
    if (n > 0) {
      const bytes = new Uint8Array(n);
      const tags = new Uint32Array(n);
      this.options.memory.readInto(buf.addr + buf.offset, bytes, tags);
      buf.offset += n;
      if (deliver) {
        this.counters.bytesReceived += n;
        this.options.onInput?.(bytes, tags, port.id);
      }
      yield work("copy", n);
    }
    if (buf.offset === buf.len) {
      port.inbuf = undefined;
      yield* this.addInbuf(port, buf.addr);
    }
    return n;
  }

  // ---- MULTIPORT control (reference §3.4–§3.5) --------------------------------------------

  /** `control_work_handler`: handle each control message, re-post its buffer. */
  private *controlWork(): GuestStep {
    const q = this.queues[CONTROL_RX_QUEUE]!;
    for (let guard = 0; guard < 4 * q.size; guard++) {
      const used = q.getUsed();
      if (used === undefined || used instanceof DriverQueueError) return;
      const addr = this.controlBuffers.get(used.head);
      if (addr === undefined) continue;
      this.controlBuffers.delete(used.head);
      const bytes = this.options.memory.read(addr, Math.min(used.len, PAGE_SIZE));
      this.counters.controlReceived++;
      yield* this.handleControl(bytes);
      const head = q.addChain([], [{ addr, len: PAGE_SIZE }]);
      if (!(head instanceof DriverQueueError)) {
        this.controlBuffers.set(head, addr);
        yield* this.kick(q, CONTROL_RX_QUEUE);
      }
    }
  }

  /** `handle_control_message`. */
  private *handleControl(bytes: Uint8Array): GuestStep {
    let message: ControlMessage;
    try {
      message = decodeControl(bytes);
    } catch {
      return;
    }
    const port = this.ports.get(message.id);
    if (message.event === ControlEvent.DEVICE_ADD) {
      if (port !== undefined) {
        yield* this.sendControl(message.id, ControlEvent.PORT_READY, 1);
        return;
      }
      // An id at or above max_nr_ports is dropped with a warning.
      if (message.id >= this.maxNrPorts) return;
      const added = this.createPort(message.id);
      yield* this.fillReceiveQueue(added);
      added.listed = true;
      yield* this.sendControl(message.id, ControlEvent.PORT_READY, 1);
      return;
    }
    // Messages for unknown ports are dropped.
    if (port === undefined) return;
    switch (message.event) {
      case ControlEvent.CONSOLE_PORT:
        if (message.value === 0 || port.console) return;
        this.attachConsole(port);
        yield* this.sendControl(port.id, ControlEvent.PORT_OPEN, 1);
        return;
      case ControlEvent.RESIZE:
        if (port.console && message.size !== undefined) this.size = { ...message.size };
        return;
      case ControlEvent.PORT_OPEN:
        port.hostConnected = message.value === 1;
        return;
      case ControlEvent.PORT_NAME:
        port.name = message.name;
        return;
      case ControlEvent.DEVICE_REMOVE:
        port.listed = false;
        this.ports.delete(port.id);
        if (this.consolePort === port) this.consolePort = undefined;
        return;
      default:
        return;
    }
  }

  /** `__send_control_msg`: one 8-byte message on the control transmitq, then spin for it. */
  private *sendControl(id: number, event: ControlEventCode, value: number): GuestStep {
    const q = this.queues[CONTROL_TX_QUEUE];
    if (q === undefined) return;
    this.options.memory.write(this.controlOut, encodeControl({ id, event, value }));
    const head = q.addChain([{ addr: this.controlOut, len: CONTROL_HEADER_SIZE }], []);
    if (head instanceof DriverQueueError) return;
    this.counters.controlSent++;
    yield* this.kick(q, CONTROL_TX_QUEUE);
    for (;;) {
      const used = q.getUsed();
      if (used !== undefined) return;
      this.counters.spinIterations++;
      yield work("cpu_relax", 1);
    }
  }

  /** Where local interrupts come back on: take a pending device interrupt now. */
  *irqWindow(): GuestStep {
    if (this.inInterrupt) return;
    const pending = this.options.interruptPending;
    for (let i = 0; i < 4 && pending?.() === true; i++) yield* this.handleInterrupt();
  }

  // ---- helpers ---------------------------------------------------------------------------

  private *kick(queue: DriverVirtqueue, index: number): GuestStep {
    if (queue.kickPrepare()) yield* this.write(Reg.QueueNotify, index);
  }

  /** `virtio_add_status`: read-modify-write of the status register. */
  private *addStatus(bit: number): GuestStep {
    const status = yield* this.read(Reg.Status);
    yield* this.write(Reg.Status, (status | bit) >>> 0);
  }

  private *read(offset: number, width: AccessWidth = 4): GuestStep<number> {
    return yield* this.options.mmio.read(this.options.base + offset, width);
  }

  private *write(offset: number, value: number): GuestStep {
    yield* this.options.mmio.write(this.options.base + offset, 4, value >>> 0);
  }

  /** Bump allocation from the driver's heap (kmalloc / alloc_pages stand-in). */
  private alloc(size: number, align: number): number {
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
