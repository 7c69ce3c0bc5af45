/**
 * A console test rig: guest RAM, a console device on a virtio-mmio transport, an sDDF queue
 * pair per port with provenance shadows, recorded notifications and a pending-IRQ latch,
 * and a Linux front end wired straight to the transport (no vCPU, no scheduler).
 */

import type { AccessWidth, PdStep } from "@vmmux/microkit-pd";
import type { Profile } from "@vmmux/profiles";
import { type CorruptIndexPolicy, SerialQueue } from "@vmmux/sddf-queues";
import {
  type DefectSwitches,
  DriverVirtqueue,
  GuestMemory,
  type MmioWidth,
  Reg,
  Status,
  type VirtioDeviceHost,
  VirtioMmioTransport,
} from "@vmmux/virtio-core";
import {
  type ConsolePortSpec,
  type ConsolePreemptionSite,
  VirtioConsoleDevice,
  type VirtioConsoleOptions,
} from "../device.js";
import { type GuestMmio, LinuxConsoleDriver, type UsedEventRule } from "../guest/linux-driver.js";
import type { ConsoleDefectSwitches } from "../profile.js";

/** Guest-physical layout of the rig (libvmm example: RAM at 0x40000000, console at 0x130000). */
export const RIG_RAM_BASE = 0x4000_0000;
export const RIG_RAM_SIZE = 0x0100_0000;
export const RIG_MMIO_BASE = 0x0013_0000;

/** One register access the guest made. */
export interface MmioAccessRecord {
  readonly op: "R" | "W";
  readonly offset: number;
  readonly width: AccessWidth;
  readonly value: number;
}

/** A GuestMmio straight onto a transport, logging each access. */
export class DirectMmio implements GuestMmio {
  readonly log: MmioAccessRecord[] = [];
  /** Set when the transport would never resume the vCPU (libvmm FAIL or crash). */
  blocked = false;
  logging = true;

  constructor(
    private readonly transport: VirtioMmioTransport,
    private readonly base: number,
  ) {}

  *read(address: number, width: AccessWidth): PdStep<number> {
    const offset = address - this.base;
    const reply = this.transport.readAccess(offset, width as MmioWidth);
    if (this.logging) this.log.push({ op: "R", offset, width, value: reply.value });
    if (!reply.resume) yield* this.blockForever();
    return reply.value;
  }

  *write(address: number, width: AccessWidth, value: number): PdStep<void> {
    const offset = address - this.base;
    if (this.logging) this.log.push({ op: "W", offset, width, value });
    const reply = this.transport.writeAccess(offset, width as MmioWidth, value);
    if (!reply.resume) yield* this.blockForever();
  }

  /** A vCPU that is never resumed: it makes no progress, whatever the caller waits for. */
  private *blockForever(): PdStep<never> {
    this.blocked = true;
    for (;;) yield { kind: "vcpu-blocked" };
  }
}

export interface ConsoleRigOptions {
  readonly profile?: Profile;
  readonly defects?: Partial<ConsoleDefectSwitches>;
  /** Capacity of each sDDF data region (default 0x10000, sdfgen's default). */
  readonly serialCapacity?: number;
  readonly ports?: number;
  readonly build?: "debug" | "release";
  readonly preReadyLimit?: number;
  readonly features?: VirtioConsoleOptions["features"];
  readonly queueSize?: number;
  readonly emergencyTag?: number;
  /** Runs at the device's preemption points (e.g. to let virt_tx run there). */
  readonly onPreempt?: (site: ConsolePreemptionSite, port: number, rig: ConsoleRig) => void;
  /** Wrap the host the transport hands the device (for recording what the device does). */
  readonly wrapHost?: (host: VirtioDeviceHost) => VirtioDeviceHost;
  /** Per-defect overrides of the transport's (virtio-core) switches. */
  readonly transportDefects?: Partial<DefectSwitches>;
  /** Called after each interrupt the front end takes at an interrupt window. */
  readonly endOfInterrupt?: () => void;
  /** The front end's `used_event` rule (default: Linux's, `keepUsedEventCurrent`). */
  readonly usedEvent?: UsedEventRule;
  /** What the sDDF queue handles do on a corrupt peer index (default: the library's "throw"). */
  readonly onCorruptIndex?: CorruptIndexPolicy;
}

export interface SerialPair {
  readonly tx: SerialQueue;
  readonly rx: SerialQueue;
  /** The shared queue structs (`tail` @0, `head` @4, `producer_signalled` @8), for peers' writes. */
  readonly txRegion: Uint8Array;
  readonly rxRegion: Uint8Array;
}

/** A queue pair over fresh memory, with provenance shadows. */
export function serialPair(capacity: number, onCorruptIndex?: CorruptIndexPolicy): SerialPair {
  const make = (region: Uint8Array) =>
    new SerialQueue(region, new Uint8Array(capacity), {
      tags: new Uint32Array(capacity),
      ...(onCorruptIndex === undefined ? {} : { onCorruptIndex }),
    });
  const txRegion = new Uint8Array(0x1000);
  const rxRegion = new Uint8Array(0x1000);
  return { tx: make(txRegion), rx: make(rxRegion), txRegion, rxRegion };
}

