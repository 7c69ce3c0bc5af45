/**
 * The whole serial path under the Microkit runtime, for system tests and the benchmark:
 * PL011 device + sDDF PL011 driver + virt_tx + virt_rx + N client PDs (sddf-serial §1,
 * priorities of §11: driver 200 > virtualisers 199 > clients). Not part of the build: it
 * needs @vmmux/pl011-uart, a development dependency.
 */
import { type PdContext, type PdProgram, type PdStep, System, work } from "@vmmux/microkit-pd";
import { describeSystem } from "@vmmux/microkit-pd/testing";
import { Pl011Device, Pl011Driver } from "@vmmux/pl011-uart";
import { provenanceTag, SerialQueue } from "@vmmux/sddf-queues";
import { type Profile, virtRxConfig, virtTxConfig } from "../config.js";
import { VirtRx } from "../virt-rx.js";
import { VirtTx } from "../virt-tx.js";

const IRQ = 33;

/**
 * A serial client that waits for space instead of dropping (as the libvmm console does,
 * with the double check the console lacks): each piece is published whole once it fits,
 * then virt_tx is notified. Received bytes are recorded with their tags.
 */
export class BlockingClient implements PdProgram {
  readonly received: { byte: number; tag: number }[] = [];
  /** Bytes published so far. */
  sent = 0;
  private tx: SerialQueue | undefined;
  private rx: SerialQueue | undefined;
  private piece = 0;

  constructor(
    readonly k: number,
    readonly pieces: readonly Uint8Array[],
    /** Microseconds of computation after each piece (lets equal-priority clients interleave). */
    readonly gapUs = 0,
  ) {}

  *init(pd: PdContext): PdStep {
    this.tx = SerialQueue.fromRegions(
      pd.memory(`tx_queue_cli${this.k}`),
      pd.memory(`tx_data_cli${this.k}`),
    );
    this.rx = SerialQueue.fromRegions(
      pd.memory(`rx_queue_cli${this.k}`),
      pd.memory(`rx_data_cli${this.k}`),
    );
    yield* this.pump(pd);
  }

  *notified(ch: number, pd: PdContext): PdStep {
    if (ch === 0) {
      yield* this.pump(pd);
      return;
    }
    const rx = this.rx as SerialQueue;
    for (let b = rx.dequeue(); b !== undefined; b = rx.dequeue()) {
      this.received.push({ byte: b, tag: rx.lastTag });
    }
    yield work("copy", 1);
  }

  private *pump(pd: PdContext): PdStep {
    const tx = this.tx as SerialQueue;
    while (this.piece < this.pieces.length) {
      const bytes = this.pieces[this.piece] as Uint8Array;
      if (bytes.length > tx.free()) {
        tx.requestConsumerSignal();
        if (bytes.length > tx.free()) return;
        tx.cancelConsumerSignal();
      }
      const tags = Uint32Array.from(bytes, (_, i) => provenanceTag(this.k + 1, this.sent + i));
      tx.enqueueBatch(bytes, tags);
      this.sent += bytes.length;
      this.piece += 1;
      pd.notify(0);
      yield work("copy", bytes.length);
      for (let us = 0; us < this.gapUs; us++) yield work("us");
    }
  }
}

export interface SerialSystemOptions {
  readonly profile?: Profile;
  readonly clients: readonly (readonly Uint8Array[])[];
  readonly timing?: "baud" | "instant";
  readonly enableColour?: boolean;
  readonly lineAtomic?: boolean;
  readonly driverDataSize?: number;
  readonly clientDataSize?: number;
  readonly recordEvents?: boolean;
  /** Computation of each client after each piece, µs. */
  readonly clientGapUs?: number;
}

