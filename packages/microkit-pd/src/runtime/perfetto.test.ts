import { PassThrough } from "node:stream";
import { constants, gunzipSync, inflateRawSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { work } from "../program.js";
import { describeSystem, pdProgram } from "../testing/index.js";
import { raiseTicks, tickedVmSystem } from "../testing/ticked-vm.js";
import {
  type PerfettoStream,
  type PerfettoTrace,
  type RuntimeEvent,
  System,
  type TraceEvent,
  zeroKernelCosts,
} from "./index.js";
import { toPerfetto } from "./perfetto.js";
import { sameShape } from "./perfetto-fold.js";

/**
 * Problems a Chrome Trace Event viewer would have with `events`: missing or non-finite fields per
 * phase, tracks without a name, flows without both ends, and slices on one thread that do not nest
 * (B/E and X must form a proper stack; Perfetto drops or misplaces the rest).
 */
function traceProblems(events: readonly TraceEvent[]): string[] {
  const problems: string[] = [];
  const named = new Set<number>();
  const finite = (x: unknown) => typeof x === "number" && Number.isFinite(x);
  for (const e of events) {
    if (e.ph === "M" && e.name === "thread_name") named.add(e.tid!);
  }
  const stacks = new Map<number, { end: number; open: boolean }[]>();
  const starts = new Map<number, number>();
  events.forEach((e, i) => {
    const at = `event ${i} (${e.ph} '${e.name}')`;
    if (typeof e.name !== "string" || !Number.isInteger(e.pid)) problems.push(`${at}: name/pid`);
    if (e.ph === "M") return;
    if (!finite(e.ts) || e.ts! < 0) problems.push(`${at}: ts ${e.ts}`);
    if (e.ph === "C") {
      for (const v of Object.values(e.args ?? {})) if (!finite(v)) problems.push(`${at}: value`);
      return;
    }
    if (!Number.isInteger(e.tid) || !named.has(e.tid!))
      problems.push(`${at}: unnamed tid ${e.tid}`);
    if (e.ph === "i" && !["t", "p", "g"].includes(e.s ?? "")) problems.push(`${at}: scope`);
    if ((e.ph === "s" || e.ph === "f") && (!Number.isInteger(e.id) || e.cat === undefined))
      problems.push(`${at}: flow id/cat`);
    if (e.ph === "f" && e.bp !== "e") problems.push(`${at}: binding point`);
    if (e.ph === "s") starts.set(e.id!, e.ts!);
    if (e.ph === "f" && !(starts.get(e.id!)! <= e.ts!))
      problems.push(`${at}: flow end before start`);
    const stack = stacks.get(e.tid!) ?? [];
    stacks.set(e.tid!, stack);
    const ts = e.ts!;
    // Completed X slices end where they end; close them before looking at this event.
    while (stack.length > 0 && !stack.at(-1)!.open && stack.at(-1)!.end <= ts) stack.pop();
    if (e.ph === "X") {
      if (!finite(e.dur) || e.dur! < 0) problems.push(`${at}: dur ${e.dur}`);
      const top = stack.at(-1);
      if (top && !top.open && ts + e.dur! > top.end) problems.push(`${at}: overlaps a slice`);
      stack.push({ end: ts + e.dur!, open: false });
    } else if (e.ph === "B") {
      if (stack.some((slice) => !slice.open)) problems.push(`${at}: begins inside an X slice`);
      stack.push({ end: Number.POSITIVE_INFINITY, open: true });
    } else if (e.ph === "E") {
      if (stack.at(-1)?.open !== true) problems.push(`${at}: ends across an X slice`);
      else stack.pop();
    }
  });
  return problems;
}

function pingPong(seed: number): System {
  const sys = new System(
    describeSystem({
      pds: [
        { name: "ping", priority: 10 },
        { name: "pong", priority: 20 },
      ],
      channels: [
        [
          { pd: "ping", id: 0 },
          { pd: "pong", id: 1 },
        ],
      ],
    }),
    {
      seed,
      costModel: zeroKernelCosts,
      programs: {
        "ping.elf": pdProgram({
          *init(pd) {
            pd.notify(0);
            yield work("us", 3);
          },
          *notified(ch, pd) {
            pd.counter("rounds", Math.floor(pd.random() * 100));
            yield work("us", 1 + Math.floor(pd.random() * 5));
            if (pd.now() < 50_000) pd.notify(ch);
          },
        }),
        "pong.elf": pdProgram({
          *notified(ch, pd) {
            yield work("us", 2);
            pd.notify(ch);
          },
        }),
      },
    },
  );
  sys.runUntilIdle(1e9);
  return sys;
}

describe("event log export", () => {
  it("writes Chrome Trace Event JSON with a core track, one track per thread, flows and counters", () => {
    const sys = pingPong(1);
    const trace = sys.toPerfetto();
    const events = trace.traceEvents;
    const names = events
      .filter((e) => e.ph === "M" && e.name === "thread_name")
      .map((e) => e.args?.name);
    expect(names).toEqual([
      "core 0",
      "monitor (monitor, prio 255)",
      "ping (pd, prio 10)",
      "pong (pd, prio 20)",
    ]);
    const core = events.filter((e) => e.ph === "X" && e.tid === 1);
    expect(core.length).toBeGreaterThan(10);
    for (let i = 1; i < core.length; i++) {
      expect(core[i]!.ts!).toBeGreaterThanOrEqual(core[i - 1]!.ts! + core[i - 1]!.dur!);
    }
    const starts = new Set(events.filter((e) => e.ph === "s").map((e) => e.id));
    const finishes = events.filter((e) => e.ph === "f").map((e) => e.id);
    expect(finishes.length).toBeGreaterThan(10);
    for (const id of finishes) expect(starts.has(id)).toBe(true);
    const begins = events.filter((e) => e.ph === "B").length;
    const ends = events.filter((e) => e.ph === "E").length;
    expect(begins).toBe(ends);
    expect(events.some((e) => e.ph === "C" && e.name === "ping.rounds")).toBe(true);
    expect(JSON.parse(JSON.stringify(trace))).toEqual(trace);
    expect(trace.displayTimeUnit).toBe("ns");
    expect(traceProblems(events)).toEqual([]);
  });

  it("nests every slice properly when a signal is the last act of an entry point, deferred or from an IRQ", () => {
    const sys = new System(
      describeSystem({
        pds: [
          { name: "a", priority: 10, irqs: [{ id: 5, irq: 33, trigger: "edge" }] },
          { name: "b", priority: 20 },
        ],
        channels: [
          [
            { pd: "a", id: 0 },
            { pd: "b", id: 1 },
          ],
        ],
      }),
      {
        costModel: zeroKernelCosts,
        programs: {
          "a.elf": pdProgram({
            *init(pd) {
              yield work("us", 1);
              pd.notify(0);
            },
            *notified(ch, pd) {
              yield work("us", 2);
              if (ch === 5) pd.irqAck(5);
              else if (pd.now() < 30_000) pd.notify(ch);
            },
          }),
          "b.elf": pdProgram({
            *notified(ch, pd) {
              yield work("us", 2);
              pd.deferredNotify(ch);
            },
          }),
        },
      },
    );
    sys.at(7_000, () => {
      sys.setIrqLevel(33, true);
      sys.setIrqLevel(33, false);
    });
    sys.runUntilIdle(1e9);
    const events = sys.toPerfetto().traceEvents;
    expect(events.filter((e) => e.ph === "f").length).toBeGreaterThan(10);
    expect(traceProblems(events)).toEqual([]);
  });

  it("exports a NaN counter sample and a bigint device argument without breaking the JSON", () => {
    const sys = new System(
      describeSystem({
        pds: [{ name: "drv", priority: 10, maps: [{ mr: "regs" }] }],
        regions: [{ name: "regs", size: 0x1000, physAddr: 0x900_0000 }],
      }),
      {
        costModel: zeroKernelCosts,
        devices: {
          regs: (host) => ({
            read: () => 0,
            write: (_offset, _width, value) => host.trace("reg", { value: BigInt(value) << 40n }),
          }),
        },
        programs: {
          "drv.elf": pdProgram({
            *init(pd) {
              pd.counter("depth", Number.NaN);
              pd.counter("depth", 3);
              pd.mmio("regs").write(0, 4, 1);
              yield work("us", 1);
            },
          }),
        },
      },
    );
    sys.runUntilIdle(1e9);
    const trace = sys.toPerfetto();
    const text = JSON.stringify(trace);
    expect(JSON.parse(text).traceEvents).toHaveLength(trace.traceEvents.length);
    expect(trace.traceEvents.filter((e) => e.ph === "C").map((e) => e.args)).toEqual([
      { value: 3 },
    ]);
    expect(trace.traceEvents.some((e) => e.name === "drv.depth = NaN")).toBe(true);
    expect(trace.traceEvents.find((e) => e.name === "reg")?.args).toEqual({
      value: String(1n << 40n),
    });
    expect(traceProblems(trace.traceEvents)).toEqual([]);
  });

  it("gives an identical log for the same seed and a different one for another seed", () => {
    expect(JSON.stringify(pingPong(7).log)).toBe(JSON.stringify(pingPong(7).log));
    expect(JSON.stringify(pingPong(8).log)).not.toBe(JSON.stringify(pingPong(7).log));
  });
});

describe("fast-forwarded idle runs in the export", () => {
  /** One VMM and an idle guest whose WFIs it answers at once, repeatably. */
  function idleGuest(fastForward: boolean): System {
    const repeatable = { repeat() {} };
    const sys = new System(
      describeSystem({ pds: [{ name: "vmm", priority: 100, vm: { name: "vm", priority: 99 } }] }),
      {
        fastForward,
        programs: {
          "vmm.elf": pdProgram({
            *init(pd) {
              pd.vcpuRestart(0);
            },
            *fault() {
              yield work("default", 1);
              return { resume: true, repeatable };
            },
          }),
        },
        guests: {
          vm: {
            *run(vcpu) {
              yield* vcpu.idle({ pass: work("ns", 200) });
            },
          },
        },
      },
    );
    sys.runUntil(20_000_000);
    return sys;
  }

  it("shows a run of identical idle periods as one core slice with its count", () => {
    const trace = idleGuest(true).toPerfetto();
    const events = trace.traceEvents;
    expect(traceProblems(events)).toEqual([]);
    const idle = events.filter((e) => e.ph === "X" && e.tid === 1 && e.cat === "idle");
    expect(idle.length).toBeGreaterThan(0);
    const covered = idle.reduce((sum, e) => sum + e.dur!, 0);
    expect(covered).toBeGreaterThan(19_000); // µs of the 20 ms run
    expect(idle[0]!.name).toMatch(/^idle ×\d+$/);
    expect(idle[0]!.args?.count).toBeGreaterThan(1);
    const full = idleGuest(false).toPerfetto().traceEvents;
    expect(events.length * 100).toBeLessThan(full.length);
  });
});

describe("streaming export", () => {
  /** A VMM answering an idle guest, plus a ticking PD that signals it: flows, entries, idle runs. */
  function streamed(options: {
    gzip?: boolean;
    retain: boolean;
    /** IRQs raised, one every 2 ms (default 6). */
    ticks?: number;
    /** Called after the run, before the stream is closed. */
    beforeClose?: (stream: PerfettoStream, written: () => Buffer) => void;
  }) {
    const sys = tickedVmSystem({ retainEvents: options.retain });
    const chunks: Buffer[] = [];
    const out = new PassThrough();
    out.on("data", (chunk: Buffer) => chunks.push(chunk));
    const stream = sys.streamPerfetto(
      out,
      options.gzip ? { gzip: true, chunkBytes: 4096, gzipChunkBytes: 8192 } : {},
    );
    const ticks = options.ticks ?? 6;
    raiseTicks(sys, ticks, 2_000_000);
    sys.runUntil((2 * ticks + 3) * 1_000_000);
    options.beforeClose?.(stream, () => Buffer.concat(chunks));
    return { sys, chunks, done: stream.close(sys.now()) };
  }

  it("writes, as the run goes, the trace toPerfetto builds from the retained log", async () => {
    const plain = streamed({ retain: true });
    await plain.done;
    const text = Buffer.concat(plain.chunks).toString("utf8");
    const trace = JSON.parse(text) as PerfettoTrace;
    expect(trace).toEqual(plain.sys.toPerfetto());
    expect(traceProblems(trace.traceEvents)).toEqual([]);
    expect(trace.traceEvents.some((e) => e.cat === "idle")).toBe(true);
    expect(trace.traceEvents.some((e) => e.ph === "f")).toBe(true);
  });

  it("keeps no log when told not to, and gzips on request", async () => {
    const kept = streamed({ retain: true });
    await kept.done;
    const lean = streamed({ retain: false, gzip: true });
    await lean.done;
    expect(lean.sys.log).toEqual([]);
    const text = gunzipSync(Buffer.concat(lean.chunks)).toString("utf8");
    expect(JSON.parse(text)).toEqual(kept.sys.toPerfetto());
  });

  it("gzips as the run goes: all but the compressor's one chunk is out before close", async () => {
    const plain = streamed({ retain: false, ticks: 60 });
    await plain.done;
    const json = Buffer.concat(plain.chunks);
    let held = -1;
    const lean = streamed({
      retain: false,
      gzip: true,
      ticks: 60,
      beforeClose: (stream, written) => {
        const gzip = stream.gzip!;
        held = gzip.buffered;
        expect(gzip.peakBuffered).toBeLessThanOrEqual(8192);
        expect(gzip.bytesIn).toBeGreaterThan(4 * 8192);
        // The compressed bytes `out` has are the trace's text up to what is held.
        const sofar = inflateRawSync(written().subarray(10), {
          finishFlush: constants.Z_SYNC_FLUSH,
        });
        expect(sofar.equals(json.subarray(0, gzip.bytesIn - held))).toBe(true);
      },
    });
    await lean.done;
    expect(held).toBeGreaterThanOrEqual(0);
    expect(gunzipSync(Buffer.concat(lean.chunks)).equals(json)).toBe(true);
  });
});

describe("folded export", () => {
  /**
   * Two VMMs whose idle guests trap on WFI (answered at once) and share the core on equal
   * priorities, a ticking PD that signals one VMM, and a UART-like device tracing a byte per
   * line time in bursts: trap cycles, turns of the two guests, notifications and device runs.
   */
  function busy(fastForward: boolean, retainEvents = true) {
    const repeatable = { repeat() {} };
    const vmm = {
      *init(pd: Parameters<NonNullable<Parameters<typeof pdProgram>[0]["init"]>>[0]) {
        pd.vcpuRestart(0);
      },
      *notified() {
        yield work("default", 1);
      },
      *fault() {
        yield work("default", 1);
        return { resume: true, repeatable };
      },
    };
    const sys = new System(
      describeSystem({
        pds: [
          { name: "vmm1", priority: 100, vm: { name: "vm1", priority: 99 } },
          { name: "vmm2", priority: 100, vm: { name: "vm2", priority: 99 } },
          { name: "tick", priority: 120, irqs: [{ id: 0, irq: 40 }], maps: [{ mr: "uart" }] },
        ],
        channels: [
          [
            { pd: "tick", id: 1 },
            { pd: "vmm1", id: 1 },
          ],
        ],
        regions: [{ name: "uart", size: 0x1000, physAddr: 0x900_0000 }],
      }),
      {
        fastForward,
        retainEvents,
        devices: {
          uart: (host) => ({
            read: () => 0,
            write: (_offset, _width, value) => {
              // A burst of bytes at the line rate, then silence.
              for (let i = 0; i < 40; i++) {
                host.at(host.now() + 87_000 * (i + 1), () =>
                  host.trace("tx", { byte: 0x61 + ((value + i) % 26), kind: "byte" }),
                );
              }
            },
          }),
        },
        programs: {
          "vmm1.elf": pdProgram(vmm),
          "vmm2.elf": pdProgram(vmm),
          "tick.elf": pdProgram({
            *notified(ch, pd) {
              pd.irqAck(ch);
              pd.notify(1);
              pd.mmio("uart").write(0, 4, Math.floor(pd.now() / 1e6));
              yield work("us", 1);
            },
          }),
        },
        guests: {
          vm1: {
            *run(vcpu) {
              yield* vcpu.idle({ pass: work("ns", 300) });
            },
          },
          vm2: {
            *run(vcpu) {
              yield* vcpu.idle({ pass: work("ns", 300) });
            },
          },
        },
      },
    );
    for (let t = 1; t <= 4; t++) {
      sys.at(t * 5_000_000, () => {
        sys.setIrqLevel(40, true);
        sys.setIrqLevel(40, false);
      });
    }
    return sys;
  }

  const threadsOf = (sys: System) =>
    sys.threads().map((t) => ({ name: t.name, kind: t.kind, priority: t.priority }));

  /** Ns each thread held the core, read back from a trace's core track. */
  function coreTime(events: readonly TraceEvent[]): Map<string, number> {
    const time = new Map<string, number>();
    const add = (name: string, ns: number) => time.set(name, (time.get(name) ?? 0) + ns);
    for (const e of events) {
      if (e.ph !== "X" || e.tid !== 1) continue;
      const ran = e.args?.ran_ns as Record<string, number> | undefined;
      if (ran !== undefined) for (const [name, ns] of Object.entries(ran)) add(name, ns);
      else add(e.name, e.dur! * 1000);
    }
    return time;
  }

  it("folds idle loops and device runs into a trace a viewer reads, each thread's core time kept", () => {
    const sys = busy(false);
    sys.runUntil(25_000_000);
    const full = toPerfetto(sys.log, threadsOf(sys), sys.now()).traceEvents;
    const folded = toPerfetto(sys.log, threadsOf(sys), sys.now(), { fold: true }).traceEvents;
    expect(traceProblems(folded)).toEqual([]);
    expect(folded.length * 50).toBeLessThan(full.length);
    // Idle guests spinning through WFI exits their VMMs answer: one slice per stretch.
    const idle = folded.filter((e) => e.tid === 1 && e.cat === "idle");
    expect(idle.some((e) => /^idle: .*vm1:vcpu0/.test(e.name))).toBe(true);
    expect(idle.length * 20).toBeLessThan(full.filter((e) => e.name.startsWith("fault →")).length);
    const [a, b] = [coreTime(full), coreTime(folded)];
    expect([...b.keys()].sort()).toEqual([...a.keys()].sort());
    for (const [name, ns] of a) expect(b.get(name)).toBeCloseTo(ns, -1);
    // Notifications are never folded: every flow survives with both ends.
    const flows = (events: readonly TraceEvent[]) =>
      events.filter((e) => e.ph === "s" || e.ph === "f").map((e) => `${e.ph}${e.id}`);
    expect(flows(folded)).toEqual(flows(full));
    // A burst of 40 bytes at the line rate is one slice with its count and text.
    const runs = folded.filter((e) => e.cat === "fold" && e.name.startsWith("tx ×"));
    expect(runs.map((e) => e.args?.count)).toEqual([40, 40, 40, 40]);
    expect(runs[0]!.args?.text).toMatch(/^[a-z]{40}$/);
    expect(runs[0]!.dur).toBeCloseTo(39 * 87, 6);
  });

  it("folds a fast-forwarded run into the very trace of the run simulated trap by trap", () => {
    const run = (fastForward: boolean) => {
      const sys = busy(fastForward);
      sys.runUntil(25_000_000);
      return { sys, folded: toPerfetto(sys.log, threadsOf(sys), sys.now(), { fold: true }) };
    };
    const leapt = run(true);
    const simulated = run(false);
    expect(leapt.sys.log.some((e) => e.type === "idle")).toBe(true);
    expect(traceProblems(leapt.folded.traceEvents)).toEqual([]);
    expect(leapt.folded).toEqual(simulated.folded);
  });

  it("streams the folded trace toPerfetto folds from the kept log", async () => {
    const run = async (retain: boolean) => {
      const sys = busy(false, retain);
      const chunks: Buffer[] = [];
      const out = new PassThrough();
      out.on("data", (chunk: Buffer) => chunks.push(chunk));
      const stream = sys.streamPerfetto(out, { fold: true });
      sys.runUntil(25_000_000);
      await stream.close(sys.now());
      return { sys, trace: JSON.parse(Buffer.concat(chunks).toString("utf8")) as PerfettoTrace };
    };
    const kept = await run(true);
    const lean = await run(false);
    expect(lean.sys.log).toEqual([]);
    expect(lean.trace).toEqual(kept.trace);
    expect(kept.trace).toEqual(
      toPerfetto(kept.sys.log, threadsOf(kept.sys), kept.sys.now(), { fold: true }),
    );
  });

  it("tells cycles apart by every field but time", () => {
    const at = (t: number, to: string): RuntimeEvent => ({ t, type: "switch", from: "a", to });
    expect(sameShape(at(1, "b"), at(2, "b"))).toBe(true);
    expect(sameShape(at(1, "b"), at(1, "c"))).toBe(false);
    const fault = (t: number, address: number): RuntimeEvent => ({
      t,
      type: "fault",
      thread: "a",
      handler: "vmm",
      fault: { kind: "vcpu", vcpuId: 0, exit: { kind: "mmio-read", address, width: 4 } },
    });
    expect(sameShape(fault(1, 0x10), fault(9, 0x10))).toBe(true);
    expect(sameShape(fault(1, 0x10), fault(1, 0x14))).toBe(false);
    const signal = (t: number, id: number): RuntimeEvent => ({
      t,
      type: "signal",
      id,
      from: "a",
      to: "b",
      ch: 1,
      outcome: "woken",
    });
    // A notification never folds: its flow arrow needs its own id.
    expect(sameShape(signal(1, 1), signal(1, 1))).toBe(false);
  });

  it("folds the turns of two idle guests taking the core in turn once more", () => {
    // The log of two guests whose WFIs their VMMs answer, each for 5 traps, then its budget runs out.
    const log: RuntimeEvent[] = [];
    let t = 0;
    for (let turn = 0; turn < 12; turn++) {
      const [g, other] = turn % 2 === 0 ? ["a", "b"] : ["b", "a"];
      const vmm = `vmm_${g}`;
      for (let k = 0; k < 5; k++) {
        const fault = { kind: "vcpu", vcpuId: 0, exit: { kind: "wfi" } } as const;
        const at = t + 2000;
        log.push({ t: at, type: "fault", thread: g, handler: vmm, fault });
        log.push({ t: at, type: "switch", from: g, to: vmm });
        log.push({ t: at + 100, type: "entry", thread: vmm, entry: "fault", ch: 0 });
        log.push({ t: at + 200, type: "entry-end", thread: vmm, entry: "fault" });
        log.push({ t: at + 200, type: "reply", from: vmm, to: g });
        log.push({ t: at + 200, type: "switch", from: vmm, to: g });
        t = at + 200;
      }
      t += 500;
      log.push({ t, type: "budget", thread: g, sc: `sc_${g}`, action: "exhausted" });
      log.push({ t, type: "switch", from: g, to: other });
    }
    const threads = ["a", "b", "vmm_a", "vmm_b"].map((name) => ({
      name,
      kind: "vcpu",
      priority: 1,
    }));
    const full = toPerfetto(log, threads, t + 1000).traceEvents;
    const folded = toPerfetto(log, threads, t + 1000, { fold: true }).traceEvents;
    expect(traceProblems(folded)).toEqual([]);
    const turns = folded.filter((e) => e.tid === 1 && e.name.split(" ⇄ ").length === 4);
    expect(turns).toHaveLength(1);
    expect(turns[0]!.args?.count).toBeGreaterThanOrEqual(4);
    const [x, y] = [coreTime(full), coreTime(folded)];
    for (const [name, ns] of x) expect(y.get(name)).toBeCloseTo(ns, -1);
    expect(folded.filter((e) => e.tid === 1).length).toBeLessThan(12);
  });
});
