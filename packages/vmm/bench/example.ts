// The README example, kept runnable: `pnpm exec tsx --conditions=@vmmux/source bench/example.ts`
import { System } from "@vmmux/microkit-pd";
import { describeSystem, pdProgram } from "@vmmux/microkit-pd/testing";
import { SerialQueue } from "@vmmux/sddf-queues";
import { virtualMachine } from "@vmmux/vmm";

const vm = virtualMachine(
  {
    profile: "hardened",
    ram: { region: "guest_ram", guestBase: 0x4000_0000 },
    serial: {
      tx: { channel: 1, queueRegion: "tx_queue", dataRegion: "tx_data" },
      rx: { channel: 2, queueRegion: "rx_queue", dataRegion: "rx_data" },
    },
  },
  {
    origin: 1,
    workload: { kind: "trace", events: [{ time: 0.003, text: "hello from hvc0\r\n" }] },
  },
);
const desc = describeSystem({
  pds: [
    {
      name: "vmm",
      priority: 100,
      maps: ["guest_ram", "tx_queue", "tx_data", "rx_queue", "rx_data"].map((mr) => ({ mr })),
      vm: { name: "linux", priority: 100, maps: [{ mr: "guest_ram", vaddr: 0x4000_0000 }] },
    },
    { name: "virt_tx", priority: 199, maps: [{ mr: "tx_queue" }, { mr: "tx_data" }] },
    { name: "virt_rx", priority: 199, maps: [{ mr: "rx_queue" }, { mr: "rx_data" }] },
  ],
  channels: [
    [
      { pd: "vmm", id: 1 },
      { pd: "virt_tx", id: 0 },
    ],
    [
      { pd: "vmm", id: 2 },
      { pd: "virt_rx", id: 0 },
    ],
  ],
  regions: [
    { name: "guest_ram", size: 0x40_0000 },
    { name: "tx_queue" },
    { name: "tx_data", size: 0x1_0000 },
    { name: "rx_queue" },
    { name: "rx_data", size: 0x1_0000 },
  ],
});
let screen = "";
const virtTx = pdProgram({
  *notified(_ch, pd) {
    const q = SerialQueue.fromRegions(pd.memory("tx_queue"), pd.memory("tx_data"));
    for (let b = q.dequeue(); b !== undefined; b = q.dequeue()) screen += String.fromCharCode(b);
  },
});
const sys = new System(desc, {
  programs: { "vmm.elf": vm.vmm, "virt_tx.elf": virtTx, "virt_rx.elf": pdProgram({}) },
  guests: { linux: vm.guest },
});
sys.runUntil(10_000_000);
console.log(JSON.stringify(screen)); // "hello from hvc0\r\n"
console.log(vm.current()?.phase, vm.vmm.counters.mmioExits, "MMIO exits");
