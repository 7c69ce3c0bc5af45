/**
 * Device + driver on a {@link FakeDeviceHost} without the scheduler: the driver runs in a
 * {@link ManualPd}, each entry point to completion in zero virtual time, and a small
 * kernel stand-in delivers the device IRQ as a notification, masks the line until the
 * driver's deferred ack (sddf-serial §1.1) and plays both virtualisers' queue ends.
 */
import { ManualPd } from "@vmmux/microkit-pd/testing";
import type { Profile } from "@vmmux/profiles";
import { SerialQueue } from "@vmmux/sddf-queues";
import type { Pl011DriverConfig } from "../config.js";
import { Pl011Device, type Pl011Options } from "../device.js";
import { Pl011Driver } from "../driver.js";
import { FakeDeviceHost } from "./fake-host.js";

export interface HarnessOptions {
  readonly profile?: Profile;
  readonly driver?: Partial<Pl011DriverConfig>;
  readonly device?: Partial<Omit<Pl011Options, "host" | "irq">>;
  /** Ring sizes of the driver queues (power of two); default 0x10000 (sdfgen). */
  readonly txCapacity?: number;
  readonly rxCapacity?: number;
  /** Drain the RX queue as soon as the driver notifies (an always-ready virt_rx); default true. */
  readonly autoDrainRx?: boolean;
  /** Without RX connection (`rx_enabled` false). */
  readonly txOnly?: boolean;
  /** Builds the device (default `new Pl011Device`): a subclass or instrumented variant. */
  readonly makeDevice?: (options: Pl011Options) => Pl011Device;
  /** Builds the driver (default `new Pl011Driver`): a subclass or instrumented variant. */
  readonly makeDriver?: (config: Pl011DriverConfig) => Pl011Driver;
}

export const IRQ = 33;
export const CH_IRQ = 0;
export const CH_TX = 1;
export const CH_RX = 2;

/** A driver PD wired to a device and to both queue ends. */
export class DriverHarness {
  readonly host = new FakeDeviceHost();
  readonly uart: Pl011Device;
  readonly driver: Pl011Driver;
  readonly pd: ManualPd;
  /** virt_tx's end of the driver TX queue (producer). */
  txProducer!: SerialQueue;
  /** virt_rx's end of the driver RX queue (consumer), if RX is enabled. */
  rxConsumer: SerialQueue | null = null;
  /** Bytes (and tags) virt_rx has taken from the RX queue. */
  readonly received: number[] = [];
  readonly receivedTags: number[] = [];
  /** Notifications the driver sent to each virtualiser. */
  notifiesToTx = 0;
  notifiesToRx = 0;
  autoDrainRx: boolean;
  private irqMasked = false;
  private readonly pendingChannels = new Set<number>();
  private initialised = false;

  constructor(options: HarnessOptions = {}) {
    const txCapacity = options.txCapacity ?? 0x10000;
    const rxCapacity = options.rxCapacity ?? 0x10000;
    this.autoDrainRx = options.autoDrainRx ?? true;
    const makeDevice = options.makeDevice ?? ((o: Pl011Options) => new Pl011Device(o));
    const makeDriver = options.makeDriver ?? ((c: Pl011DriverConfig) => new Pl011Driver(c));
    this.uart = makeDevice({ host: this.host, irq: IRQ, ...options.device });
    this.pd = new ManualPd("uart_driver", {
      memory: {
        tx_queue: { size: 0x1000 },
        tx_data: { size: txCapacity },
        rx_queue: { size: 0x1000 },
        rx_data: { size: rxCapacity },
      },
      mmio: { uart: this.uart },
    });
    this.driver = makeDriver({
      profile: options.profile ?? "hardened",
      mmioRegion: "uart",
      irqChannel: CH_IRQ,
      tx: { channel: CH_TX, queueRegion: "tx_queue", dataRegion: "tx_data" },
      ...(options.txOnly
        ? {}
        : { rx: { channel: CH_RX, queueRegion: "rx_queue", dataRegion: "rx_data" } }),
      ...options.driver,
    });
  }