export function buildSerialSystem(options: SerialSystemOptions) {
  const n = options.clients.length;
  const profile = options.profile ?? "hardened";
  const driverSize = options.driverDataSize ?? 0x2000;
  const clientSize = options.clientDataSize ?? 0x1000;
  const clientNames = Array.from({ length: n }, (_, k) => `client${k}`);
  const regions = [
    { name: "uart", physAddr: 0x900_0000 },
    { name: "tx_queue_drv" },
    { name: "tx_data_drv", size: driverSize },
    { name: "rx_queue_drv" },
    { name: "rx_data_drv", size: driverSize },
    ...clientNames.flatMap((_, k) => [
      { name: `tx_queue_cli${k}` },
      { name: `tx_data_cli${k}`, size: clientSize },
      { name: `rx_queue_cli${k}` },
      { name: `rx_data_cli${k}`, size: clientSize },
    ]),
  ];
  const clientMaps = (k: number) => [
    { mr: `tx_queue_cli${k}` },
    { mr: `tx_data_cli${k}` },
    { mr: `rx_queue_cli${k}` },
    { mr: `rx_data_cli${k}` },
  ];
  const desc = describeSystem({
    pds: [
      {
        name: "uart_driver",
        priority: 200,
        irqs: [{ id: 0, irq: IRQ }],
        maps: [
          { mr: "uart" },
          { mr: "tx_queue_drv" },
          { mr: "tx_data_drv" },
          { mr: "rx_queue_drv" },
          { mr: "rx_data_drv" },
        ],
      },
      {
        name: "serial_virt_tx",
        priority: 199,
        maps: [
          { mr: "tx_queue_drv" },
          { mr: "tx_data_drv" },
          ...clientNames.flatMap((_, k) => clientMaps(k).slice(0, 2)),
        ],
      },
      {
        name: "serial_virt_rx",
        priority: 199,
        maps: [
          { mr: "rx_queue_drv" },
          { mr: "rx_data_drv" },
          ...clientNames.flatMap((_, k) => clientMaps(k).slice(2)),
        ],
      },
      ...clientNames.map((name, k) => ({ name, priority: 100, maps: clientMaps(k) })),
    ],
    channels: [
      [
        { pd: "uart_driver", id: 1 },
        { pd: "serial_virt_tx", id: 0 },
      ],
      [
        { pd: "uart_driver", id: 2 },
        { pd: "serial_virt_rx", id: 0 },
      ],
      ...clientNames.flatMap(
        (name, k) =>
          [
            [
              { pd: name, id: 0 },
              { pd: "serial_virt_tx", id: k + 1 },
            ],
            [
              { pd: name, id: 1 },
              { pd: "serial_virt_rx", id: k + 1 },
            ],
          ] as const,
      ),
    ],
    regions,
  });
  const driver = new Pl011Driver({
    profile,
    mmioRegion: "uart",
    irqChannel: 0,
    tx: { channel: 1, queueRegion: "tx_queue_drv", dataRegion: "tx_data_drv" },
    rx: { channel: 2, queueRegion: "rx_queue_drv", dataRegion: "rx_data_drv" },
  });
  const virtTx = new VirtTx(
    virtTxConfigFor(profile, n, options.enableColour ?? true, options.lineAtomic ?? false),
  );
  const virtRx = new VirtRx(virtRxConfigFor(profile, n));
  const clients = options.clients.map(
    (pieces, k) => new BlockingClient(k, pieces, options.clientGapUs ?? 0),
  );
  let uart: Pl011Device | undefined;
  const programs: Record<string, PdProgram> = {
    "uart_driver.elf": driver,
    "serial_virt_tx.elf": virtTx,
    "serial_virt_rx.elf": virtRx,
  };
  for (const [k, client] of clients.entries()) programs[`client${k}.elf`] = client;
  const sys = new System(desc, {
    seed: 1,
    recordEvents: options.recordEvents ?? false,
    programs,
    devices: {
      uart: (host) => {
        uart = new Pl011Device({ host, irq: IRQ, timing: options.timing ?? "baud" });
        return uart;
      },
    },
  });
  return {
    sys,
    driver,
    virtTx,
    virtRx,
    clients,
    get uart(): Pl011Device {
      if (uart === undefined) throw new Error("uart not created yet");
      return uart;
    },
  };
}

function virtTxConfigFor(profile: Profile, n: number, enableColour: boolean, lineAtomic: boolean) {
  return virtTxConfig({
    profile,
    enableColour,
    lineAtomic,
    driver: { queue: "tx_queue_drv", data: "tx_data_drv", channel: 0 },
    clients: Array.from({ length: n }, (_, k) => ({
      conn: { queue: `tx_queue_cli${k}`, data: `tx_data_cli${k}`, channel: k + 1 },
      name: `client${k}`,
    })),
  });
}

function virtRxConfigFor(profile: Profile, n: number) {
  return virtRxConfig({
    profile,
    driver: { queue: "rx_queue_drv", data: "rx_data_drv", channel: 0 },
    clients: Array.from({ length: n }, (_, k) => ({
      queue: `rx_queue_cli${k}`,
      data: `rx_data_cli${k}`,
      channel: k + 1,
    })),
  });
}
