// Role discovery (issue 9 item 5): the serial roles come from program images, virtual_machine
// children and the channel topology with the regions each end maps, never from PD or region
// names. Shown on vmmux's own files, on libvmm's older hand-written layout and on sdfgen-style
// generated files, and by renaming every PD and region without changing the answer.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseSystemDescription, type SystemDescription } from "@vmmux/microkit-pd";
import { describe, expect, it } from "vitest";
import { WiringError } from "./errors.js";
import { generateSerialSystem } from "./gen/serial.js";
import {
  DEFAULT_ROLE_IMAGES,
  discoverSerialRoles,
  formatSerialRoles,
  placeGuests,
  serialWiringFromRoles,
} from "./roles.js";
import { serialWiring } from "./wiring.js";

const systemsDir = fileURLToPath(new URL("../../../traces/systems/", import.meta.url));
const text = (name: string) => readFileSync(`${systemsDir}${name}`, "utf8");
const parse = (source: string, fileName = "t.system"): SystemDescription =>
  parseSystemDescription(source, { fileName }).system;

describe("vmmux's own systems", () => {
  it("finds the driver, both virtualisers and two sDDF clients with their trace timers", () => {
    const roles = discoverSerialRoles(parse(text("serial-two-guests.system")));
    expect(roles.driver).toMatchObject({
      pd: "uart_driver",
      deviceRegion: "uart",
      irq: 33,
      irqChannel: 0,
      tx: { queue: "serial_tx_queue_driver", data: "serial_tx_data_driver", dataSize: 0x20000n },
      rx: { queue: "serial_rx_queue_driver", serverChannel: 2, clientChannel: 0 },
    });
    expect(roles.driver.tx).toMatchObject({ serverChannel: 1, clientChannel: 0 });
    expect(roles.virtTx.pd).toBe("serial_virt_tx");
    expect(roles.virtRx?.pd).toBe("serial_virt_rx");
    expect(roles.clients.map((c) => [c.index, c.pd, c.kind])).toEqual([
      [0, "guest1", "sddf-client"],
      [1, "guest2", "sddf-client"],
    ]);
    expect(roles.clients[1]).toMatchObject({
      tx: {
        queue: "serial_tx_queue_guest2",
        data: "serial_tx_data_guest2",
        serverChannel: 2,
        clientChannel: 0,
      },
      rx: {
        queue: "serial_rx_queue_guest2",
        data: "serial_rx_data_guest2",
        serverChannel: 2,
        clientChannel: 1,
      },
      timer: { region: "timer_guest2", irq: 81, channel: 2 },
    });
    expect(roles.idle).toEqual([]);
    expect(roles.notes).toEqual([]);
  });

  it("finds VMM clients with their virtual machines and guest RAM", () => {
    const roles = discoverSerialRoles(parse(text("vm-two-guests.system")));
    expect(roles.clients.map((c) => [c.pd, c.kind, c.virtualMachine?.name])).toEqual([
      ["vmm_guest1", "vmm", "guest1"],
      ["vmm_guest2", "vmm", "guest2"],
    ]);
    expect(roles.clients[0]?.virtualMachine).toEqual({
      name: "guest1",
      priority: 100,
      vcpus: [0],
      ramRegion: "guest1_ram",
      guestBase: 0x4000_0000n,
    });
    expect(roles.clients[0]).toMatchObject({
      tx: { serverChannel: 1, clientChannel: 1 },
      rx: { serverChannel: 1, clientChannel: 2 },
    });
    expect(roles.clients[0]?.timer).toBeUndefined();
  });
});

describe("libvmm's older dual-guest layout", () => {
  const roles = discoverSerialRoles(parse(text("libvmm-dual-guest-2024.system")));

  it("numbers three VMM clients as the virtualisers do, the block-driver VMM last", () => {
    expect(roles.clients.map((c) => [c.index, c.pd, c.priority, c.virtualMachine?.name])).toEqual([
      [0, "CLIENT_VMM-1", 100, "client_linux-1"],
      [1, "CLIENT_VMM-2", 100, "client_linux-2"],
      [2, "BLK_DRIVER_VMM", 200, "blk_linux"],
    ]);
    expect(roles.clients[2]).toMatchObject({
      tx: {
        queue: "tx_queue_serial_blk_driver",
        data: "tx_data_serial_blk_driver",
        serverChannel: 3,
        clientChannel: 4,
      },
      rx: {
        queue: "rx_queue_serial_blk_driver",
        data: "rx_data_serial_blk_driver",
        serverChannel: 3,
        clientChannel: 5,
      },
    });
    expect(roles.clients[0]?.virtualMachine?.ramRegion).toBe("vmm_1_ram");
  });

  it("finds the driver by its image at priority 105 and lists the block virtualiser as idle", () => {
    expect(roles.driver).toMatchObject({
      pd: "uart_driver",
      priority: 105,
      tx: { queue: "tx_queue_serial_driver", data: "tx_data_serial_driver", dataSize: 0x2000n },
    });
    expect(roles.virtTx.priority).toBe(104);
    expect(roles.virtRx?.priority).toBe(103);
    expect(roles.idle.map((p) => p.pd)).toEqual(["BLK_VIRT"]);
    expect(formatSerialRoles(roles)).toContain("idle (no program in the model): BLK_VIRT");
  });
});

