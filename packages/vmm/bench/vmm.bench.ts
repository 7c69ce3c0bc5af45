/**
 * How much the full model (vCPU exits through the Microkit runtime into the VMM PD, scheduler,
 * stub serial PDs) costs against the same console work done directly (driver calling the
 * transport, no runtime), in the same process. Prints ratios, not absolute claims.
 */
import { performance } from "node:perf_hooks";
import type { AccessWidth, PdStep } from "@vmmux/microkit-pd";
import { SerialQueue } from "@vmmux/sddf-queues";
import { createVirtioConsole, type GuestMmio, LinuxConsoleDriver } from "@vmmux/virtio-console";
import { GuestMemory, type MmioWidth } from "@vmmux/virtio-core";
import { VmRig } from "../src/testing/index.js";

const PAYLOAD = 64 * 1024;
const ROUNDS = Number(process.env.VMMUX_BENCH_ROUNDS ?? 5);
const text = "x"
  .repeat(79)
  .concat("\n")
  .repeat(PAYLOAD / 80);

function finish<T>(step: PdStep<T>): T {
  for (;;) {
    const next = step.next();
    if (next.done) return next.value;
  }
}

/** Baseline: Linux driver model straight on the transport; virt_tx drains synchronously. */
function direct(): number {
  const memory = new GuestMemory({
    regions: [{ base: 0x4000_0000, size: 0x40_0000 }],
    provenance: true,
  });
  const queue = () =>
    new SerialQueue(new Uint8Array(0x1000), new Uint8Array(0x1_0000), {
      tags: new Uint32Array(0x1_0000),
    });
  const tx = queue();
  const rx = queue();
  let drained = 0;
  const { transport } = createVirtioConsole({
    memory,
    ports: [{ tx, rx }],
    hooks: {
      notifyTx: () => {
        while (tx.dequeue() !== undefined) drained++;
      },
      notifyRx: () => {},
      injectIrq: () => true,
    },
  });
  const mmio: GuestMmio = {
    *read(address: number, width: AccessWidth) {
      return transport.read(address - 0x13_0000, width as MmioWidth);
    },
    *write(address: number, width: AccessWidth, value: number) {
      transport.write(address - 0x13_0000, width as MmioWidth, value);
    },
  };
  const driver = new LinuxConsoleDriver({
    mmio,
    base: 0x13_0000,
    memory,
    heap: { base: 0x4010_0000, size: 0x20_0000 },
  });
  finish(driver.probe());
  finish(driver.ttyWrite(new TextEncoder().encode(text)));
  return drained;
}

/** Full model: the same output as a trace event of a guest on a vCPU behind the VMM PD. */
function full(): { bytes: number; exits: number } {
  const rig = new VmRig({
    vms: [{ guest: { bootBursts: [0], workload: { kind: "trace", events: [{ time: 0, text }] } } }],
  });
  rig.sys.runUntil(5_000_000);
  return { bytes: rig.machine(0).tx.bytes.length, exits: rig.machine(0).vmm.counters.exits };
}

function time<T>(fn: () => T): { ms: number; result: T } {
  const start = performance.now();
  const result = fn();
  return { ms: performance.now() - start, result };
}

direct();
full();
const base: number[] = [];
const model: number[] = [];
let exits = 0;
for (let i = 0; i < ROUNDS; i++) {
  const a = time(direct);
  if (a.result !== text.length) throw new Error(`direct path moved ${a.result} bytes`);
  base.push(a.ms);
  const b = time(full);
  if (b.result.bytes !== text.length) throw new Error(`full model moved ${b.result.bytes} bytes`);
  model.push(b.ms);
  exits = b.result.exits;
}
const median = (xs: number[]) => [...xs].sort((p, q) => p - q)[Math.floor(xs.length / 2)]!;
const mBase = median(base);
const mModel = median(model);
console.table([
  { path: "direct driver → transport (baseline)", "median ms": mBase.toFixed(1), ratio: "1.00" },
  {
    path: "guest on vCPU → VMM PD via runtime (5 ms idle tail)",
    "median ms": mModel.toFixed(1),
    ratio: (mModel / mBase).toFixed(2),
  },
]);
console.log(
  `payload ${text.length} bytes, ${ROUNDS} rounds; full model took ${exits} vCPU exits (probe, kicks, WFI loop)`,
);

/**
 * Idle-dominated dual-guest run: two Linux guests at equal priority boot, print a line each and
 * then idle on trapped WFI for `IDLE_S` virtual seconds, with the kernel's fast-forward on and off.
 * Prints each run's real-time factor and their ratio (same process, same run).
 */
const IDLE_S = Number(process.env.VMMUX_BENCH_IDLE_S ?? 2);
const ON_S = Number(process.env.VMMUX_BENCH_IDLE_ON_S ?? 600);

function idleDual(fastForward: boolean, seconds: number): { ms: number; exits: number } {
  const guest = {
    workload: { kind: "trace" as const, events: [{ time: 0.01, text: "login:\n" }] },
  };
  const rig = new VmRig({ fastForward, vms: [{ guest }, { guest }] });
  const start = performance.now();
  rig.sys.runUntil(seconds * 1e9);
  const ms = performance.now() - start;
  return { ms, exits: rig.machine(0).vmm.counters.wfiExits + rig.machine(1).vmm.counters.wfiExits };
}

idleDual(true, 0.1);
const off = idleDual(false, IDLE_S);
const onSame = idleDual(true, IDLE_S);
const onLong = idleDual(true, ON_S);
if (onSame.exits !== off.exits)
  throw new Error(`fast-forward changed the WFI exit count: ${onSame.exits} vs ${off.exits}`);
const factor = (seconds: number, ms: number) => (seconds * 1000) / ms;
console.table([
  {
    run: `idle dual guest, ${IDLE_S} s, every trap simulated`,
    "wall ms": off.ms.toFixed(0),
    "× real time": factor(IDLE_S, off.ms).toFixed(1),
    "WFI exits": off.exits,
  },
  {
    run: `idle dual guest, ${IDLE_S} s, fast-forward`,
    "wall ms": onSame.ms.toFixed(0),
    "× real time": factor(IDLE_S, onSame.ms).toFixed(1),
    "WFI exits": onSame.exits,
  },
  {
    run: `idle dual guest, ${ON_S} s, fast-forward`,
    "wall ms": onLong.ms.toFixed(0),
    "× real time": factor(ON_S, onLong.ms).toFixed(0),
    "WFI exits": onLong.exits,
  },
]);
console.log(
  `fast-forward speed-up on the same ${IDLE_S} s run: ${(off.ms / onSame.ms).toFixed(1)}× (WFI exits identical)`,
);