export class ConsoleRig {
  readonly memory: GuestMemory;
  readonly serial: SerialPair[];
  readonly device: VirtioConsoleDevice;
  readonly transport: VirtioMmioTransport;
  readonly mmio: DirectMmio;
  readonly driver: LinuxConsoleDriver;
  /** Notifications the device sent, in order. */
  readonly notifications: { readonly to: "virt_tx" | "virt_rx"; readonly port: number }[] = [];
  /** Virtual IRQ latch: set by the transport, taken by the driver. */
  irqPending = false;
  irqRaised = 0;
  /** Bytes the Linux driver handed to its tty, with their tags. */
  readonly received: number[] = [];
  readonly receivedTags: number[] = [];

  constructor(options: ConsoleRigOptions = {}) {
    const profile = options.profile ?? "hardened";
    const capacity = options.serialCapacity ?? 0x10000;
    this.memory = new GuestMemory({
      regions: [{ base: RIG_RAM_BASE, size: RIG_RAM_SIZE }],
      provenance: true,
    });
    this.serial = Array.from({ length: options.ports ?? 1 }, () =>
      serialPair(capacity, options.onCorruptIndex),
    );
    const ports: ConsolePortSpec[] = this.serial.map((pair, i) => ({
      tx: pair.tx,
      rx: pair.rx,
      name: `port${i}`,
    }));
    this.device = new VirtioConsoleDevice({
      profile,
      ...(options.defects === undefined ? {} : { defects: options.defects }),
      ports,
      hooks: {
        notifyTx: (port) => this.notifications.push({ to: "virt_tx", port }),
        notifyRx: (port) => this.notifications.push({ to: "virt_rx", port }),
      },
      ...(options.build === undefined ? {} : { build: options.build }),
      ...(options.preReadyLimit === undefined ? {} : { preReadyLimit: options.preReadyLimit }),
      ...(options.features === undefined ? {} : { features: options.features }),
      ...(options.queueSize === undefined ? {} : { queueSize: options.queueSize }),
      ...(options.emergencyTag === undefined ? {} : { emergencyTag: options.emergencyTag }),
      ...(options.onPreempt === undefined
        ? {}
        : {
            preemptionPoint: (site: ConsolePreemptionSite, port: number) =>
              options.onPreempt?.(site, port, this),
          }),
    });
    const wrap = options.wrapHost;
    if (wrap !== undefined) {
      const attach = this.device.attach.bind(this.device);
      this.device.attach = (host: VirtioDeviceHost) => attach(wrap(host));
    }
    this.transport = new VirtioMmioTransport({
      device: this.device,
      memory: this.memory,
      profile,
      ...(options.transportDefects === undefined ? {} : { defects: options.transportDefects }),
      interrupt: {
        raise: () => {
          this.irqPending = true;
          this.irqRaised++;
          return true;
        },
      },
    });
    this.mmio = new DirectMmio(this.transport, RIG_MMIO_BASE);
    this.driver = new LinuxConsoleDriver({
      mmio: this.mmio,
      base: RIG_MMIO_BASE,
      memory: this.memory,
      heap: { base: RIG_RAM_BASE + 0x10_0000, size: RIG_RAM_SIZE - 0x10_0000 },
      interruptPending: () => this.takeIrq(),
      ...(options.usedEvent === undefined ? {} : { usedEvent: options.usedEvent }),
      ...(options.endOfInterrupt === undefined
        ? {}
        : {
            endOfInterrupt: function* () {
              options.endOfInterrupt?.();
            },
          }),
      onInput: (bytes, tags) => {
        this.received.push(...bytes);
        this.receivedTags.push(...tags);
      },
    });
  }

  /** The driver takes the pending vIRQ (edge: one delivery per raise). */
  takeIrq(): boolean {
    const pending = this.irqPending;
    this.irqPending = false;
    return pending;
  }

  /** TX-channel signals virt_tx sent while the device was busy, not yet delivered. */
  readonly pendingTxSignals: number[] = [];
  /** Bytes drained by virt_tx at preemption points (see `onPreempt`). */
  readonly preemptDrained: { bytes: number[]; tags: number[] } = { bytes: [], tags: [] };

  /**
   * Act as virt_tx for `port`: drain its TX queue and signal the device if it asked. With
   * `deferSignal` the signal waits in {@link pendingTxSignals}: the VMM is busy in the
   * device and sees the notification only when it returns.
   */
  drainTx(
    port = 0,
    max = Number.POSITIVE_INFINITY,
    deferSignal = false,
  ): { bytes: number[]; tags: number[] } {
    const txq = this.serial[port]!.tx;
    const bytes: number[] = [];
    const tags: number[] = [];
    while (bytes.length < max) {
      const byte = txq.dequeue();
      if (byte === undefined) break;
      bytes.push(byte);
      tags.push(txq.lastTag);
    }
    if (bytes.length > 0 && txq.requireConsumerSignal()) {
      txq.cancelConsumerSignal();
      if (deferSignal) this.pendingTxSignals.push(port);
      else this.device.serialTxSignalled(port);
    }
    return { bytes, tags };
  }