describe("sdfgen-style generated systems", () => {
  it("finds N clients in the order sdfgen added them, rx on channel 0 and tx on 1", () => {
    for (const count of [1, 3, 8]) {
      const roles = discoverSerialRoles(parse(generateSerialSystem({ kind: "clients", count })));
      expect(roles.driver.pd).toBe("serial_driver");
      expect(roles.driver.deviceRegion).toBe("pl011@9000000/drivers/serial/arm/regs");
      expect(roles.clients.map((c) => c.pd)).toEqual(
        Array.from({ length: count }, (_, k) => `client${k}`),
      );
      for (const c of roles.clients) {
        expect(c.tx).toMatchObject({
          queue: `pl011@9000000/serial/queue/serial_virt_tx/${c.pd}`,
          data: `pl011@9000000/serial/data/serial_virt_tx/${c.pd}`,
          serverChannel: c.index + 1,
          clientChannel: 1,
        });
        expect(c.rx).toMatchObject({ serverChannel: c.index + 1, clientChannel: 0 });
      }
    }
  });

  it("finds N VMMs and their guests", () => {
    const roles = discoverSerialRoles(parse(generateSerialSystem({ kind: "vms", count: 4 })));
    expect(
      roles.clients.map((c) => [c.pd, c.virtualMachine?.name, c.virtualMachine?.ramRegion]),
    ).toEqual(
      [0, 1, 2, 3].map((k) => [
        `CLIENT_VMM_${k}`,
        `client_linux_${k}`,
        `guest_ram_client_linux_${k}`,
      ]),
    );
  });

  it("takes the queue to be the region the server maps first, whatever the sizes", () => {
    for (const queueSize of [0x1000n, 0x4000n]) {
      const roles = discoverSerialRoles(
        parse(generateSerialSystem({ kind: "clients", count: 2, dataSize: 0x1000n, queueSize })),
      );
      expect(roles.clients[1]?.tx.queue).toBe("pl011@9000000/serial/queue/serial_virt_tx/client1");
      expect(roles.driver.rx?.data).toBe("pl011@9000000/serial/data/serial_driver/serial_virt_rx");
    }
  });
});

describe("names do not matter", () => {
  it("gives the same roles after every PD and region is renamed", () => {
    const source = text("libvmm-dual-guest-2024.system");
    const system = parse(source);
    const names = [
      ...system.memoryRegions.map((r) => r.name),
      ...system.protectionDomains.map((p) => p.name),
      ...system.protectionDomains.flatMap((p) => (p.virtualMachine ? [p.virtualMachine.name] : [])),
    ].sort((a, b) => b.length - a.length);
    const renamed = new Map(names.map((n, i) => [n, `n${i}`]));
    const rename = (s: string) =>
      s.replace(/"([^"]+)"/g, (m, n: string) => (renamed.has(n) ? `"${renamed.get(n)}"` : m));
    const before = discoverSerialRoles(system);
    const after = discoverSerialRoles(parse(rename(source)));
    const back = JSON.stringify(after, (_k, v) =>
      typeof v === "bigint"
        ? v.toString()
        : typeof v === "string"
          ? ([...renamed].find(([, to]) => to === v)?.[0] ?? v)
          : v,
    );
    expect(JSON.parse(back)).toEqual(
      JSON.parse(JSON.stringify(before, (_k, v) => (typeof v === "bigint" ? v.toString() : v))),
    );
    expect(after.clients.map((c) => c.pd)).not.toContain("CLIENT_VMM-1");
  });

  it("follows program_image paths with directories and user-given image names", () => {
    const source = text("serial-two-guests.system")
      .replace('path="uart_driver.elf"', 'path="build/my_pl011.elf"')
      .replace('path="serial_virt_tx.elf"', 'path="build/serial_virt_tx.elf"');
    expect(() => discoverSerialRoles(parse(source))).toThrow(
      /no protection domain runs the UART driver \(program image uart_driver\.elf or serial_driver\.elf\)/,
    );
    const roles = discoverSerialRoles(parse(source), {
      ...DEFAULT_ROLE_IMAGES,
      driver: ["my_pl011.elf"],
    });
    expect(roles.driver.programImage).toBe("build/my_pl011.elf");
  });
});

