/**
 * Console throughput: chains per second and MB/s through the device's TX path (guest
 * transmitq → sDDF TX queue) and RX path (sDDF RX queue → guest receiveq), with 4 KiB and
 * 16 B buffers, under both profiles, beside a plain `Uint8Array.set` copy of the same bytes
 * measured in the same process. Virtual time plays no part: this is host speed of the model.
 */
import type { Profile } from "@vmmux/profiles";
import { Reg } from "@vmmux/virtio-core";
import { ConsoleRig, rawProbe } from "../src/testing/rig.js";

const WINDOW_MS = Number(process.env.VMMUX_BENCH_MS ?? 400);
const QUEUE = 128;

interface Row {
  readonly name: string;
  readonly chains: number;
  readonly bytes: number;
  readonly ms: number;
}

function timed(name: string, chainBytes: number, step: () => number): Row {
  // Warm up, then run for the window.
  for (let i = 0; i < 200; i++) step();
  let chains = 0;
  const start = performance.now();
  let now = start;
  while (now - start < WINDOW_MS) {
    for (let i = 0; i < 64; i++) chains += step();
    now = performance.now();
  }
  return { name, chains, bytes: chains * chainBytes, ms: now - start };
}

function baseline(size: number): Row {
  const src = new Uint8Array(size).fill(0x41);
  const ring = new Uint8Array(0x10000);
  let at = 0;
  return timed(`plain copy ${size} B`, size, () => {
    if (at + size > ring.length) at = 0;
    ring.set(src, at);
    at += size;
    return 1;
  });
}

function txBench(profile: Profile, size: number): Row {
  const rig = new ConsoleRig({ profile, queueSize: QUEUE });
  const raw = rawProbe(rig, { size: QUEUE });
  const tx = raw.queues[1]!;
  const buffer = raw.nextBuffer;
  rig.memory.write(buffer, new Uint8Array(size).fill(0x41), 0x0100_0000);
  const txq = rig.serial[0]!.tx;
  const batch = Math.min(QUEUE, Math.max(1, Math.floor(0x10000 / size)));
  return timed(`tx ${profile} ${size} B`, size, () => {
    for (let i = 0; i < batch; i++) tx.addChain([{ addr: buffer, len: size }], []);
    rig.transport.write(Reg.QueueNotify, 4, 1);
    // virt_tx: consume everything at once, signal if asked.
    txq.updateSharedHead(txq.tail);
    if (txq.requireConsumerSignal()) {
      txq.cancelConsumerSignal();
      rig.device.serialTxSignalled(0);
    }
    const used = tx.collectUsed();
    return Array.isArray(used) ? used.length : 0;
  });
}

function rxBench(profile: Profile, size: number): Row {
  const rig = new ConsoleRig({ profile, queueSize: QUEUE });
  const raw = rawProbe(rig, { size: QUEUE });
  const rx = raw.queues[0]!;
  const buffers = new Map<number, number>();
  for (let i = 0; i < QUEUE; i++) {
    const addr = raw.nextBuffer + i * Math.max(size, 16);
    buffers.set(rx.addChain([], [{ addr, len: size }]) as number, addr);
  }
  const rxq = rig.serial[0]!.rx;
  const input = new Uint8Array(Math.min(QUEUE * size, 0x8000)).fill(0x61);
  return timed(`rx ${profile} ${size} B`, size, () => {
    rxq.enqueueBatch(input, 0x0200_0000);
    rig.device.serialRxSignalled(0);
    const used = rx.collectUsed();
    if (!Array.isArray(used)) return 0;
    for (const u of used) rx.addChain([], [{ addr: buffers.get(u.head)!, len: size }]);
    rig.transport.write(Reg.QueueNotify, 4, 0);
    return used.length;
  });
}

const rows: { row: Row; base: Row }[] = [];
for (const size of [4096, 16]) {
  const base = baseline(size);
  rows.push({ row: base, base });
  for (const profile of ["hardened", "reference"] as const) {
    rows.push({ row: txBench(profile, size), base });
    rows.push({ row: rxBench(profile, size), base });
  }
}

const pad = (s: string, n: number) => s.padStart(n);
console.log(
  `${"path".padEnd(26)}${pad("chains/s", 14)}${pad("MB/s", 10)}${pad("vs plain copy", 16)}`,
);
for (const { row, base } of rows) {
  const perSecond = (row.chains / row.ms) * 1000;
  const mbps = row.bytes / row.ms / 1000;
  const ratio = row.bytes / row.ms / (base.bytes / base.ms);
  console.log(
    `${row.name.padEnd(26)}${pad(perSecond.toFixed(0), 14)}${pad(mbps.toFixed(1), 10)}${pad(
      ratio === 1 ? "1 (baseline)" : `${ratio.toPrecision(3)}×`,
      16,
    )}`,
  );
}
