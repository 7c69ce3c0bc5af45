/**
 * Reads the serial topology out of a Microkit system description (sddf-serial §1): which
 * PD is the driver and which the virtualisers, the channel ids between every pair (never
 * assumed: "always read them from the config structs", §11), and the queue and data
 * regions by sdfgen-like names. Also applies a scenario's knobs to the description.
 */
import type { ArmIrq, MemoryRegion, ProtectionDomain, SystemDescription } from "@vmmux/microkit-pd";
import { flattenProtectionDomains } from "@vmmux/microkit-pd";
import type { Pl011DriverConfig } from "@vmmux/pl011-uart";
import {
  type VirtRxConfig,
  type VirtTxConfig,
  virtRxConfig,
  virtTxConfig,
} from "@vmmux/sddf-serial";
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

/** An sDDF client PD guest: its serial connections and its trace timer. */
export interface ClientGuestWiring extends SerialClientWiring {
  readonly kind: "sddf-client";
  readonly pd: string;
  readonly programImage: string;
  readonly timerIrq: number;
}

/** A VMM PD with its virtual machine: serial connections and guest RAM. */
export interface VmGuestWiring {
  readonly kind: "vm";
  /** The VMM PD. */
  readonly pd: string;
  readonly programImage: string;
  readonly index: number;
  /** The `virtual_machine` name (the runtime's key for the guest program). */
  readonly vmName: string;
  /** The RAM region mapped both into the VM and into the VMM, and its guest-physical base. */
  readonly ramRegion: string;
  readonly guestBase: number;
  readonly txChannel: number;
  readonly rxChannel: number;
  readonly txQueue: string;
  readonly txData: string;
  readonly rxQueue: string;
  readonly rxData: string;
}

export type GuestWiring = ClientGuestWiring | VmGuestWiring;

