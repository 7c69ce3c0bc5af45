/**
 * The serial roles of a Microkit system, found the way the real system's pieces find each
 * other, never by fixed PD or region names (issue 9 item 5):
 *
 * - the driver and the two virtualisers by their program images (sddf-serial §0 DRV, VTX, VRX;
 *   sDDF's `examples/serial` names its driver image `serial_driver.elf`, libvmm's examples
 *   `uart_driver.elf`);
 * - every connection by the channel that joins two PDs and the two regions both of them map
 *   (sddf-serial §1: one queue region, one data region and one channel per connection);
 * - clients in virtualiser order: ascending channel id at `virt_tx`, which is the order sdfgen
 *   adds them in and allocates those ids in (sddf-serial §1, §11 "channel numbers");
 * - VMMs by their `virtual_machine` child (microkit reference §1.2), with the guest RAM region
 *   mapped both into the VM and into the VMM;
 * - every other PD is idle: the model has no program for it.
 *
 * Pure: a parsed `SystemDescription` in, roles out; a topology the serial model cannot use is a
 * `WiringError` naming the PDs and what is missing.
 */
import type {
  ArmIrq,
  Channel,
  MemoryMap,
  MemoryRegion,
  ProtectionDomain,
  SystemDescription,
} from "@vmmux/microkit-pd";
import { flattenProtectionDomains } from "@vmmux/microkit-pd";
import { WiringError } from "./errors.js";
import type { GuestWiring, SerialWiring } from "./wiring.js";

/** Program images of each role (file names; directories in `program_image` are ignored). */
export interface RoleImages {
  readonly driver: readonly string[];
  readonly virtTx: readonly string[];
  readonly virtRx: readonly string[];
}

export const DEFAULT_ROLE_IMAGES: RoleImages = {
  driver: ["uart_driver.elf", "serial_driver.elf"],
  virtTx: ["serial_virt_tx.elf"],
  virtRx: ["serial_virt_rx.elf"],
};

/** One sDDF serial connection: its two regions and the channel id at each end. */
export interface SerialConnection {
  /** The region holding `serial_queue_t` (sddf-serial §2.1). */
  readonly queue: string;
  /** The byte ring; its size is the queue's capacity (sddf-serial §2.2). */
  readonly data: string;
  readonly dataSize: bigint;
  /** The channel id at the driver's or virtualiser's end. */
  readonly serverChannel: number;
  /** The channel id at the other end (a virtualiser's or a client's). */
  readonly clientChannel: number;
}

export interface RolePd {
  readonly pd: string;
  readonly programImage: string;
  readonly priority: number;
}

export interface DriverRole extends RolePd {
  /** The device's MMIO region (the one region with a `phys_addr` the driver maps). */
  readonly deviceRegion: string;
  readonly irq: number;
  readonly irqChannel: number;
  /** Driver ↔ `virt_tx`; the driver is the server (consumer) end. */
  readonly tx: SerialConnection;
  /** Driver ↔ `virt_rx`, when the system has one. */
  readonly rx?: SerialConnection;
}

export interface VirtualMachineRole {
  readonly name: string;
  readonly priority: number;
  readonly vcpus: readonly number[];
  /** The region mapped both into the VM and into its VMM, and its guest-physical base. */
  readonly ramRegion: string;
  readonly guestBase: bigint;
}

/** A serial client, numbered as both virtualisers number it. */
export interface ClientRole extends RolePd {
  readonly index: number;
  readonly kind: "vmm" | "sddf-client";
  /** `virt_tx` ↔ client. */
  readonly tx: SerialConnection;
  /** `virt_rx` ↔ client, when there is one. */
  readonly rx?: SerialConnection;
  readonly virtualMachine?: VirtualMachineRole;
  /**
   * An sDDF client's own device (one region with a `phys_addr` and one ARM IRQ), which vmmux
   * uses as the one-shot timer that paces a trace guest.
   */
  readonly timer?: { readonly region: string; readonly irq: number; readonly channel: number };
}

