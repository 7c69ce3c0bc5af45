/**
 * A runnable Microkit system around the device and driver, for integration tests and
 * benchmarks of packages that need the scheduler (sddf-serial §11 priorities).
 */
import { type PdContext, type PdStep, System, work } from "@vmmux/microkit-pd";
import { describeSystem, pdProgram } from "@vmmux/microkit-pd/testing";
import type { Profile } from "@vmmux/profiles";
import { SerialQueue } from "@vmmux/sddf-queues";
import { Pl011Device, type Pl011Options } from "../device.js";
import { Pl011Driver } from "../driver.js";

/** Knobs of {@link uartSystem}. */
export interface UartSystemOptions {
  readonly driverPriority: number;
  readonly hogPriority: number;
  readonly hogBusyUs: number;
  readonly hogStartNs: number;
  readonly profile: Profile;
  readonly uartClockHz: number;
  readonly txBytes: number;
  /** MIN_BUDGET in µs (default 0), and the hog's work step in µs (default 1). */
  readonly minBudgetUs: number;
  readonly hogStepUs: number;
  /** Record the runtime's event log (default false). */
  readonly recordEvents: boolean;
  /** Device options beyond host, irq and clock. */
  readonly device: Partial<Omit<Pl011Options, "host" | "irq" | "uartClockHz">>;
}

/** What {@link uartSystem} built. */
export interface UartSystem {
  readonly sys: System;
  readonly driver: Pl011Driver;
  /** Bytes virt_rx took from the RX queue, with their tags. */
  readonly received: { byte: number; tag: number }[];
  readonly uart: Pl011Device;
}

const HOG_IRQ = 40;

/**
 * Driver, stand-ins for virt_tx (publishes `txBytes` once at init) and virt_rx (drains on
 * every notification, then signals the driver if asked, sddf-serial §6.4), a PD that
 * computes for `hogBusyUs` once its IRQ fires at `hogStartNs`, and the device on a
 * Microkit `System` (driver IRQ 33 on channel 0; TX channel 1, RX channel 2).
 */
export function uartSystem(partial: Partial<UartSystemOptions> = {}): UartSystem {
  const s: UartSystemOptions = {
    driverPriority: 200,
    hogPriority: 150,
    hogBusyUs: 0,
    hogStartNs: 1_000_000,
    profile: "hardened",
    uartClockHz: 24_000_000,
    txBytes: 0,
    minBudgetUs: 0,
    hogStepUs: 1,
    recordEvents: false,
    device: {},
    ...partial,
  };
  const desc = describeSystem({
    pds: [
      {
        name: "uart_driver",
        priority: s.driverPriority,
        irqs: [{ id: 0, irq: 33 }],
        maps: [
          { mr: "uart" },
          { mr: "tx_queue" },
          { mr: "tx_data" },
          { mr: "rx_queue" },
          { mr: "rx_data" },
        ],
      },
      { name: "virt_tx", priority: 199, maps: [{ mr: "tx_queue" }, { mr: "tx_data" }] },
      { name: "virt_rx", priority: 199, maps: [{ mr: "rx_queue" }, { mr: "rx_data" }] },
      { name: "hog", priority: s.hogPriority, irqs: [{ id: 0, irq: HOG_IRQ }] },
    ],
    channels: [
      [
        { pd: "uart_driver", id: 1 },
        { pd: "virt_tx", id: 0 },
      ],
      [
        { pd: "uart_driver", id: 2 },
        { pd: "virt_rx", id: 0 },
      ],
    ],
    regions: [
      { name: "uart", physAddr: 0x900_0000 },
      { name: "tx_queue" },
      { name: "tx_data", size: 0x10000 },
      { name: "rx_queue" },
      { name: "rx_data", size: 0x10000 },
    ],
  });
  const received: { byte: number; tag: number }[] = [];
  let uart: Pl011Device | undefined;
  const driver = new Pl011Driver({
    profile: s.profile,
    mmioRegion: "uart",
    irqChannel: 0,
    tx: { channel: 1, queueRegion: "tx_queue", dataRegion: "tx_data" },
    rx: { channel: 2, queueRegion: "rx_queue", dataRegion: "rx_data" },
    uartClockHz: s.uartClockHz,
  });
  let rxq: SerialQueue | undefined;
  // A stand-in for serial_virt_rx: drain, then signal the driver if it asked (sddf-serial §6.4).
  const virtRx = pdProgram({
    *init(pd: PdContext): PdStep {
      rxq = SerialQueue.fromRegions(pd.memory("rx_queue"), pd.memory("rx_data"));
      yield work("queue");
    },
    *notified(_ch: number, pd: PdContext): PdStep {
      const q = rxq!;
      for (let b = q.dequeue(); b !== undefined; b = q.dequeue()) {
        received.push({ byte: b, tag: q.lastTag });
        yield work("queue");
      }
      if (!q.full() && q.requireConsumerSignal()) {
        q.cancelConsumerSignal();
        pd.notify(0);
      }
    },
  });
  // A stand-in for serial_virt_tx: publish `txBytes` once and notify the driver.
  const virtTx = pdProgram({
    *init(pd: PdContext): PdStep {
      if (s.txBytes === 0) return;
      const q = SerialQueue.fromRegions(pd.memory("tx_queue"), pd.memory("tx_data"));
      for (let i = 0; i < s.txBytes; i++) q.enqueue(i & 0xff, i + 1);
      yield work("copy", s.txBytes);
      pd.notify(0);
    },
  });
  // A PD that, once its IRQ fires, computes for `hogBusyUs` without blocking.
  const hog = pdProgram({
    *notified(): PdStep {
      for (let i = 0; i < s.hogBusyUs; i += s.hogStepUs) yield work("us", s.hogStepUs);
    },
  });
  const sys = new System(desc, {
    seed: 5,
    minBudgetUs: s.minBudgetUs,
    recordEvents: s.recordEvents,
    programs: {
      "uart_driver.elf": driver,
      "virt_rx.elf": virtRx,
      "virt_tx.elf": virtTx,
      "hog.elf": hog,
    },
    devices: {
      uart: (host) => {
        uart = new Pl011Device({ ...s.device, host, irq: 33, uartClockHz: s.uartClockHz });
        return uart;
      },
    },
  });
  sys.at(s.hogStartNs, () => sys.setIrqLevel(HOG_IRQ, true));
  return {
    sys,
    driver,
    received,
    get uart(): Pl011Device {
      if (!uart) throw new Error("device not created yet");
      return uart;
    },
  };
}
