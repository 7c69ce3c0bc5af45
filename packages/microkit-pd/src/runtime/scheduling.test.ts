import { describe, expect, it } from "vitest";
import { work } from "../program.js";
import { pdProgram, type SystemSpec, scenarioSystem } from "../testing/index.js";
import { formatEvent, type RuntimeEvent, type System, type SystemOptions } from "./index.js";

const US = 1000;

const build = scenarioSystem;

function trace(sys: System, keep: (e: RuntimeEvent) => boolean): string[] {
  return sys.log.filter(keep).map(formatEvent);
}

const schedulingEvents = (e: RuntimeEvent): boolean =>
  e.type === "switch" || e.type === "entry" || e.type === "entry-end" || e.type === "signal";

describe("§3.5 T1: a higher-priority wake preempts", () => {
  it("runs H at the instant L notifies it and resumes L right after its notify", () => {
    const sys = build(
      {
        pds: [
          { name: "low", priority: 10 },
          { name: "high", priority: 20 },
        ],
        channels: [
          [
            { pd: "low", id: 1 },
            { pd: "high", id: 2 },
          ],
        ],
      },
      {
        "low.elf": pdProgram({
          *init(pd) {
            yield work("us", 5);
            pd.notify(1);
            yield work("us", 3);
          },
        }),
        "high.elf": pdProgram({
          *notified() {
            yield work("us", 2);
          },
        }),
      },
    );
    expect(sys.runUntilIdle(1e9)).toBe(true);
    expect(trace(sys, schedulingEvents)).toEqual([
      "0 switch idle -> monitor",
      "0 switch monitor -> high",
      "0 high init",
      "0 high end init",
      "0 switch high -> low",
      "0 low init",
      "5000 signal low -> high[2] woken",
      "5000 switch low -> high",
      "5000 high notified(2)",
      "7000 high end notified",
      "7000 switch high -> low",
      "10000 low end init",
      "10000 switch low -> idle",
    ]);
  });

  it("gives the preempted thread back the head of its queue, ahead of an equal-priority peer", () => {
    const busy = pdProgram({
      *init() {
        for (let i = 0; i < 10; i++) yield work("us", 10);
      },
    });
    const sys = build(
      {
        pds: [
          { name: "l1", priority: 10, image: "busy.elf" },
          { name: "l2", priority: 10, image: "l2.elf" },
          { name: "h", priority: 20 },
        ],
        channels: [
          [
            { pd: "l2", id: 0 },
            { pd: "h", id: 0 },
          ],
        ],
      },
      {
        "busy.elf": busy,
        "l2.elf": pdProgram({
          *init(pd) {
            yield work("us", 10);
            pd.notify(0);
            yield work("us", 10);
          },
        }),
        "h.elf": pdProgram({
          *notified() {
            yield work("us", 5);
          },
        }),
      },
    );
    sys.runUntilIdle(1e9);
    const switches = trace(sys, (e) => e.type === "switch").slice(2);
    // capDL boot order puts l2 (alphabetically last) first; after H, l2 continues before l1.
    expect(switches).toEqual([
      "0 switch h -> l2",
      "10000 switch l2 -> h",
      "15000 switch h -> l2",
      "25000 switch l2 -> l1",
      "125000 switch l1 -> idle",
    ]);
  });
});

describe("§3.5 T2: equal priority", () => {
  const spec: SystemSpec = {
    pds: [
      { name: "a", priority: 50 },
      { name: "b", priority: 50 },
    ],
    channels: [
      [
        { pd: "a", id: 1 },
        { pd: "b", id: 2 },
      ],
    ],
  };
  const b = pdProgram({
    *notified(_ch, pd) {
      pd.debug(`b runs at ${pd.now()}`);
      yield work("us", 1);
    },
  });

  it("appends B when running A notifies it; B runs once A blocks", () => {
    const sys = build(spec, {
      "a.elf": pdProgram({
        *init(pd) {
          yield work("us", 10);
          pd.notify(1);
          yield work("us", 10);
        },
      }),
      "b.elf": b,
    });
    sys.runUntilIdle(1e9);
    expect(
      trace(sys, (e) => e.type === "signal" || e.type === "entry" || e.type === "entry-end").slice(
        2,
      ),
    ).toEqual([
      "0 a init",
      "10000 signal a -> b[2] woken",
      "20000 a end init",
      "20000 b notified(2)",
      "21000 b end notified",
    ]);
  });

  it("lets B in when A uses up its cumulative 1 ms slice, then A continues with a fresh slice", () => {
    const sys = build(spec, {
      "a.elf": pdProgram({
        *init(pd) {
          yield work("us", 10);
          pd.notify(1);
          for (let i = 0; i < 300; i++) yield work("us", 10);
        },
      }),
      "b.elf": b,
    });
    sys.runUntilIdle(1e9);
    expect(trace(sys, (e) => e.type === "budget" || e.type === "switch").slice(3)).toEqual([
      "1000000 budget a exhausted",
      "1000000 switch a -> b",
      "1001000 switch b -> a",
      "2001000 budget a exhausted",
      "3001000 budget a exhausted",
      "3011000 switch a -> idle",
    ]);
    expect(sys.thread("a").runTime).toBe(3_010_000);
  });
});

