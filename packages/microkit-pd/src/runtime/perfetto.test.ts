import { PassThrough } from "node:stream";
import { gunzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { work } from "../program.js";
import { describeSystem, pdProgram } from "../testing/index.js";
import { type PerfettoTrace, System, type TraceEvent, zeroKernelCosts } from "./index.js";

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
  function streamed(options: { gzip?: boolean; retain: boolean }) {
    const repeatable = { repeat() {} };
    const sys = new System(
      describeSystem({
        pds: [
          { name: "vmm", priority: 100, vm: { name: "vm", priority: 99 } },
          { name: "tick", priority: 120, irqs: [{ id: 0, irq: 40 }] },
        ],
        channels: [
          [
            { pd: "tick", id: 1 },
            { pd: "vmm", id: 1 },
          ],
        ],
      }),
      {
        retainEvents: options.retain,
        programs: {
          "vmm.elf": pdProgram({
            *init(pd) {
              pd.vcpuRestart(0);
            },
            *notified(_ch, pd) {
              pd.vcpuInjectIrq(0, 33);
              yield work("default", 1);
            },
            *fault() {
              yield work("default", 1);
              return { resume: true, repeatable };
            },
          }),
          "tick.elf": pdProgram({
            *notified(ch, pd) {
              pd.irqAck(ch);
              pd.notify(1);
              yield work("us", 1);
            },
          }),
        },
        guests: {
          vm: {
            *run(vcpu) {
              for (;;) {
                yield* vcpu.idle({ pass: work("ns", 200) });
                while (vcpu.takeIrq() !== undefined) yield* vcpu.eoi(33);
              }
            },
          },
        },
      },
    );
    const chunks: Buffer[] = [];
    const out = new PassThrough();
    out.on("data", (chunk: Buffer) => chunks.push(chunk));
    const stream = sys.streamPerfetto(out, options.gzip ? { gzip: true, chunkBytes: 4096 } : {});
    for (let t = 1; t <= 6; t++) {
      sys.at(t * 2_000_000, () => {
        sys.setIrqLevel(40, true);
        sys.setIrqLevel(40, false);
      });
    }
    sys.runUntil(15_000_000);
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
});
