/**
 * Test rigs: one virtualiser on a `ManualPd`, with the test playing its peers (the clients
 * and the driver) through their own `SerialQueue` handles over the same memory, as the
 * real peers would. Tags follow the project encoding: client k writes with origin k + 1.
 */
import type { PdStep, PreemptionPoint } from "@vmmux/microkit-pd";
import { ManualPd, type ManualRegionSpec } from "@vmmux/microkit-pd/testing";
import { ORIGIN_KEYBOARD, provenanceTag, SerialQueue } from "@vmmux/sddf-queues";
import {
  type SerialConnection,
  type VirtRxConfig,
  type VirtRxConfigInput,
  type VirtTxConfig,
  type VirtTxConfigInput,
  virtRxConfig,
  virtTxConfig,
} from "../config.js";
import { VirtRx } from "../virt-rx.js";
import { VirtTx } from "../virt-tx.js";

/** Channel of the driver connection in every rig; client k uses channel k + 1. */
export const RIG_DRIVER_CHANNEL = 0;

function connection(prefix: string, channel: number): SerialConnection {
  return { queue: `${prefix}_queue`, data: `${prefix}_data`, channel };
}

function regions(
  conns: readonly { conn: SerialConnection; capacity: number }[],
): Record<string, ManualRegionSpec> {
  const out: Record<string, ManualRegionSpec> = {};
  for (const { conn, capacity } of conns) {
    out[conn.queue] = { buffer: new ArrayBuffer(0x1000), perms: "rw" };
    out[conn.data] = { buffer: new ArrayBuffer(capacity), perms: "rw" };
  }
  return out;
}

function peerQueue(pd: ManualPd, conn: SerialConnection): SerialQueue {
  return SerialQueue.fromRegions(pd.memory(conn.queue), pd.memory(conn.data));
}

/**
 * Run an entry point, calling `between` at every preemption point: the place where a
 * higher-priority peer could run on the real single core.
 */
export function runInterleaved<T>(
  pd: ManualPd,
  step: PdStep<T>,
  between: (point: PreemptionPoint, index: number) => void,
): T {
  for (let index = 0; ; index++) {
    const next = step.next();
    if (next.done) return next.value;
    pd.points.push(next.value);
    between(next.value, index);
  }
}

export interface TxRigOptions {
  readonly clients: number;
  readonly clientCapacity: number;
  readonly driverCapacity: number;
  readonly config?: Omit<Partial<VirtTxConfigInput>, "driver" | "clients">;
  /** Build the virtualiser (default `new VirtTx(config)`); planted variants plug in here. */
  readonly make?: (config: VirtTxConfig) => VirtTx;
}

/** virt_tx with N clients and a driver, all played by the test. */
export class TxRig {
  readonly pd: ManualPd;
  readonly virt: VirtTx;
  readonly config: VirtTxConfig;
  /** Producer-side handles of the client TX queues. */
  readonly clients: SerialQueue[];
  /** Consumer-side handle of the driver TX queue. */
  readonly driver: SerialQueue;
  /** Every byte the driver has taken, in order, with its tag. */
  readonly wire: { byte: number; tag: number }[] = [];
  private readonly seq: number[];

  constructor(options: TxRigOptions) {
    const driverConn = connection("tx_driver", RIG_DRIVER_CHANNEL);
    const clientConns = Array.from({ length: options.clients }, (_, k) =>
      connection(`tx_client${k}`, k + 1),
    );
    this.config = virtTxConfig({
      enableRx: false,
      ...options.config,
      driver: driverConn,
      clients: clientConns.map((conn, k) => ({ conn, name: `client${k}` })),
    });
    this.pd = new ManualPd("serial_virt_tx", {
      memory: regions([
        { conn: driverConn, capacity: options.driverCapacity },
        ...clientConns.map((conn) => ({ conn, capacity: options.clientCapacity })),
      ]),
    });
    this.virt = options.make ? options.make(this.config) : new VirtTx(this.config);
    this.driver = peerQueue(this.pd, driverConn);
    this.clients = clientConns.map((conn) => peerQueue(this.pd, conn));
    this.seq = clientConns.map(() => 0);
    // The driver outranks virt_tx: it takes the begin string at virt_tx's first poll (§5.4),
    // and its signal back to virt_tx finds nothing pending.
    runInterleaved(this.pd, this.virt.init(this.pd), () => {
      if (this.take() > 0 && this.driver.requireConsumerSignal()) {
        this.driver.cancelConsumerSignal();
      }
    });
  }

  /** The tag client k's next byte gets. */
  tagFor(k: number, seq: number): number {
    return provenanceTag(k + 1, seq);
  }

