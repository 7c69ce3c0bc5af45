/**
 * Reads the serial topology out of a Microkit system description (sddf-serial §1): which
 * PD is the driver and which the virtualisers, the channel ids between every pair (never
 * assumed: "always read them from the config structs", §11), and the queue and data
 * regions by sdfgen-like names. Also applies a scenario's knobs to the description.
 */
import type { ArmIrq, MemoryRegion, ProtectionDomain, SystemDescription } from "@vmmux/microkit-pd";
import { flattenProtectionDomains } from "@vmmux/microkit-pd";
import { ScenarioError, WiringError } from "./errors.js";
import type { Scenario } from "./scenario.js";
import type { SerialClientWiring } from "./serial-client.js";

export const DRIVER_PD = "uart_driver";
export const VIRT_TX_PD = "serial_virt_tx";
export const VIRT_RX_PD = "serial_virt_rx";

/** Region names of one serial connection's end (`serial_<dir>_<kind>_<owner>`). */
export function connectionRegions(direction: "tx" | "rx", owner: string) {
  return {
    queue: `serial_${direction}_queue_${owner}`,
    data: `serial_${direction}_data_${owner}`,
  };
}

export interface DriverWiring {
  readonly pd: string;
  readonly programImage: string;
  readonly uartRegion: string;
  readonly irq: number;
  readonly irqChannel: number;
  readonly txChannel: number;
  readonly rxChannel: number;
}

export interface VirtWiring {
  readonly pd: string;
  readonly programImage: string;
  readonly driverChannel: number;
  /** This virtualiser's channel to each client, in client order. */
  readonly clientChannels: readonly number[];
}

export interface GuestWiring extends SerialClientWiring {
  readonly pd: string;
  readonly programImage: string;
  readonly timerIrq: number;
}

export interface SerialWiring {
  readonly driver: DriverWiring;
  readonly virtTx: VirtWiring;
  readonly virtRx: VirtWiring;
  readonly guests: readonly GuestWiring[];
}

function pdByName(system: SystemDescription, name: string, why: string): ProtectionDomain {
  const pd = flattenProtectionDomains(system).find((p) => p.name === name);
  if (pd === undefined)
    throw new WiringError(system.fileName, `no protection domain '${name}' (${why})`);
  return pd;
}

/** This end's channel id towards `b`; exactly one channel must join them. */
function channelId(system: SystemDescription, a: string, b: string): number {
  const found = system.channels.filter(
    (c) => (c.ends[0].pd === a && c.ends[1].pd === b) || (c.ends[0].pd === b && c.ends[1].pd === a),
  );
  if (found.length !== 1) {
    throw new WiringError(
      system.fileName,
      `expected exactly one channel between '${a}' and '${b}', found ${found.length}`,
    );
  }
  const channel = found[0]!;
  return channel.ends[0].pd === a ? channel.ends[0].id : channel.ends[1].id;
}

function requireMap(system: SystemDescription, pd: ProtectionDomain, mr: string): MemoryRegion {
  const region = system.memoryRegions.find((r) => r.name === mr);
  if (region === undefined) throw new WiringError(system.fileName, `no memory region '${mr}'`);
  if (!pd.maps.some((m) => m.mr === mr)) {
    throw new WiringError(system.fileName, `protection domain '${pd.name}' does not map '${mr}'`);
  }
  return region;
}

function singleIrq(system: SystemDescription, pd: ProtectionDomain, what: string): ArmIrq {
  const irqs = pd.irqs.filter((i): i is ArmIrq => i.kind === "arm");
  if (irqs.length !== 1) {
    throw new WiringError(
      system.fileName,
      `protection domain '${pd.name}' must have exactly one ARM irq (${what}), found ${irqs.length}`,
    );
  }
  return irqs[0]!;
}

