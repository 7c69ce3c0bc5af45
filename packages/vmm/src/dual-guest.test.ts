/**
 * The whole path with the real peers: two VMMs with Linux guests as clients of the sDDF
 * serial virtualisers and the PL011 driver and device (DESIGN.md picture). Output on the wire
 * is attributed by provenance; typed input reaches the selected guest.
 */
import { System } from "@vmmux/microkit-pd";
import { describeSystem } from "@vmmux/microkit-pd/testing";
import { Pl011Device, Pl011Driver } from "@vmmux/pl011-uart";
import { ORIGIN_KEYBOARD, provenanceTag, tagOrigin } from "@vmmux/sddf-queues";
import {
  DEFAULT_SWITCH_CHAR,
  VirtRx,
  VirtTx,
  virtRxConfig,
  virtTxConfig,
} from "@vmmux/sddf-serial";
import { describe, expect, it } from "vitest";
import { virtualMachine } from "./machine.js";

const MS = 1_000_000;
const IRQ = 33;

function dualGuestSystem() {
  const names = ["linux0", "linux1"];
  const regions = [
    { name: "uart", physAddr: 0x900_0000 },
    { name: "tx_queue_drv" },
    { name: "tx_data_drv", size: 0x2000 },
    { name: "rx_queue_drv" },
    { name: "rx_data_drv", size: 0x2000 },
    ...names.flatMap((_, k) => [
      { name: `guest_ram${k}`, size: 0x40_0000 },
      { name: `tx_queue_cli${k}` },
      { name: `tx_data_cli${k}`, size: 0x1_0000 },
      { name: `rx_queue_cli${k}` },
      { name: `rx_data_cli${k}`, size: 0x1_0000 },
    ]),
  ];
  const cli = (k: number) => [
    `tx_queue_cli${k}`,
    `tx_data_cli${k}`,
    `rx_queue_cli${k}`,
    `rx_data_cli${k}`,
  ];
  const desc = describeSystem({
    pds: [
      {
        name: "uart_driver",
        priority: 200,
        irqs: [{ id: 0, irq: IRQ }],
        maps: ["uart", "tx_queue_drv", "tx_data_drv", "rx_queue_drv", "rx_data_drv"].map((mr) => ({
          mr,
        })),
      },
      {
        name: "serial_virt_tx",
        priority: 199,
        maps: ["tx_queue_drv", "tx_data_drv", ...names.flatMap((_, k) => cli(k).slice(0, 2))].map(
          (mr) => ({ mr }),
        ),
      },
      {
        name: "serial_virt_rx",
        priority: 199,
        maps: ["rx_queue_drv", "rx_data_drv", ...names.flatMap((_, k) => cli(k).slice(2))].map(
          (mr) => ({ mr }),
        ),
      },
      ...names.map((name, k) => ({
        name: `vmm${k}`,
        priority: 100,
        maps: [`guest_ram${k}`, ...cli(k)].map((mr) => ({ mr })),
        vm: { name, priority: 100, maps: [{ mr: `guest_ram${k}`, vaddr: 0x4000_0000 }] },
      })),
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
      ...names.flatMap(
        (_, k) =>
          [
            [
              { pd: `vmm${k}`, id: 1 },
              { pd: "serial_virt_tx", id: k + 1 },
            ],
            [
              { pd: `vmm${k}`, id: 2 },
              { pd: "serial_virt_rx", id: k + 1 },
            ],
          ] as const,
      ),
    ],
    regions,
  });
  const vms = names.map((_, k) =>
    virtualMachine(
      {
        ram: { region: `guest_ram${k}`, guestBase: 0x4000_0000 },
        serial: {
          tx: { channel: 1, queueRegion: `tx_queue_cli${k}`, dataRegion: `tx_data_cli${k}` },
          rx: { channel: 2, queueRegion: `rx_queue_cli${k}`, dataRegion: `rx_data_cli${k}` },
        },
      },
      {
        origin: k + 1,
        bootBursts: [MS],
        workload: {
          kind: "trace",
          events: [{ time: 0.004, text: `guest ${k} says hello\r\n` }],
          thenShell: true,
        },
      },
    ),
  );
  let uart: Pl011Device | undefined;
  const sys = new System(desc, {
    seed: 3,
    programs: {
      "uart_driver.elf": new Pl011Driver({
        mmioRegion: "uart",
        irqChannel: 0,
        tx: { channel: 1, queueRegion: "tx_queue_drv", dataRegion: "tx_data_drv" },
        rx: { channel: 2, queueRegion: "rx_queue_drv", dataRegion: "rx_data_drv" },
      }),
      "serial_virt_tx.elf": new VirtTx(
        virtTxConfig({
          enableColour: true,
          driver: { queue: "tx_queue_drv", data: "tx_data_drv", channel: 0 },
          clients: names.map((name, k) => ({
            conn: { queue: `tx_queue_cli${k}`, data: `tx_data_cli${k}`, channel: k + 1 },
            name,
          })),
        }),
      ),
      "serial_virt_rx.elf": new VirtRx(
        virtRxConfig({
          driver: { queue: "rx_queue_drv", data: "rx_data_drv", channel: 0 },
          clients: names.map((_, k) => ({
            queue: `rx_queue_cli${k}`,
            data: `rx_data_cli${k}`,
            channel: k + 1,
          })),
        }),
      ),
      "vmm0.elf": vms[0]!.vmm,
      "vmm1.elf": vms[1]!.vmm,
    },
    guests: { linux0: vms[0]!.guest, linux1: vms[1]!.guest },
    devices: {
      uart: (host) => {
        uart = new Pl011Device({ host, irq: IRQ, timing: "instant" });
        return uart;
      },
    },
  });
  return { sys, vms, uart: uart! };
}

describe("two guests behind the real serial stack", () => {
  it("puts each guest's output on the wire intact and routes typed input to the selected guest", () => {
    const { sys, vms, uart } = dualGuestSystem();
    let seq = 0;
    const type = (at: number, text: string | number[]) => {
      const bytes = typeof text === "string" ? Array.from(text, (c) => c.charCodeAt(0)) : text;
      sys.at(at, () =>
        uart.send(bytes, { tags: bytes.map(() => provenanceTag(ORIGIN_KEYBOARD, seq++)) }),
      );
    };
    type(10 * MS, "ls\r");
    type(12 * MS, [DEFAULT_SWITCH_CHAR, 0x31, 0x0d]);
    type(13 * MS, "uname\r");
    sys.runUntil(30 * MS);
    for (const k of [0, 1]) {
      const guest = vms[k]!.current()!;
      const mine = uart.transmitted.filter((w) => tagOrigin(w.tag) === k + 1);
      expect(mine.map((w) => w.byte)).toEqual(guest.written.bytes);
      expect(mine.map((w) => w.tag)).toEqual(guest.written.tags);
      expect(String.fromCharCode(...guest.written.bytes)).toContain(`guest ${k} says hello\r\n`);
    }
    expect(vms[0]!.current()!.lines).toEqual(["ls"]);
    expect(vms[1]!.current()!.lines).toEqual(["uname"]);
    expect(String.fromCharCode(...vms[1]!.current()!.written.bytes)).toContain(
      "uname\r\nLinux\r\n",
    );
  });
});
