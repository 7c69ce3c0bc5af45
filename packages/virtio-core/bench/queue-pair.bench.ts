/**
 * Throughput of a driver/device split-virtqueue pair (chains/s, MB/s) for 4 KiB and 16 B
 * buffers, beside a plain-copy baseline of the same bytes measured in the same process.
 * Each chain: the driver adds one device-readable buffer, the device pops and validates the
 * chain, copies the bytes out of guest RAM, returns it; the driver collects it. Batches of a
 * full queue (128) per round, as Linux's RX fill does.
 */
import { copyFromSegments, DriverVirtqueue, GuestMemory, SplitVirtqueue } from "../src/index.js";
import { queueLayout } from "../src/testing/index.js";

const RAM_BASE = 0x4000_0000;
const QUEUE_SIZE = 128;
const TARGET_MS = Number(process.env.VMMUX_BENCH_MS ?? 150);

interface Result {
  readonly name: string;
  readonly chains: number;
  readonly bytes: number;
  readonly ms: number;
}

function timeIt(name: string, bytesPerChain: number, round: () => number): Result {
  for (let i = 0; i < 200; i++) round(); // warm-up
  let chains = 0;
  const start = performance.now();
  let now = start;
  while (now - start < TARGET_MS) {
    chains += round();
    now = performance.now();
  }
  return { name, chains, bytes: chains * bytesPerChain, ms: now - start };
}

function queuePair(bufferSize: number, provenance: boolean): () => number {
  const memory = new GuestMemory({ regions: [{ base: RAM_BASE, size: 0x200_0000 }], provenance });
  const layout = queueLayout(RAM_BASE, QUEUE_SIZE);
  const geometry = { size: QUEUE_SIZE, ...layout };
  const driver = new DriverVirtqueue({ memory, geometry });
  const device = new SplitVirtqueue({ memory, geometry });
  const dataBase = RAM_BASE + 0x10_0000;
  const payload = new Uint8Array(bufferSize).map((_, i) => i & 0xff);
  for (let i = 0; i < QUEUE_SIZE; i++) memory.write(dataBase + i * bufferSize, payload, i + 1);
  const sink = new Uint8Array(bufferSize);
  const sinkTags = provenance ? new Uint32Array(bufferSize) : undefined;
  return () => {
    for (let i = 0; i < QUEUE_SIZE; i++) {
      driver.addChain([{ addr: dataBase + i * bufferSize, len: bufferSize }], []);
    }
    driver.kickPrepare();
    let n = 0;
    for (;;) {
      const r = device.popAvailable();
      if (r.kind !== "chain") break;
      copyFromSegments(memory, r.chain.readable, 0, sink, sinkTags);
      device.addUsed(r.chain.head, 0);
      n++;
    }
    device.needsInterrupt();
    const used = driver.collectUsed();
    if (!Array.isArray(used) || used.length !== n || n !== QUEUE_SIZE) {
      throw new Error("bench queue pair lost chains");
    }
    return n;
  };
}

function plainCopy(bufferSize: number): () => number {
  const source = new Uint8Array(QUEUE_SIZE * bufferSize).map((_, i) => i & 0xff);
  const sink = new Uint8Array(bufferSize);
  return () => {
    for (let i = 0; i < QUEUE_SIZE; i++) {
      sink.set(source.subarray(i * bufferSize, (i + 1) * bufferSize));
    }
    return QUEUE_SIZE;
  };
}

/**
 * The machine is shared, so each case alternates short trials with its baseline and reports
 * medians: the ratio compares trials run back to back under the same load.
 */
const TRIALS = 5;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

interface Row {
  readonly name: string;
  readonly chainsPerSec: number;
  readonly mbPerSec: number;
  readonly ratio: number;
}

function measure(name: string, size: number, round: () => number, baseline: () => number): Row {
  const rates: number[] = [];
  const ratios: number[] = [];
  for (let i = 0; i < TRIALS; i++) {
    const r = timeIt(name, size, round);
    const b = timeIt("baseline", size, baseline);
    const rate = (r.chains / r.ms) * 1000;
    rates.push(rate);
    ratios.push(rate / ((b.chains / b.ms) * 1000));
  }
  const chainsPerSec = median(rates);
  return { name, chainsPerSec, mbPerSec: (chainsPerSec * size) / 1e6, ratio: median(ratios) };
}

const rows: Row[] = [];
for (const size of [4096, 16]) {
  const baseline = plainCopy(size);
  rows.push(measure(`plain copy, ${size} B`, size, baseline, baseline));
  rows.push(measure(`queue pair, ${size} B`, size, queuePair(size, false), baseline));
  rows.push(measure(`queue pair + provenance, ${size} B`, size, queuePair(size, true), baseline));
}

const fmt = (n: number, digits = 0) => n.toLocaleString("en-US", { maximumFractionDigits: digits });
const header = ["case", "chains/s", "MB/s", "vs plain copy"];
const table = rows.map((r) => [
  r.name,
  fmt(r.chainsPerSec),
  fmt(r.mbPerSec, 1),
  `${r.ratio.toFixed(3)}×`,
]);
const widths = header.map((h, i) => Math.max(h.length, ...table.map((r) => r[i]!.length)));
const line = (cells: string[]) =>
  cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
console.log(
  `virtio-core queue pair, queue size ${QUEUE_SIZE}, median of ${TRIALS} trials of ~${TARGET_MS} ms`,
);
console.log(line(header));
console.log(widths.map((w) => "-".repeat(w)).join("  "));
for (const r of table) console.log(line(r));
