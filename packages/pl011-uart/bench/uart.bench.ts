/**
 * Throughput of the PL011 device model + sDDF PL011 driver (no virtualisers), measured
 * against a baseline in the same process:
 *
 * - baseline: the same bytes enqueued into and dequeued from an sDDF serial queue one at a
 *   time with tags (the least per-byte work any path through the driver does);
 * - TX / RX with the line at infinite speed (`timing: "instant"`), hardware and qemu
 *   behaviour: bytes/s of wall-clock time;
 * - real-time factor at 115200 baud: virtual seconds simulated per wall-clock second.
 *
 * - arithmetic TX draining (`exactCharacterEvents: false`) against one event per character:
 *   the real-time factor of device + driver at 115200 with each, and their ratio, in one run.
 *
 * Rows marked "harness" run the driver in a ManualPd on a fake device host (no scheduler, no
 * CPU cost); rows marked "System" run it under the Microkit runtime (scheduler, IRQ masking,
 * default cost model) with stand-ins for the virtualisers.
 */
import { performance } from "node:perf_hooks";
import { SerialQueue } from "@vmmux/sddf-queues";
import { DriverHarness } from "../src/testing/harness.js";
import { uartSystem } from "../src/testing/system.js";

const TOTAL = Number(process.env.VMMUX_BENCH_BYTES ?? 1_000_000);
const CHUNK = 0x8000;

interface Row {
  readonly name: string;
  readonly bytes: number;
  readonly seconds: number;
  readonly virtualSeconds?: number;
}

function baseline(): Row {
  const q = new SerialQueue(new Uint8Array(16), new Uint8Array(0x10000), {
    tags: new Uint32Array(0x10000),
  });
  const start = performance.now();
  let sum = 0;
  for (let sent = 0; sent < TOTAL; ) {
    const n = Math.min(CHUNK, TOTAL - sent);
    for (let i = 0; i < n; i++) q.enqueue((sent + i) & 0xff, sent + i);
    for (let b = q.dequeue(); b !== undefined; b = q.dequeue()) sum += b + q.lastTag;
    sent += n;
  }
  const seconds = (performance.now() - start) / 1000;
  if (sum === -1) console.log(sum);
  return { name: "baseline: sDDF queue enqueue+dequeue", bytes: TOTAL, seconds };
}

function tx(variant: "hardware" | "qemu", timing: "instant" | "baud", total: number): Row {
  const h = new DriverHarness({ device: { variant, timing, recordTransmitted: false } }).init();
  h.host.recordTraces = false;
  let out = 0;
  h.uart.onTransmit(() => {
    out++;
  });
  const chunk = new Uint8Array(CHUNK).map((_, i) => i & 0xff);
  const t0 = h.host.now();
  const start = performance.now();
  for (let sent = 0; sent < total; ) {
    sent += h.transmit(chunk.subarray(0, Math.min(CHUNK, total - sent)));
    h.runToIdle();
  }
  const seconds = (performance.now() - start) / 1000;
  if (out !== total) throw new Error(`tx ${variant}: ${out} of ${total} bytes left the UART`);
  return {
    name: `TX harness, ${variant}, ${timing === "instant" ? "infinite speed" : "115200 8N1"}`,
    bytes: total,
    seconds,
    virtualSeconds: (h.host.now() - t0) / 1e9,
  };
}

function rx(variant: "hardware" | "qemu", timing: "instant" | "baud", total: number): Row {
  const h = new DriverHarness({ device: { variant, timing, recordTransmitted: false } }).init();
  h.host.recordTraces = false;
  const t0 = h.host.now();
  const start = performance.now();
  const burst = new Uint8Array(4096).map((_, i) => i & 0xff);
  for (let sent = 0; sent < total; ) {
    const n = Math.min(burst.length, total - sent);
    h.uart.send(burst.subarray(0, n));
    sent += n;
    h.runToIdle();
    h.received.length = 0;
    h.receivedTags.length = 0;
  }
  const seconds = (performance.now() - start) / 1000;
  const lost = h.uart.counters.rxOverrun;
  if (h.driver.counters.rxBytes + lost !== total) throw new Error(`rx ${variant}: bytes missing`);
  return {
    name: `RX harness, ${variant}, ${timing === "instant" ? "infinite speed" : "115200 8N1"}`,
    bytes: total,
    seconds,
    virtualSeconds: (h.host.now() - t0) / 1e9,
  };
}

function systemTx(): Row {
  const bytes = 57_600; // 5 s of 8N1 at 115200; fits the 64 KiB driver TX queue
  const t = uartSystem({ txBytes: bytes, device: { recordTransmitted: false } });
  let count = 0;
  t.sys.runUntil(0);
  t.uart.onTransmit(() => {
    count++;
  });
  const t0 = t.sys.now();
  const start = performance.now();
  t.sys.runUntil(5_100_000_000);
  const seconds = (performance.now() - start) / 1000;
  if (count !== bytes) throw new Error(`System tx: ${count} of ${bytes} bytes left the UART`);
  const virtualSeconds = (t.sys.now() - t0) / 1e9;
  return { name: "TX System: driver + device, 115200 8N1", bytes, seconds, virtualSeconds };
}

function systemRx(): Row {
  const bytes = 57_600;
  const t = uartSystem({});
  t.sys.runUntil(500_000);
  t.uart.send(new Uint8Array(bytes).map((_, i) => i & 0xff));
  const t0 = t.sys.now();
  const start = performance.now();
  t.sys.runUntil(5_100_000_000);
  const seconds = (performance.now() - start) / 1000;
  if (t.received.length !== bytes) throw new Error(`System rx: ${t.received.length} of ${bytes}`);
  const virtualSeconds = (t.sys.now() - t0) / 1e9;
  return { name: "RX System: device + driver, 115200 8N1", bytes, seconds, virtualSeconds };
}