describe("topologies the serial model cannot use", () => {
  it("names the PDs when a client shares other than two regions with a virtualiser", () => {
    const source = text("serial-two-guests.system").replace(
      '<map mr="serial_tx_data_guest2" vaddr="0x4_200_000" perms="rw" />',
      "",
    );
    const err = (() => {
      try {
        discoverSerialRoles(parse(source));
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(WiringError);
    expect((err as Error).message).toBe(
      "t.system: 'serial_virt_tx' and 'guest2' must share two regions (a queue and a data region), found 1: 'serial_tx_queue_guest2'",
    );
  });

  it("notes virtualisers that number the clients differently", () => {
    const source = text("serial-two-guests.system").replace(
      '<end pd="guest1" id="1" />\n        <end pd="serial_virt_rx" id="1" />',
      '<end pd="guest1" id="1" />\n        <end pd="serial_virt_rx" id="3" />',
    );
    const roles = discoverSerialRoles(parse(source));
    expect(roles.clients.map((c) => c.pd)).toEqual(["guest1", "guest2"]);
    expect(roles.notes).toEqual([
      "'serial_virt_tx' numbers its clients guest1, guest2 but 'serial_virt_rx' guest2, guest1; clients follow 'serial_virt_tx'",
    ]);
  });
});

describe("placing scenario guests", () => {
  const roles = discoverSerialRoles(parse(text("libvmm-dual-guest-2024.system")));

  it("keeps the virtualisers' numbers and leaves the rest unplaced", () => {
    const { placed, unplaced } = placeGuests(roles, [
      { pd: "CLIENT_VMM-2", kind: "vm" },
      { pd: "CLIENT_VMM-1", kind: "vm" },
    ]);
    expect(placed.map((c) => [c.pd, c.index])).toEqual([
      ["CLIENT_VMM-2", 1],
      ["CLIENT_VMM-1", 0],
    ]);
    expect(unplaced.map((c) => c.pd)).toEqual(["BLK_DRIVER_VMM"]);
  });

  it("says what is wrong with a placement", () => {
    const problem = (pd: string, kind: "vm" | "sddf-client") => {
      try {
        placeGuests(roles, [{ pd, kind }]);
      } catch (e) {
        return (e as Error).message;
      }
      return "";
    };
    expect(problem("BLK_VIRT", "vm")).toBe(
      `${roles.file}: guest 0: 'BLK_VIRT' is not a serial client (the clients are 'CLIENT_VMM-1', 'CLIENT_VMM-2', 'BLK_DRIVER_VMM')`,
    );
    expect(problem("CLIENT_VMM-1", "sddf-client")).toContain('is a VMM; give the guest kind "vm"');
    const clients = discoverSerialRoles(
      parse(generateSerialSystem({ kind: "clients", count: 2, traceTimers: false })),
    );
    expect(() => placeGuests(clients, [{ pd: "client0", kind: "sddf-client" }])).toThrow(
      "maps no timer device",
    );
    expect(() => placeGuests(clients, [{ pd: "client0", kind: "vm" }])).toThrow(
      "holds no virtual_machine",
    );
    expect(() =>
      placeGuests(discoverSerialRoles(parse(text("serial-two-guests.system"))), [
        { pd: "guest1", kind: "sddf-client" },
        { pd: "guest1", kind: "sddf-client" },
      ]),
    ).toThrow("guest 1: 'guest1' already has a guest");
  });
});

describe("the engine's wiring from roles", () => {
  it("equals the name-based wiring on vmmux's own systems", () => {
    for (const [file, kind] of [
      ["serial-two-guests.system", "sddf-client"],
      ["vm-two-guests.system", "vm"],
    ] as const) {
      const system = parse(text(file));
      const pds = kind === "vm" ? ["vmm_guest1", "vmm_guest2"] : ["guest1", "guest2"];
      const placements = pds.map((pd) => ({ pd, kind }));
      const { roles, driverTx, driverRx, unplaced, ...wiring } = serialWiringFromRoles(
        system,
        placements,
      );
      // Only SerialWiring's own fields (serialWiring may itself return a RoleWiring).
      const { driver, virtTx, virtRx, guests } = serialWiring(system, placements);
      expect(wiring).toEqual({ driver, virtTx, virtRx, guests });
      expect(driverTx).toEqual({ queue: "serial_tx_queue_driver", data: "serial_tx_data_driver" });
      expect(driverRx).toEqual({ queue: "serial_rx_queue_driver", data: "serial_rx_data_driver" });
      expect(unplaced).toEqual([]);
    }
  });

  it("wires libvmm's older layout, leaving the block-driver VMM unplaced", () => {
    const w = serialWiringFromRoles(parse(text("libvmm-dual-guest-2024.system")), [
      { pd: "CLIENT_VMM-1", kind: "vm" },
      { pd: "CLIENT_VMM-2", kind: "vm" },
    ]);
    expect(w.driver).toMatchObject({
      pd: "uart_driver",
      txChannel: 1,
      rxChannel: 2,
      irqChannel: 0,
    });
    expect(w.virtTx.clientChannels).toEqual([1, 2]);
    expect(w.guests[1]).toMatchObject({
      kind: "vm",
      pd: "CLIENT_VMM-2",
      vmName: "client_linux-2",
      txQueue: "tx_queue_serial_vmm_2",
      rxData: "rx_data_serial_vmm_2",
      txChannel: 1,
      rxChannel: 2,
    });
    expect(w.unplaced.map((c) => c.pd)).toEqual(["BLK_DRIVER_VMM"]);
    expect(w.roles.idle.map((p) => p.pd)).toEqual(["BLK_VIRT"]);
  });
});