/** The topology a scenario of `guestPds` needs, read from `system`. */
export function serialWiring(system: SystemDescription, guestPds: readonly string[]): SerialWiring {
  const driverPd = pdByName(system, DRIVER_PD, "the PL011 driver");
  const txPd = pdByName(system, VIRT_TX_PD, "the TX virtualiser");
  const rxPd = pdByName(system, VIRT_RX_PD, "the RX virtualiser");
  const devices = driverPd.maps
    .map((m) => system.memoryRegions.find((r) => r.name === m.mr))
    .filter((r): r is MemoryRegion => r?.physAddr !== undefined);
  if (devices.length !== 1) {
    throw new WiringError(
      system.fileName,
      `'${DRIVER_PD}' must map exactly one device region (with phys_addr), found ${devices.length}`,
    );
  }
  const uartIrq = singleIrq(system, driverPd, "the UART interrupt");
  for (const [pd, dir] of [
    [driverPd, "tx"],
    [driverPd, "rx"],
    [txPd, "tx"],
    [rxPd, "rx"],
  ] as const) {
    const r = connectionRegions(dir, "driver");
    requireMap(system, pd, r.queue);
    requireMap(system, pd, r.data);
  }
  const guests = guestPds.map((name, index): GuestWiring => {
    const pd = pdByName(system, name, `guest ${index}`);
    const tx = connectionRegions("tx", name);
    const rx = connectionRegions("rx", name);
    for (const mr of [tx.queue, tx.data]) {
      requireMap(system, pd, mr);
      requireMap(system, txPd, mr);
    }
    for (const mr of [rx.queue, rx.data]) {
      requireMap(system, pd, mr);
      requireMap(system, rxPd, mr);
    }
    const timerRegion = `timer_${name}`;
    if (requireMap(system, pd, timerRegion).physAddr === undefined) {
      throw new WiringError(system.fileName, `memory region '${timerRegion}' needs a phys_addr`);
    }
    const timerIrq = singleIrq(system, pd, "its trace timer");
    return {
      pd: name,
      programImage: pd.programImage.path,
      index,
      txChannel: channelId(system, name, VIRT_TX_PD),
      rxChannel: channelId(system, name, VIRT_RX_PD),
      timerChannel: timerIrq.id,
      timerIrq: timerIrq.irq,
      txQueue: tx.queue,
      txData: tx.data,
      rxQueue: rx.queue,
      rxData: rx.data,
      timerRegion,
    };
  });
  return {
    driver: {
      pd: DRIVER_PD,
      programImage: driverPd.programImage.path,
      uartRegion: devices[0]!.name,
      irq: uartIrq.irq,
      irqChannel: uartIrq.id,
      txChannel: channelId(system, DRIVER_PD, VIRT_TX_PD),
      rxChannel: channelId(system, DRIVER_PD, VIRT_RX_PD),
    },
    virtTx: {
      pd: VIRT_TX_PD,
      programImage: txPd.programImage.path,
      driverChannel: channelId(system, VIRT_TX_PD, DRIVER_PD),
      clientChannels: guestPds.map((g) => channelId(system, VIRT_TX_PD, g)),
    },
    virtRx: {
      pd: VIRT_RX_PD,
      programImage: rxPd.programImage.path,
      driverChannel: channelId(system, VIRT_RX_PD, DRIVER_PD),
      clientChannels: guestPds.map((g) => channelId(system, VIRT_RX_PD, g)),
    },
    guests,
  };
}

function withPd(
  pds: readonly ProtectionDomain[],
  name: string,
  change: (pd: ProtectionDomain) => ProtectionDomain,
): { pds: ProtectionDomain[]; found: boolean } {
  let found = false;
  const out = pds.map((pd) => {
    let next = pd;
    if (pd.name === name) {
      found = true;
      next = change(pd);
    }
    const children = withPd(next.children, name, change);
    found ||= children.found;
    return children.found ? { ...next, children: children.pds } : next;
  });
  return { pds: out, found };
}

/**
 * The description with the scenario's knobs applied: per-PD priority/budget/period and the
 * data-region sizes (the queue capacities, sddf-serial §2.2). Errors point at the knob.
 */
export function applyKnobs(system: SystemDescription, scenario: Scenario): SystemDescription {
  let pds = [...system.protectionDomains];
  for (const [name, knob] of Object.entries(scenario.knobs.pds)) {
    const result = withPd(pds, name, (pd) => {
      const budget = knob.budget ?? pd.budget;
      const period =
        knob.period ?? (knob.budget !== undefined && pd.period === pd.budget ? budget : pd.period);
      return { ...pd, priority: knob.priority ?? pd.priority, budget, period };
    });
    if (!result.found) {
      throw new ScenarioError(
        scenario.file,
        scenario.lineOf(["knobs", "pds", name]),
        `knobs.pds.${name}`,
        `no protection domain '${name}' in ${system.fileName}`,
      );
    }
    const changed = flattenProtectionDomains({ ...system, protectionDomains: result.pds }).find(
      (p) => p.name === name,
    )!;
    if (changed.budget > changed.period) {
      throw new ScenarioError(
        scenario.file,
        scenario.lineOf(["knobs", "pds", name]),
        `knobs.pds.${name}`,
        `budget ${changed.budget} µs exceeds period ${changed.period} µs`,
      );
    }
    pds = result.pds;
  }
  const sizes = new Map<string, bigint>();
  const { driver, client } = scenario.knobs.queueSizes;
  if (driver !== undefined) {
    for (const dir of ["tx", "rx"] as const)
      sizes.set(connectionRegions(dir, "driver").data, BigInt(driver));
  }
  if (client !== undefined) {
    for (const g of scenario.guests) {
      for (const dir of ["tx", "rx"] as const)
        sizes.set(connectionRegions(dir, g.pd).data, BigInt(client));
    }
  }
  const memoryRegions = system.memoryRegions.map((r) => {
    const size = sizes.get(r.name);
    return size === undefined ? r : { ...r, size };
  });
  return { ...system, protectionDomains: pds, memoryRegions };
}