  /** Deliver deferred TX-channel signals to the device. */
  deliverSignals(): void {
    for (let port = this.pendingTxSignals.shift(); port !== undefined; ) {
      this.device.serialTxSignalled(port);
      port = this.pendingTxSignals.shift();
    }
  }

  /** Act as virt_rx for `port`: enqueue input bytes with tags and signal the device. */
  typeInput(bytes: Uint8Array, tags?: Uint32Array | number, port = 0): number {
    const n = this.serial[port]!.rx.enqueueBatch(bytes, tags);
    this.device.serialRxSignalled(port);
    return n;
  }
}

/** Run a guest step for at most `maxYields` preemption points. */
export function runGuest<T>(
  step: PdStep<T>,
  maxYields = 1_000_000,
  between?: (yields: number) => void,
): { done: true; value: T; yields: number } | { done: false; yields: number } {
  for (let yields = 0; yields < maxYields; yields++) {
    const next = step.next();
    if (next.done) return { done: true, value: next.value, yields };
    between?.(yields);
  }
  return { done: false, yields: maxYields };
}

/** Queues a raw (non-Linux) driver set up with {@link rawProbe}. */
export interface RawQueues {
  readonly queues: DriverVirtqueue[];
  /** Next free guest address for buffers. */
  nextBuffer: number;
}

/**
 * A minimal spec-following driver: reset, ACK, DRIVER, accept `features` (default
 * VERSION_1 only), FEATURES_OK, set up `queueCount` queues of `size`, DRIVER_OK. No buffers
 * are posted, so a test decides what the device sees.
 */
export function rawProbe(
  rig: ConsoleRig,
  options: { features?: bigint; queueCount?: number; size?: number; driverOk?: boolean } = {},
): RawQueues {
  const t = rig.transport;
  const features = options.features ?? 1n << 32n;
  t.write(Reg.Status, 4, 0);
  t.write(Reg.Status, 4, Status.ACKNOWLEDGE);
  t.write(Reg.Status, 4, Status.ACKNOWLEDGE | Status.DRIVER);
  t.write(Reg.DriverFeaturesSel, 4, 1);
  t.write(Reg.DriverFeatures, 4, Number(features >> 32n));
  t.write(Reg.DriverFeaturesSel, 4, 0);
  t.write(Reg.DriverFeatures, 4, Number(features & 0xffff_ffffn));
  t.write(Reg.Status, 4, Status.ACKNOWLEDGE | Status.DRIVER | Status.FEATURES_OK);
  const size = options.size ?? 16;
  const queues: DriverVirtqueue[] = [];
  let next = RIG_RAM_BASE + 0x1000;
  for (let q = 0; q < (options.queueCount ?? 2); q++) {
    const geometry = { size, descAddr: next, availAddr: next + 0x1000, usedAddr: next + 0x2000 };
    next += 0x3000;
    // With INDIRECT_DESC, each queue gets an indirect-table area (16 · size² bytes) below
    // the buffers, so a test can add indirect chains (§2.7.5.3).
    const indirect = (features & (1n << 28n)) !== 0n && 16 * size * size * 6 <= 0x4_0000;
    queues.push(
      new DriverVirtqueue({
        memory: rig.memory,
        geometry,
        ...(indirect
          ? { features: { indirect }, indirectArea: RIG_RAM_BASE + 0x4_0000 + q * 16 * size * size }
          : {}),
      }),
    );
    t.write(Reg.QueueSel, 4, q);
    t.write(Reg.QueueNum, 4, size);
    t.write(Reg.QueueDescLow, 4, geometry.descAddr);
    t.write(Reg.QueueDescHigh, 4, 0);
    t.write(Reg.QueueDriverLow, 4, geometry.availAddr);
    t.write(Reg.QueueDriverHigh, 4, 0);
    t.write(Reg.QueueDeviceLow, 4, geometry.usedAddr);
    t.write(Reg.QueueDeviceHigh, 4, 0);
    t.write(Reg.QueueReady, 4, 1);
  }
  // Leave QueueSel at the transmitq, as Linux does (libvmm's TX gate relies on it).
  t.write(Reg.QueueSel, 4, 1);
  if (options.driverOk ?? true) {
    t.write(
      Reg.Status,
      4,
      Status.ACKNOWLEDGE | Status.DRIVER | Status.FEATURES_OK | Status.DRIVER_OK,
    );
  }
  return { queues, nextBuffer: RIG_RAM_BASE + 0x8_0000 };
}