export interface SerialRoles {
  readonly file: string;
  readonly driver: DriverRole;
  readonly virtTx: RolePd;
  readonly virtRx?: RolePd;
  readonly clients: readonly ClientRole[];
  /** PDs with none of the roles above: the model runs them as idle PDs. */
  readonly idle: readonly RolePd[];
  /** Oddities that do not stop the model (e.g. the two virtualisers number clients differently). */
  readonly notes: readonly string[];
}

function baseName(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

function rolePd(pd: ProtectionDomain): RolePd {
  return { pd: pd.name, programImage: pd.programImage.path, priority: pd.priority };
}

/** Reads roles out of one system; see the module comment. */
class Discovery {
  readonly pds: readonly ProtectionDomain[];
  private readonly regions: ReadonlyMap<string, MemoryRegion>;

  constructor(readonly system: SystemDescription) {
    this.pds = flattenProtectionDomains(system);
    this.regions = new Map(system.memoryRegions.map((r) => [r.name, r]));
  }

  fail(problem: string): never {
    throw new WiringError(this.system.fileName, problem);
  }

  byImage(
    images: readonly string[],
    what: string,
    required: boolean,
  ): ProtectionDomain | undefined {
    const found = this.pds.filter((pd) => images.includes(baseName(pd.programImage.path)));
    if (found.length > 1) {
      this.fail(
        `${found.length} protection domains run the ${what} (${found.map((p) => `'${p.name}'`).join(", ")}); the serial model supports one`,
      );
    }
    if (found.length === 0 && required) {
      this.fail(`no protection domain runs the ${what} (program image ${images.join(" or ")})`);
    }
    return found[0];
  }

  channelsBetween(a: string, b: string): Channel[] {
    return this.system.channels.filter(
      (c) =>
        (c.ends[0].pd === a && c.ends[1].pd === b) || (c.ends[0].pd === b && c.ends[1].pd === a),
    );
  }

  idAt(channel: Channel, pd: string): number {
    return channel.ends[0].pd === pd ? channel.ends[0].id : channel.ends[1].id;
  }

  /**
   * The connection between `server` and `client`. Of the two regions both map, the queue is
   * the one the programs' symbols call a queue (`setvar_vaddr`, how the older hand-written
   * layouts told a program where its queues were), else the one the server maps first
   * (sdfgen's `createConnection` maps the queue region before the data region; sizes decide
   * nothing, as sdfgen's `queue_size` may exceed its `data_size`).
   */
  connection(server: ProtectionDomain, client: ProtectionDomain): SerialConnection {
    const channels = this.channelsBetween(server.name, client.name);
    if (channels.length !== 1) {
      this.fail(
        `expected one channel between '${server.name}' and '${client.name}', found ${channels.length}`,
      );
    }
    const channel = channels[0] as Channel;
    const shared = server.maps.filter((m) => client.maps.some((c) => c.mr === m.mr));
    if (shared.length !== 2) {
      this.fail(
        `'${server.name}' and '${client.name}' must share two regions (a queue and a data region), found ${shared.length}${shared.length > 0 ? `: ${shared.map((m) => `'${m.mr}'`).join(", ")}` : ""}`,
      );
    }
    const [first, second] = shared as [MemoryMap, MemoryMap];
    const hint = (map: MemoryMap): "queue" | "data" | undefined => {
      const symbols = [map.setvarVaddr, client.maps.find((c) => c.mr === map.mr)?.setvarVaddr];
      if (symbols.some((s) => s !== undefined && /queue/i.test(s))) return "queue";
      if (symbols.some((s) => s !== undefined && /data/i.test(s))) return "data";
      return undefined;
    };
    const size = (map: MemoryMap): bigint => (this.regions.get(map.mr) as MemoryRegion).size;
    const [queue, data] =
      hint(first) === "data" || hint(second) === "queue" ? [second, first] : [first, second];
    return {
      queue: queue.mr,
      data: data.mr,
      dataSize: size(data),
      serverChannel: this.idAt(channel, server.name),
      clientChannel: this.idAt(channel, client.name),
    };
  }

  /** The single region with a `phys_addr` a PD maps, and its single ARM IRQ. */
  device(pd: ProtectionDomain): { region: string; irq: ArmIrq } | undefined {
    const devices = pd.maps.filter((m) => this.regions.get(m.mr)?.physAddr !== undefined);
    const irqs = pd.irqs.filter((i): i is ArmIrq => i.kind === "arm");
    if (devices.length !== 1 || irqs.length !== 1) return undefined;
    return { region: (devices[0] as MemoryMap).mr, irq: irqs[0] as ArmIrq };
  }

  virtualMachine(pd: ProtectionDomain): VirtualMachineRole | undefined {
    const vm = pd.virtualMachine;
    if (vm === undefined) return undefined;
    const ram = vm.maps.find((m) => pd.maps.some((own) => own.mr === m.mr));
    if (ram === undefined) {
      this.fail(
        `virtual machine '${vm.name}' maps no region that its VMM '${pd.name}' also maps (guest RAM)`,
      );
    }
    return {
      name: vm.name,
      priority: vm.priority,
      vcpus: vm.vcpus.map((v) => v.id),
      ramRegion: ram.mr,
      guestBase: ram.vaddr,
    };
  }
}

/** The serial roles of `system`; see the module comment. */
export function discoverSerialRoles(
  system: SystemDescription,
  images: RoleImages = DEFAULT_ROLE_IMAGES,
): SerialRoles {
  const d: Discovery = new Discovery(system);
  const driverPd = d.byImage(images.driver, "UART driver", true) as ProtectionDomain;
  const txPd = d.byImage(images.virtTx, "TX virtualiser", true) as ProtectionDomain;
  const rxPd = d.byImage(images.virtRx, "RX virtualiser", false);
  const device = d.device(driverPd);
  if (device === undefined) {
    d.fail(
      `the UART driver '${driverPd.name}' must map exactly one device region (with phys_addr) and have exactly one ARM irq`,
    );
  }
  const serial = new Set([driverPd.name, txPd.name, rxPd?.name]);
  const peersOf = (virt: ProtectionDomain): { pd: ProtectionDomain; id: number }[] =>
    system.channels
      .filter((c) => c.ends.some((e) => e.pd === virt.name))
      .map((c) => {
        const other = c.ends[0].pd === virt.name ? c.ends[1].pd : c.ends[0].pd;
        return {
          pd: d.pds.find((p) => p.name === other) as ProtectionDomain,
          id: d.idAt(c, virt.name),
        };
      })
      .filter((peer) => !serial.has(peer.pd.name))
      .sort((a, b) => a.id - b.id);

  const notes: string[] = [];
  const txPeers = peersOf(txPd);
  const rxPeers = rxPd === undefined ? [] : peersOf(rxPd);
  const txOrder = txPeers.map((p) => p.pd.name);
  const rxOrder = rxPeers.map((p) => p.pd.name);
  if (rxPd !== undefined && txOrder.join("\n") !== rxOrder.join("\n")) {
    notes.push(
      `'${txPd.name}' numbers its clients ${txOrder.join(", ")} but '${rxPd.name}' ${rxOrder.join(", ")}; clients follow '${txPd.name}'`,
    );
  }
  const clients = txPeers.map(({ pd }, index): ClientRole => {
    const vm = d.virtualMachine(pd);
    const timer = vm === undefined ? d.device(pd) : undefined;
    return {
      ...rolePd(pd),
      index,
      kind: vm === undefined ? "sddf-client" : "vmm",
      tx: d.connection(txPd, pd),
      ...(rxPd !== undefined && rxOrder.includes(pd.name) ? { rx: d.connection(rxPd, pd) } : {}),
      ...(vm === undefined ? {} : { virtualMachine: vm }),
      ...(timer === undefined
        ? {}
        : { timer: { region: timer.region, irq: timer.irq.irq, channel: timer.irq.id } }),
    };
  });
  for (const name of rxOrder.filter((n) => !txOrder.includes(n))) {
    notes.push(`'${name}' is connected to '${rxPd?.name}' only; it is not a serial client here`);
  }
  const roleNames = new Set([...serial, ...txOrder]);
  return {
    file: system.fileName,
    driver: {
      ...rolePd(driverPd),
      deviceRegion: device.region,
      irq: device.irq.irq,
      irqChannel: device.irq.id,
      tx: d.connection(driverPd, txPd),
      ...(rxPd === undefined ? {} : { rx: d.connection(driverPd, rxPd) }),
    },
    virtTx: rolePd(txPd),
    ...(rxPd === undefined ? {} : { virtRx: rolePd(rxPd) }),
    clients,
    idle: d.pds.filter((pd) => !roleNames.has(pd.name)).map(rolePd),
    notes,
  };
}

/** What placing a scenario guest needs to know of it (`wiring.ts`'s `GuestPlacement`). */
export interface RolePlacement {
  readonly pd: string;
  readonly kind: "sddf-client" | "vm";
}

export interface PlacedGuests {
  /** The client role of each placement, in placement order. */
  readonly placed: readonly ClientRole[];
  /** Serial clients no guest was placed on: they keep their number and run idle. */
  readonly unplaced: readonly ClientRole[];
}

/**
 * Puts scenario guests on the serial clients they name: a `vm` guest on a VMM client, an
 * `sddf-client` guest on a client PD with its trace timer; each client at most once.
 * Client numbers stay the virtualisers' (the switch sequence `Ctrl+\ n Enter` selects client
 * n of the real system), whatever order the scenario lists its guests in.
 */
export function placeGuests(
  roles: SerialRoles,
  placements: readonly RolePlacement[],
): PlacedGuests {
  const fail = (problem: string): never => {
    throw new WiringError(roles.file, problem);
  };
  const known = roles.clients.map((c) => `'${c.pd}'`).join(", ");
  const placed = placements.map((p, k) => {
    const client = roles.clients.find((c) => c.pd === p.pd);
    if (client === undefined) {
      return fail(`guest ${k}: '${p.pd}' is not a serial client (the clients are ${known})`);
    }
    if (placements.findIndex((q) => q.pd === p.pd) !== k) {
      fail(`guest ${k}: '${p.pd}' already has a guest`);
    }
    if (p.kind === "vm" && client.kind !== "vmm") {
      fail(`guest ${k}: '${p.pd}' holds no virtual_machine, so it cannot run a vm guest`);
    }
    if (p.kind === "sddf-client" && client.kind !== "sddf-client") {
      fail(`guest ${k}: '${p.pd}' is a VMM; give the guest kind "vm"`);
    }
    if (p.kind === "sddf-client" && client.timer === undefined) {
      fail(
        `guest ${k}: '${p.pd}' maps no timer device (one region with a phys_addr and one irq) to pace its trace`,
      );
    }
    return client;
  });
  return { placed, unplaced: roles.clients.filter((c) => !placed.includes(c)) };
}

/** `wiring.ts`'s `SerialWiring` from roles, with what name-based wiring could not say. */
export interface RoleWiring extends SerialWiring {
  readonly roles: SerialRoles;
  /** The driver's two connections' regions (name-based wiring: `serial_{tx,rx}_*_driver`). */
  readonly driverTx: { readonly queue: string; readonly data: string };
  readonly driverRx: { readonly queue: string; readonly data: string };
  /** Serial clients with no guest (they, and `roles.idle`, need idle programs). */
  readonly unplaced: readonly ClientRole[];
}

/**
 * The engine's `SerialWiring` for `placements`, found by roles instead of names: for vmmux's
 * own systems it equals what `wiring.ts`'s `serialWiring` returns (roles.test.ts checks it), and
 * it also wires sdfgen's and libvmm's layouts. Guests are numbered in placement order, as
 * `serialWiring` numbers them.
 */
export function serialWiringFromRoles(
  system: SystemDescription,
  placements: readonly RolePlacement[],
): RoleWiring {
  const roles = discoverSerialRoles(system);
  const { driver, virtTx, virtRx } = roles;
  if (virtRx === undefined || driver.rx === undefined) {
    throw new WiringError(
      roles.file,
      "the serial model needs an RX virtualiser (serial_virt_rx.elf)",
    );
  }
  const { placed, unplaced } = placeGuests(roles, placements);
  const guests = placed.map((c, index): GuestWiring => {
    const rx = c.rx ?? fail(roles.file, `'${c.pd}' has no channel to '${virtRx.pd}'`);
    const vm = c.virtualMachine;
    // Each literal lists every field (no spread of shared ones): a spread's result took another
    // hidden class once this code was optimised, deoptimising the wiring's readers a few runs in.
    if (vm !== undefined) {
      return {
        pd: c.pd,
        programImage: c.programImage,
        index,
        txChannel: c.tx.clientChannel,
        rxChannel: rx.clientChannel,
        txQueue: c.tx.queue,
        txData: c.tx.data,
        rxQueue: rx.queue,
        rxData: rx.data,
        kind: "vm",
        vmName: vm.name,
        ramRegion: vm.ramRegion,
        guestBase: Number(vm.guestBase),
      };
    }
    const timer = c.timer ?? fail(roles.file, `'${c.pd}' has no timer`);
    return {
      pd: c.pd,
      programImage: c.programImage,
      index,
      txChannel: c.tx.clientChannel,
      rxChannel: rx.clientChannel,
      txQueue: c.tx.queue,
      txData: c.tx.data,
      rxQueue: rx.queue,
      rxData: rx.data,
      kind: "sddf-client",
      timerChannel: timer.channel,
      timerIrq: timer.irq,
      timerRegion: timer.region,
    };
  });
  return {
    roles,
    driver: {
      pd: driver.pd,
      programImage: driver.programImage,
      uartRegion: driver.deviceRegion,
      irq: driver.irq,
      irqChannel: driver.irqChannel,
      txChannel: driver.tx.serverChannel,
      rxChannel: driver.rx.serverChannel,
    },
    virtTx: {
      pd: virtTx.pd,
      programImage: virtTx.programImage,
      driverChannel: driver.tx.clientChannel,
      clientChannels: placed.map((c) => c.tx.serverChannel),
    },
    virtRx: {
      pd: virtRx.pd,
      programImage: virtRx.programImage,
      driverChannel: driver.rx.clientChannel,
      clientChannels: placed.map((c) => (c.rx as SerialConnection).serverChannel),
    },
    guests,
    driverTx: { queue: driver.tx.queue, data: driver.tx.data },
    driverRx: { queue: driver.rx.queue, data: driver.rx.data },
    unplaced,
  };
}

function fail(file: string, problem: string): never {
  throw new WiringError(file, problem);
}

/** A few lines for `vmmux sdf --roles` and reports: who is what, and the idle PDs. */
export function formatSerialRoles(roles: SerialRoles): string {
  const conn = (c: SerialConnection) =>
    `queue '${c.queue}', data '${c.data}' (${c.dataSize} bytes), channels ${c.serverChannel}<->${c.clientChannel}`;
  const lines = [
    `serial roles in ${roles.file}:`,
    `  driver: ${roles.driver.pd} (${roles.driver.programImage}), device '${roles.driver.deviceRegion}', irq ${roles.driver.irq} on channel ${roles.driver.irqChannel}`,
    `  virt_tx: ${roles.virtTx.pd}; driver link: ${conn(roles.driver.tx)}`,
  ];
  if (roles.virtRx !== undefined && roles.driver.rx !== undefined) {
    lines.push(`  virt_rx: ${roles.virtRx.pd}; driver link: ${conn(roles.driver.rx)}`);
  }
  for (const c of roles.clients) {
    const vm = c.virtualMachine;
    lines.push(
      `  client ${c.index}: ${c.pd} (${c.kind === "vmm" ? `VMM of '${vm?.name}'` : "sDDF client"}, priority ${c.priority})`,
      `    tx: ${conn(c.tx)}`,
    );
    if (c.rx !== undefined) lines.push(`    rx: ${conn(c.rx)}`);
  }
  lines.push(
    roles.idle.length === 0
      ? "  idle: none"
      : `  idle (no program in the model): ${roles.idle.map((p) => p.pd).join(", ")}`,
  );
  for (const note of roles.notes) lines.push(`  note: ${note}`);
  return lines.join("\n");
}

/** A line naming the PDs that ran idle in a run (no program in the model), or nothing. */
export function idleNote(run: { readonly idlePds?: readonly string[] }): string {
  const idle = run.idlePds ?? [];
  return idle.length === 0 ? "" : `idle PDs (no program in the model): ${idle.join(", ")}\n`;
}