describe("§3.1 a wake in the call that blocks the waker", () => {
  /**
   * C, X and T share priority 10. C runs; X wakes and is queued behind it; then C signals the
   * waiting T either with `notify` (C stays runnable, so T is appended behind X) or with a
   * deferred notify performed by the receive that blocks C (T runs directly, ahead of X).
   */
  function order(deferred: boolean): string[] {
    const sys = build(
      {
        pds: [
          { name: "c", priority: 10, irqs: [{ id: 5, irq: 50, trigger: "edge" }] },
          { name: "x", priority: 10, irqs: [{ id: 5, irq: 51, trigger: "edge" }] },
          { name: "t", priority: 10 },
        ],
        channels: [
          [
            { pd: "c", id: 1 },
            { pd: "t", id: 1 },
          ],
        ],
      },
      {
        "c.elf": pdProgram({
          *notified(_ch, pd) {
            yield work("us", 1);
            if (deferred) pd.deferredNotify(1);
            else pd.notify(1);
          },
        }),
        "x.elf": pdProgram({
          *notified(_ch, pd) {
            pd.debug("x ran");
          },
        }),
        "t.elf": pdProgram({
          *notified(_ch, pd) {
            pd.debug("t ran");
          },
        }),
      },
    );
    const pulse = (irq: number) => () => {
      sys.setIrqLevel(irq, true);
      sys.setIrqLevel(irq, false);
    };
    sys.at(5 * US, pulse(50));
    sys.at(5 * US + 500, pulse(51));
    sys.runUntilIdle(1e9);
    return sys.log.flatMap((e) => (e.type === "debug" ? [`${e.t} ${e.message}`] : []));
  }

  it("appends T behind the queued peer when the running peer stays runnable", () => {
    expect(order(false)).toEqual(["6000 x ran", "6000 t ran"]);
  });

  it("runs T directly, ahead of the queued peer, when the waker blocks in the same call", () => {
    expect(order(true)).toEqual(["6000 t ran", "6000 x ran"]);
  });
});

describe("§2.1 boot order", () => {
  const order = (extra: Partial<SystemOptions>): string[] => {
    const logger = pdProgram({
      *init() {
        yield work("us", 1);
      },
    });
    const sys = build(
      {
        pds: [
          { name: "alpha", priority: 5, image: "p.elf" },
          { name: "beta", priority: 5, image: "p.elf" },
          { name: "gamma", priority: 7, image: "p.elf" },
        ],
      },
      { "p.elf": logger },
      extra,
    );
    sys.runUntilIdle(1e9);
    return sys.log.flatMap((e) => (e.type === "entry" ? [e.thread] : []));
  };

  it("starts the monitor, then PDs by priority, equal priority alphabetically last first (capDL order)", () => {
    expect(order({})).toEqual(["gamma", "beta", "alpha"]);
  });

  it("can start equal-priority PDs in document order instead", () => {
    expect(order({ bootOrder: "document" })).toEqual(["gamma", "alpha", "beta"]);
  });
});

describe("run control and inspection", () => {
  it("reports thread states, priorities and run time", () => {
    const sys = build(
      { pds: [{ name: "spin", priority: 3 }] },
      {
        "spin.elf": pdProgram({
          *init() {
            for (;;) yield work("us", 100);
          },
        }),
      },
    );
    sys.runUntil(250 * US);
    expect(sys.now()).toBe(250 * US);
    expect(sys.thread("spin")).toMatchObject({
      state: "running",
      priority: 3,
      entry: "init",
      runTime: 250 * US,
    });
    expect(sys.thread("monitor")).toMatchObject({ state: "blocked-recv", priority: 255 });
    expect(sys.runEvents(3)).toBe(3);
    expect(sys.runUntilIdle(2_000 * US)).toBe(false);
    expect(sys.now()).toBe(2_000 * US);
  });
});
