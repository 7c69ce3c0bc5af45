/**
 * Reads the serial topology out of a Microkit system description (sddf-serial §1) through
 * role discovery (`roles.ts`): the driver and the virtualisers by program image, the clients
 * in virtualiser order, the channel ids between every pair (never assumed: "always read them
 * from the config structs", §11) and the queue and data regions each end maps, never by fixed
 * names. Also applies a scenario's knobs to the description.
 */
import type { ProtectionDomain, SystemDescription } from "@vmmux/microkit-pd";
import type { Pl011DriverConfig } from "@vmmux/pl011-uart";
import {
  type VirtRxConfig,
  type VirtTxConfig,
  virtRxConfig,
  virtTxConfig,
} from "@vmmux/sddf-serial";
import { ScenarioError } from "./errors.js";
import {
  discoverSerialRoles,
  placeGuests,
  type RoleWiring,
  serialWiringFromRoles,
} from "./roles.js";
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

/**
 * The topology a scenario's guests need, read from `system` by role discovery (roles.ts):
 * program images, virtual_machine children and channel topology, never fixed names.
 */
export function serialWiring(
  system: SystemDescription,
  placements: readonly GuestPlacement[],
): RoleWiring {
  return serialWiringFromRoles(system, placements);
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
  if (driver !== undefined || client !== undefined) {
    const roles = discoverSerialRoles(system);
    if (driver !== undefined) {
      for (const c of [roles.driver.tx, roles.driver.rx]) if (c) sizes.set(c.data, BigInt(driver));
    }
    if (client !== undefined) {
      for (const c of placeGuests(roles, scenario.guests).placed) {
        for (const conn of [c.tx, c.rx]) if (conn) sizes.set(conn.data, BigInt(client));
      }
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
  readonly wiring: RoleWiring;
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
  const driverTx = wiring.driverTx;
  const driverRx = wiring.driverRx;
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
    driver: { queue: driverTx.queue, data: driverTx.data, channel: wiring.virtTx.driverChannel },
    clients: wiring.guests.map((g, k) => ({
      conn: { queue: g.txQueue, data: g.txData, channel: wiring.virtTx.clientChannels[k]! },
      name: g.pd,
    })),
  });
  const virtRx = virtRxConfig({
    profile: knobs.profile,
    driver: { queue: driverRx.queue, data: driverRx.data, channel: wiring.virtRx.driverChannel },
    clients: wiring.guests.map((g, k) => ({
      queue: g.rxQueue,
      data: g.rxData,
      channel: wiring.virtRx.clientChannels[k]!,
    })),
  });
  return { wiring, driver, virtTx, virtRx };
}