/** TX at 115200 with a transmit sink, the state machine run at every character end or arithmetic draining (both keep an event per character). */
function drainHarness(exact: boolean, total: number): Row {
  let out = 0;
  const h = new DriverHarness({
    device: { exactCharacterEvents: exact, transmitSink: () => void out++ },
  }).init();
  h.host.recordTraces = false;
  const chunk = new Uint8Array(CHUNK).map((_, i) => i & 0xff);
  const t0 = h.host.now();
  const start = performance.now();
  for (let sent = 0; sent < total; ) {
    sent += h.transmit(chunk.subarray(0, Math.min(CHUNK, total - sent)));
    h.runToIdle();
  }
  h.uart.settle();
  const seconds = (performance.now() - start) / 1000;
  if (out !== total) throw new Error(`drain harness: ${out} of ${total} bytes left the UART`);
  const mode = exact ? "state machine per character end" : "arithmetic drain";
  return {
    name: `TX harness, 115200 8N1, ${mode}`,
    bytes: total,
    seconds,
    virtualSeconds: (h.host.now() - t0) / 1e9,
  };
}

function drainSystem(exact: boolean): Row {
  const bytes = 57_600;
  let out = 0;
  const t = uartSystem({
    txBytes: bytes,
    device: { exactCharacterEvents: exact, transmitSink: () => void out++ },
  });
  t.sys.runUntil(0);
  const t0 = t.sys.now();
  const start = performance.now();
  t.sys.runUntil(5_100_000_000);
  t.uart.settle();
  const seconds = (performance.now() - start) / 1000;
  if (out !== bytes) throw new Error(`drain System: ${out} of ${bytes} bytes left the UART`);
  const virtualSeconds = (t.sys.now() - t0) / 1e9;
  const mode = exact ? "state machine per character end" : "arithmetic drain";
  return { name: `TX System, 115200 8N1, ${mode}`, bytes, seconds, virtualSeconds };
}

/** Medians of five runs of each mode by wall time, the modes alternating (load drifts). */
function medianPair(run: (exact: boolean) => Row): [Row, Row] {
  const exact: Row[] = [];
  const drained: Row[] = [];
  for (let i = 0; i < 5; i++) {
    exact.push(run(true));
    drained.push(run(false));
  }
  const mid = (rows: Row[]) => rows.sort((a, b) => a.seconds - b.seconds)[2]!;
  return [mid(exact), mid(drained)];
}

function fmt(n: number, digits = 2): string {
  return n.toLocaleString("en-US", {
    maximumFractionDigits: digits,
    minimumFractionDigits: digits,
  });
}

function main(): void {
  // Warm up the JIT on a small run of each path.
  baseline();
  tx("hardware", "instant", 50_000);
  rx("hardware", "instant", 50_000);
  const base = baseline();
  const rows = [
    base,
    tx("hardware", "instant", TOTAL),
    tx("qemu", "instant", TOTAL),
    rx("hardware", "instant", TOTAL),
    rx("qemu", "instant", TOTAL),
  ];
  const baseRate = base.bytes / base.seconds;
  console.log(
    `\nPL011 device + driver throughput (${TOTAL.toLocaleString("en-US")} bytes per row)\n`,
  );
  console.log(`${"path".padEnd(48)} ${"MB/s".padStart(9)} ${"vs baseline".padStart(12)}`);
  for (const row of rows) {
    const rate = row.bytes / row.seconds;
    console.log(
      `${row.name.padEnd(48)} ${fmt(rate / 1e6).padStart(9)} ${`${fmt(rate / baseRate, 3)}×`.padStart(12)}`,
    );
  }
  const realTime = [
    tx("hardware", "baud", 115_200),
    rx("hardware", "baud", 115_200),
    systemTx(),
    systemRx(),
  ];
  console.log(`\nReal-time factor at 115200 baud (virtual s per wall-clock s)\n`);
  console.log(
    `${"path".padEnd(48)} ${"virtual s".padStart(10)} ${"wall s".padStart(8)} ${"factor".padStart(9)}`,
  );
  for (const row of realTime) {
    const v = row.virtualSeconds ?? 0;
    console.log(
      `${row.name.padEnd(48)} ${fmt(v, 3).padStart(10)} ${fmt(row.seconds, 3).padStart(8)} ${`${fmt(v / row.seconds, 1)}×`.padStart(9)}`,
    );
  }
  drainHarness(false, 20_000);
  drainSystem(false);
  const pairs: Array<[Row, Row]> = [
    medianPair((exact) => drainHarness(exact, 576_000)),
    medianPair((exact) => drainSystem(exact)),
  ];
  console.log(
    `\nArithmetic TX draining vs one event per character (median of 5 alternating runs each)\n`,
  );
  console.log(
    `${"path".padEnd(52)} ${"virtual s".padStart(10)} ${"wall s".padStart(8)} ${"factor".padStart(9)}`,
  );
  for (const pair of pairs) {
    for (const row of pair) {
      const v = row.virtualSeconds ?? 0;
      console.log(
        `${row.name.padEnd(52)} ${fmt(v, 3).padStart(10)} ${fmt(row.seconds, 3).padStart(8)} ${`${fmt(v / row.seconds, 1)}×`.padStart(9)}`,
      );
    }
    const [exact, drained] = pair;
    const ratio =
      (drained.virtualSeconds ?? 0) /
      drained.seconds /
      ((exact.virtualSeconds ?? 0) / exact.seconds);
    console.log(`${"  real-time factor, arithmetic / per-character".padEnd(52)} ${fmt(ratio, 2)}×`);
  }
}

main();