/** What the wiring needs to know of a scenario guest. */
export interface GuestPlacement {
  readonly pd: string;
  readonly kind: "sddf-client" | "vm";
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

function vmGuestWiring(
  system: SystemDescription,
  pd: ProtectionDomain,
  serial: Omit<VmGuestWiring, "kind" | "vmName" | "ramRegion" | "guestBase">,
): VmGuestWiring {
  const vm = pd.virtualMachine;
  if (vm === undefined) {
    throw new WiringError(system.fileName, `protection domain '${pd.name}' has no virtual_machine`);
  }
  const ram = vm.maps.find((m) => pd.maps.some((own) => own.mr === m.mr));
  if (ram === undefined) {
    throw new WiringError(
      system.fileName,
      `virtual machine '${vm.name}' maps no region that its VMM '${pd.name}' also maps (guest RAM)`,
    );
  }
  return {
    ...serial,
    kind: "vm",
    vmName: vm.name,
    ramRegion: ram.mr,
    guestBase: Number(ram.vaddr),
  };
}

/** The topology a scenario's guests need, read from `system`. */
export function serialWiring(
  system: SystemDescription,
  placements: readonly GuestPlacement[],
): SerialWiring {
  const guestPds = placements.map((p) => p.pd);
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
    const serial = {
      pd: name,
      programImage: pd.programImage.path,
      index,
      txChannel: channelId(system, name, VIRT_TX_PD),
      rxChannel: channelId(system, name, VIRT_RX_PD),
      txQueue: tx.queue,
      txData: tx.data,
      rxQueue: rx.queue,
      rxData: rx.data,
    };
    if (placements[index]!.kind === "vm") return vmGuestWiring(system, pd, serial);
    const timerRegion = `timer_${name}`;
    if (requireMap(system, pd, timerRegion).physAddr === undefined) {
      throw new WiringError(system.fileName, `memory region '${timerRegion}' needs a phys_addr`);
    }
    const timerIrq = singleIrq(system, pd, "its trace timer");
    return {
      ...serial,
      kind: "sddf-client",
      timerChannel: timerIrq.id,
      timerIrq: timerIrq.irq,
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

/** Every PD of the tree, each replaced by `change(pd)`. */
function mapPds(
  pds: readonly ProtectionDomain[],
  change: (pd: ProtectionDomain) => ProtectionDomain,
): ProtectionDomain[] {
  return pds.map((pd) => {
    const next = change(pd);
    return next.children.length === 0 ? next : { ...next, children: mapPds(next.children, change) };
  });
}

interface Scheduled {
  readonly priority: number;
  readonly budget: number;
  readonly period: number;
}

/** A PD's, VM's or vCPU's scheduling parameters with a knob applied (period follows an unset budget). */
function scheduled<T extends Scheduled>(
  x: T,
  knob: { priority?: number | undefined; budget?: number | undefined; period?: number | undefined },
): T {
  const budget = knob.budget ?? x.budget;
  const period =
    knob.period ?? (knob.budget !== undefined && x.period === x.budget ? budget : x.period);
  return { ...x, priority: knob.priority ?? x.priority, budget, period };
}

/**
 * The description with the scenario's knobs applied: priority/budget/period per PD or
 * virtual machine (with its vCPUs), and the data-region sizes (the queue capacities, sddf-serial §2.2). Errors point at the knob.
 */
export function applyKnobs(system: SystemDescription, scenario: Scenario): SystemDescription {
  let pds = [...system.protectionDomains];
  for (const [name, knob] of Object.entries(scenario.knobs.pds)) {
    let found: Scheduled | undefined;
    pds = mapPds(pds, (pd) => {
      if (pd.name === name) {
        const next = scheduled(pd, knob);
        found = next;
        return next;
      }
      const vm = pd.virtualMachine;
      if (vm?.name !== name) return pd;
      // A virtual machine's vCPUs are its threads: they take its new parameters.
      const next = { ...scheduled(vm, knob), vcpus: vm.vcpus.map((v) => scheduled(v, knob)) };
      found = next;
      return { ...pd, virtualMachine: next };
    });
    const field = `knobs.pds.${name}`;
    const line = scenario.lineOf(["knobs", "pds", name]);
    if (found === undefined) {
      throw new ScenarioError(
        scenario.file,
        line,
        field,
        `no protection domain or virtual machine '${name}' in ${system.fileName}`,
      );
    }
    if (found.budget > found.period) {
      throw new ScenarioError(
        scenario.file,
        line,
        field,
        `budget ${found.budget} µs exceeds period ${found.period} µs`,
      );
    }
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

/** The configuration records of the serial stack's three PDs for a scenario's system. */
export interface SerialStackConfigs {
  readonly wiring: SerialWiring;
  readonly driver: Pl011DriverConfig;
  readonly virtTx: VirtTxConfig;
  readonly virtRx: VirtRxConfig;
}

/**
 * Build the PL011 driver's and the two virtualisers' config records (sddf-serial §4, as
 * sdfgen fills them) from the system description, with the scenario's knobs.
 */
export function serialStackConfigs(
  desc: SystemDescription,
  scenario: Scenario,
): SerialStackConfigs {
  const knobs = scenario.knobs;
  const wiring = serialWiring(desc, scenario.guests);
  const driverTx = connectionRegions("tx", "driver");
  const driverRx = connectionRegions("rx", "driver");
  const driver: Pl011DriverConfig = {
    profile: knobs.profile,
    mmioRegion: wiring.driver.uartRegion,
    irqChannel: wiring.driver.irqChannel,
    tx: {
      channel: wiring.driver.txChannel,
      queueRegion: driverTx.queue,
      dataRegion: driverTx.data,
    },
    rx: {
      channel: wiring.driver.rxChannel,
      queueRegion: driverRx.queue,
      dataRegion: driverRx.data,
    },
    defaultBaud: knobs.baud,
  };
  const virtTx = virtTxConfig({
    profile: knobs.profile,
    enableColour: knobs.colour,
    lineAtomic: knobs.lineAtomic,
    driver: { ...driverTx, channel: wiring.virtTx.driverChannel },
    clients: wiring.guests.map((g, k) => ({
      conn: { queue: g.txQueue, data: g.txData, channel: wiring.virtTx.clientChannels[k]! },
      name: g.pd,
    })),
  });
  const virtRx = virtRxConfig({
    profile: knobs.profile,
    driver: { ...driverRx, channel: wiring.virtRx.driverChannel },
    clients: wiring.guests.map((g, k) => ({
      queue: g.rxQueue,
      data: g.rxData,
      channel: wiring.virtRx.clientChannels[k]!,
    })),
  });
  return { wiring, driver, virtTx, virtRx };
}