  /** Run the driver's `init`, then the event loop's initial IRQ ack (sddf-serial §1.1). */
  init(): this {
    this.runEntry(this.driver.init(this.pd));
    this.txProducer = SerialQueue.fromRegions(
      this.pd.memory("tx_queue"),
      this.pd.memory("tx_data"),
    );
    if (this.driver.rxQueue) {
      this.rxConsumer = SerialQueue.fromRegions(
        this.pd.memory("rx_queue"),
        this.pd.memory("rx_data"),
      );
    }
    this.initialised = true;
    this.irqMasked = false;
    this.deliver();
    return this;
  }

  /** virt_tx publishes bytes (as many as fit) and notifies the driver; returns bytes queued. */
  transmit(bytes: ArrayLike<number>, tags?: ArrayLike<number>): number {
    let n = 0;
    for (; n < bytes.length; n++) {
      if (!this.txProducer.enqueue(bytes[n]!, tags?.[n] ?? 0)) break;
    }
    if (n > 0) this.signal(CH_TX);
    return n;
  }

  /** A peer signals the driver on `ch`; delivered before the next device event. */
  signal(ch: number): void {
    this.pendingChannels.add(ch);
    this.deliver();
  }

  /** virt_rx drains the RX queue and signals the driver if it asked (sddf-serial §6.4). */
  drainRx(): number {
    const q = this.rxConsumer;
    if (!q) return 0;
    let n = 0;
    for (;;) {
      const b = q.dequeue();
      if (b === undefined) break;
      this.received.push(b);
      this.receivedTags.push(q.lastTag);
      n++;
    }
    if (!q.full() && q.requireConsumerSignal()) {
      q.cancelConsumerSignal();
      this.signal(CH_RX);
    }
    return n;
  }

  /** Run device events up to `time`, serving notifications as they arise. */
  runUntil(time: number): void {
    for (;;) {
      this.deliver();
      const next = this.host.nextEventTime();
      if (next === undefined || next > time) break;
      this.host.step();
    }
    this.host.runUntil(time);
    this.deliver();
  }

  /** Run until neither device nor driver has anything left to do. */
  runToIdle(maxEvents = 50_000_000): void {
    for (let i = 0; i < maxEvents; i++) {
      this.deliver();
      if (!this.host.step()) return;
    }
    throw new Error("DriverHarness.runToIdle: event budget exhausted");
  }

  /** Deliver pending notifications and an asserted, unmasked IRQ, until quiescent. */
  private deliver(): void {
    if (!this.initialised || this.delivering) return;
    this.delivering = true;
    try {
      this.deliverLoop();
    } finally {
      this.delivering = false;
    }
  }

  private deliverLoop(): void {
    for (let guard = 0; guard < 1_000_000; guard++) {
      if (!this.irqMasked && this.host.irqLevel(IRQ)) {
        this.irqMasked = true; // the kernel masks the line when it delivers it
        this.runNotified(CH_IRQ);
        continue;
      }
      const ch = this.pendingChannels.values().next();
      if (ch.done) return;
      this.pendingChannels.delete(ch.value);
      this.runNotified(ch.value);
    }
    throw new Error("DriverHarness: notification storm");
  }

  private runNotified(ch: number): void {
    this.runEntry(this.driver.notified(ch, this.pd));
  }

  private runEntry(step: Generator<unknown, void, undefined>): void {
    this.pd.run(step as ReturnType<Pl011Driver["init"]>);
    this.pd.points.length = 0;
    for (const call of this.pd.calls) {
      if (call.op === "deferredIrqAck" || call.op === "irqAck") this.irqMasked = false;
      if (call.op === "notify" && call.ch === CH_TX) this.notifiesToTx++;
      if (call.op === "notify" && call.ch === CH_RX) {
        this.notifiesToRx++;
        if (this.autoDrainRx) this.drainAfterReturn = true;
      }
    }
    this.pd.calls.length = 0;
    if (this.drainAfterReturn) {
      this.drainAfterReturn = false;
      this.drainRx();
    }
  }

  private drainAfterReturn = false;
  private delivering = false;
}