  /** Client k publishes `text` in one go (as far as it fits); returns the bytes enqueued. */
  publish(k: number, text: string | Uint8Array): number {
    const bytes = typeof text === "string" ? new TextEncoder().encode(text) : text;
    const queue = this.clients[k] as SerialQueue;
    const start = this.seq[k] as number;
    const tags = Uint32Array.from(bytes, (_, i) => this.tagFor(k, start + i));
    const n = queue.enqueueBatch(bytes, tags);
    this.seq[k] = start + n;
    return n;
  }

  /** Client k notifies virt_tx (its channel is k + 1). */
  kick(k: number): void {
    this.pd.run(this.virt.notified(k + 1, this.pd));
  }

  /** Publish and notify, as a client does. */
  write(k: number, text: string | Uint8Array): number {
    const n = this.publish(k, text);
    this.kick(k);
    return n;
  }

  /**
   * The driver's `tx_provide` with an infinitely fast UART: take up to `max` bytes; if it
   * took any and virt_tx asked, cancel and notify virt_tx (which runs at once here).
   */
  drain(max = Number.POSITIVE_INFINITY): number {
    const taken = this.take(max);
    if (taken > 0 && this.driver.requireConsumerSignal()) {
      this.driver.cancelConsumerSignal();
      this.pd.run(this.virt.notified(RIG_DRIVER_CHANNEL, this.pd));
    }
    return taken;
  }

  /** Take bytes from the driver queue without signalling. */
  take(max = Number.POSITIVE_INFINITY): number {
    let taken = 0;
    while (taken < max) {
      const byte = this.driver.dequeue();
      if (byte === undefined) break;
      this.wire.push({ byte, tag: this.driver.lastTag });
      taken += 1;
    }
    return taken;
  }

  /** The wire so far as a latin-1 string (colour escapes included). */
  text(): string {
    return String.fromCharCode(...this.wire.map((w) => w.byte));
  }
}

export interface RxRigOptions {
  readonly clients: number;
  readonly clientCapacity: number;
  readonly driverCapacity: number;
  readonly config?: Omit<Partial<VirtRxConfigInput>, "driver" | "clients">;
  readonly make?: (config: VirtRxConfig) => VirtRx;
}

/** virt_rx with N clients and a driver, all played by the test. */
export class RxRig {
  readonly pd: ManualPd;
  readonly virt: VirtRx;
  readonly config: VirtRxConfig;
  /** Consumer-side handles of the client RX queues. */
  readonly clients: SerialQueue[];
  /** Producer-side handle of the driver RX queue. */
  readonly driver: SerialQueue;
  private keySeq = 0;

  constructor(options: RxRigOptions) {
    const driverConn = connection("rx_driver", RIG_DRIVER_CHANNEL);
    const clientConns = Array.from({ length: options.clients }, (_, k) =>
      connection(`rx_client${k}`, k + 1),
    );
    this.config = virtRxConfig({ ...options.config, driver: driverConn, clients: clientConns });
    this.pd = new ManualPd("serial_virt_rx", {
      memory: regions([
        { conn: driverConn, capacity: options.driverCapacity },
        ...clientConns.map((conn) => ({ conn, capacity: options.clientCapacity })),
      ]),
    });
    this.virt = options.make ? options.make(this.config) : new VirtRx(this.config);
    this.driver = peerQueue(this.pd, driverConn);
    this.clients = clientConns.map((conn) => peerQueue(this.pd, conn));
    this.pd.run(this.virt.init(this.pd));
  }

  /** The driver enqueues typed bytes (keyboard-tagged, numbered from 0) and notifies virt_rx. */
  type(input: string | readonly number[]): number {
    const bytes =
      typeof input === "string" ? Array.from(input, (ch) => ch.charCodeAt(0) & 0xff) : input;
    let n = 0;
    for (const byte of bytes) {
      if (!this.driver.enqueue(byte, provenanceTag(ORIGIN_KEYBOARD, this.keySeq))) break;
      this.keySeq += 1;
      n += 1;
    }
    if (n > 0) this.pd.run(this.virt.notified(RIG_DRIVER_CHANNEL, this.pd));
    return n;
  }

  /** Client k drains its RX queue: bytes and tags received so far. */
  read(k: number): { bytes: number[]; tags: number[] } {
    const queue = this.clients[k] as SerialQueue;
    const bytes: number[] = [];
    const tags: number[] = [];
    for (;;) {
      const byte = queue.dequeue();
      if (byte === undefined) break;
      bytes.push(byte);
      tags.push(queue.lastTag);
    }
    return { bytes, tags };
  }

  /** Client k's received bytes as a latin-1 string. */
  readText(k: number): string {
    return String.fromCharCode(...this.read(k).bytes);
  }
}
