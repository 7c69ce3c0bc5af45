/**
 * Microkit system files for the sDDF serial subsystem on QEMU virt AArch64's PL011, laid out
 * as sdfgen lays out sDDF's `examples/serial` (N sDDF clients) and libvmm's virtio console
 * examples (N VMMs whose consoles are serial clients). Facts (sddf-serial §1, §4, §11; au-ts
 * `examples/serial/meta.py`, libvmm `examples/virtio/meta.py`, sdfgen `serial.zig`,
 * `sddf.zig`, `vmm.zig`):
 *
 * - PDs `serial_driver` 200, `serial_virt_tx` 199, `serial_virt_rx` 199 (stack 0x2000);
 *   sDDF clients `client<k>` at 1; VMMs at 100 with their guest at the default priority (0);
 * - the PL011 region `pl011@9000000/drivers/serial/arm/regs` (4 KiB at 0x900_0000) and IRQ
 *   33 (level) on the driver's first channel id;
 * - per connection a 0x1000 queue region `pl011@9000000/serial/queue/<server>/<client>` and a
 *   data region `.../serial/data/...` of 0x10000 bytes (the driver's TX one doubled when
 *   colour is on), created and mapped in sdfgen's order: driver↔virt_rx, virt_rx↔each
 *   client, driver↔virt_tx, virt_tx↔each client; channel ids the lowest free at each end;
 * - a VMM's guest RAM `guest_ram_<vm>` mapped rw into the VMM and rwx into the VM at the
 *   guest's memory base.
 *
 * Departures, each for the model: guest RAM is 4 MiB by default (sdfgen takes it from the
 * guest's device tree); the GIC vCPU interface region is left out (the model's virtual GIC
 * needs none); and, unless turned off, each sDDF client gets a one-shot timer device
 * (`timer_<client>`, a vmmux model device at 0xc00_0000 + 4 KiB·k, IRQ 80 + k) that paces a
 * trace guest's replay.
 */
import { GenPd, type GenRegion, GenSystem } from "./sdf-writer.js";

export type GenKind = "clients" | "vms";

export interface GenOptions {
  readonly kind: GenKind;
  /** Number of serial clients (sDDF clients or VMMs). */
  readonly count: number;
  /** virt_tx colour codes (sdfgen `enable_color`, default true): doubles the driver TX data. */
  readonly colour?: boolean;
  /** Data region size (sdfgen `data_size`, default 0x10000). */
  readonly dataSize?: bigint;
  /** Queue region size (sdfgen `queue_size`, default 0x1000). */
  readonly queueSize?: bigint;
  /** Guest RAM per VM (default 4 MiB). */
  readonly guestRam?: bigint;
  /** Add the vmmux trace timer to each sDDF client (default true). */
  readonly traceTimers?: boolean;
}

/** Most clients: 3 serial PDs + N ≤ 63 PDs (microkit reference G4). */
export const MAX_GEN_CLIENTS = 60;

const DEVICE = "pl011@9000000";
const UART_PADDR = 0x900_0000n;
const UART_IRQ = 33;
const GUEST_RAM_BASE = 0x4000_0000n;
const TIMER_PADDR = 0xc00_0000n;
const TIMER_IRQ = 80;

/** The system file's text; see the module comment. */
export function generateSerialSystem(options: GenOptions): string {
  const { kind, count } = options;
  if (!Number.isInteger(count) || count < 1 || count > MAX_GEN_CLIENTS) {
    throw new RangeError(`the number of clients must be 1 to ${MAX_GEN_CLIENTS}, not ${count}`);
  }
  const colour = options.colour ?? true;
  const dataSize = options.dataSize ?? 0x1_0000n;
  const queueSize = options.queueSize ?? 0x1000n;
  const sdf = new GenSystem();

  const clients: GenPd[] = [];
  const vms: { vmm: GenPd; vm: string }[] = [];
  const add = (pd: GenPd) => sdf.pd(pd);
  // libvmm's script adds each VMM before the serial PDs; sDDF's adds the clients after them.
  if (kind === "vms") {
    for (let k = 0; k < count; k++) {
      const vmm = add(new GenPd(`CLIENT_VMM_${k}`, `client_vmm_${k}.elf`, { priority: 100 }));
      clients.push(vmm);
      vms.push({ vmm, vm: `client_linux_${k}` });
    }
  }
  const driver = add(new GenPd("serial_driver", "serial_driver.elf", { priority: 200 }));
  const virtTx = add(new GenPd("serial_virt_tx", "serial_virt_tx.elf", { priority: 199 }));
  const virtRx = add(
    new GenPd("serial_virt_rx", "serial_virt_rx.elf", { priority: 199, stackSize: 0x2000n }),
  );
  if (kind === "clients") {
    for (let k = 0; k < count; k++) {
      clients.push(add(new GenPd(`client${k}`, `client${k}.elf`, { priority: 1 })));
    }
  }

  // `Serial.connect`: the driver's device first, then the connections.
  const regs = sdf.region(`${DEVICE}/drivers/serial/arm/regs`, 0x1000n, UART_PADDR);
  driver.mapNext(regs);
  driver.irqs.push({ irq: UART_IRQ, id: driver.allocateId(), trigger: "level" });
  const connect = (server: GenPd, client: GenPd, size: bigint): void => {
    const queue = sdf.region(`${DEVICE}/serial/queue/${server.name}/${client.name}`, queueSize);
    server.mapNext(queue);
    client.mapNext(queue);
    const data = sdf.region(`${DEVICE}/serial/data/${server.name}/${client.name}`, size);
    server.mapNext(data);
    client.mapNext(data);
    sdf.channel(server, client);
  };
  connect(driver, virtRx, dataSize);
  for (const client of clients) connect(virtRx, client, dataSize);
  connect(driver, virtTx, colour ? dataSize * 2n : dataSize);
  for (const client of clients) connect(virtTx, client, dataSize);

  // `Vmm.connect`, after the serial subsystem's.
  for (const { vmm, vm } of vms) {
    const ram: GenRegion = sdf.region(`guest_ram_${vm}`, options.guestRam ?? 0x40_0000n);
    vmm.maps.push({ mr: ram, vaddr: GUEST_RAM_BASE, perms: "rw" });
    vmm.vm = { name: vm, vcpus: [0], maps: [{ mr: ram, vaddr: GUEST_RAM_BASE, perms: "rwx" }] };
  }
  if (kind === "clients" && options.traceTimers !== false) {
    clients.forEach((client, k) => {
      const timer = sdf.region(`timer_${client.name}`, 0x1000n, TIMER_PADDR + BigInt(k) * 0x1000n);
      client.mapNext(timer, "rw", false);
      client.irqs.push({ irq: TIMER_IRQ + k, id: client.allocateId(), trigger: "level" });
    });
  }
  return sdf.render();
}
