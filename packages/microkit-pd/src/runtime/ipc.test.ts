import { describe, expect, it } from "vitest";
import type { FaultMessage } from "../program.js";
import { work } from "../program.js";
import { pdProgram, type SystemSpec, scenarioSystem } from "../testing/index.js";
import { formatEvent, RuntimeError, type System, type SystemOptions } from "./index.js";

const US = 1000;

const build = scenarioSystem;

function entries(sys: System, thread: string): string[] {
  return sys.log.flatMap((e) =>
    e.type === "entry" && e.thread === thread
      ? [`${e.t} ${e.entry}${e.ch === undefined ? "" : `(${e.ch})`}`]
      : [],
  );
}

const pulse = (sys: System, irq: number) => () => {
  sys.setIrqLevel(irq, true);
  sys.setIrqLevel(irq, false);
};

describe("§4.3.2 receive priorities", () => {
  it("serves a pending notification before queued callers, and callers by priority then FIFO", () => {
    const caller = pdProgram({
      *init(pd) {
        yield* pd.ppcall(0, { label: 0, count: 0 });
      },
    });
    const sys = build(
      {
        pds: [
          { name: "s", priority: 50, budget: 100, period: 1000 },
          { name: "c1", priority: 10, image: "caller.elf" },
          { name: "c2", priority: 20, image: "caller.elf" },
          { name: "c3", priority: 20, image: "caller.elf" },
          { name: "n", priority: 5 },
        ],
        channels: [
          [
            { pd: "c1", id: 0, pp: true },
            { pd: "s", id: 1 },
          ],
          [
            { pd: "c2", id: 0, pp: true },
            { pd: "s", id: 2 },
          ],
          [
            { pd: "c3", id: 0, pp: true },
            { pd: "s", id: 3 },
          ],
          [
            { pd: "n", id: 0 },
            { pd: "s", id: 9 },
          ],
        ],
      },
      {
        // S exhausts its 100 µs budget inside init and is throttled until 1000 µs, while the
        // lower-priority callers queue on its endpoint and N signals it.
        "s.elf": pdProgram({
          *init() {
            for (let i = 0; i < 15; i++) yield work("us", 10);
          },
          *notified() {},
          *protected() {
            return { label: 0, count: 0 };
          },
        }),
        "caller.elf": caller,
        "n.elf": pdProgram({
          *init(pd) {
            pd.notify(0);
          },
        }),
      },
    );
    sys.runUntilIdle(1e9);
    expect(entries(sys, "s")).toEqual([
      "0 init",
      "1050000 notified(9)",
      "1050000 protected(3)",
      "1050000 protected(2)",
      "1050000 protected(1)",
    ]);
    expect(sys.log.filter((e) => e.type === "reply").map(formatEvent)).toEqual([
      "1050000 reply s -> c3",
      "1050000 reply s -> c2",
      "1050000 reply s -> c1",
    ]);
    expect(sys.log.filter((e) => e.type === "budget").map(formatEvent)).toEqual([
      "100000 budget s exhausted",
      "100000 budget s throttled",
      "1000000 budget s released",
    ]);
  });
});

describe("§3.5 T4: PPC into a passive server", () => {
  const spec = (passive: boolean): SystemSpec => ({
    pds: [
      { name: "c", priority: 10 },
      { name: "s", priority: 20, passive, budget: 100 },
      { name: "n", priority: 30, irqs: [{ id: 0, irq: 60, trigger: "edge" }] },
    ],
    channels: [
      [
        { pd: "c", id: 0, pp: true },
        { pd: "s", id: 0 },
      ],
      [
        { pd: "n", id: 1 },
        { pd: "c", id: 5 },
      ],
    ],
  });
  const programs: SystemOptions["programs"] = {
    "c.elf": pdProgram({
      *init(pd) {
        for (let i = 0; i < 8; i++) yield work("us", 100);
        pd.mrSet(0, 42n);
        const reply = yield* pd.ppcall(0, { label: 7, count: 1 });
        pd.debug(`reply label ${reply.label} count ${reply.count} mr0 ${pd.mrGet(0)}`);
        yield work("us", 10);
      },
      *notified() {},
    }),
    "s.elf": pdProgram({
      *protected(ch, msg, pd) {
        pd.debug(`call on ${ch} label ${msg.label} mr0 ${pd.mrGet(0)}`);
        for (let i = 0; i < 50; i++) yield work("us", 10);
        pd.mrSet(0, pd.mrGet(0) + 1n);
        return { label: 3, count: 1 };
      },
    }),
    "n.elf": pdProgram({
      *notified(_ch, pd) {
        pd.notify(1);
      },
    }),
  };

  it("runs the server on the caller's SC and does not wake the caller blocked in ppcall for its notification", () => {
    const sys = build(spec(true), programs);
    sys.at(900 * US, pulse(sys, 60));
    sys.runUntilIdle(1e9);
    expect(sys.thread("s").passive).toBe(true);
    // C's slice (800 µs used before the call) ends inside S at 1000 µs; S is alone at 20 and goes on.
    expect(
      sys.log
        .filter((e) => e.type === "budget")
        .map((e) => (e.type === "budget" ? `${e.t} ${e.thread} ${e.sc} ${e.action}` : "")),
    ).toEqual(["1000000 s sc_c exhausted"]);
    const signal = sys.log.find((e) => e.type === "signal" && e.from === "n");
    expect(signal && signal.type === "signal" ? signal.outcome : undefined).toBe("pending");
    expect(entries(sys, "c")).toEqual(["0 init", "1310000 notified(5)"]);
    const debug = sys.log.flatMap((e) => (e.type === "debug" ? [e.message] : []));
    expect(debug).toContain("call on 0 label 7 mr0 42");
    expect(debug).toContain("reply label 3 count 1 mr0 43");
  });

  it("runs an active server on its own SC", () => {
    const sys = build(spec(false), programs);
    sys.runUntilIdle(1e9);
    const exhausted = sys.log.flatMap((e) =>
      e.type === "budget" ? [`${e.t} ${e.thread} ${e.sc}`] : [],
    );
    expect(exhausted.slice(0, 2)).toEqual(["900000 s sc_s", "1000000 s sc_s"]);
  });

  it("rejects at load a PPC to a PD of equal priority", () => {
    const attempt = () =>
      build(
        {
          pds: [
            { name: "c", priority: 20 },
            { name: "s", priority: 20 },
          ],
          channels: [
            [
              { pd: "c", id: 0, pp: true },
              { pd: "s", id: 0 },
            ],
          ],
        },
        programs,
      );
    expect(attempt).toThrow(RuntimeError);
    expect(attempt).toThrow(
      /strictly higher priorities; channel with PPC exists from pd c \(priority: 20\) to pd s/,
    );
  });
});

describe("§4.3.9 faults", () => {
  it("kills a root PD that stores through a read-only mapping: fault to the monitor, never runs again", () => {
    const sys = build(
      {
        pds: [
          {
            name: "bad",
            priority: 10,
            maps: [{ mr: "ro", perms: "r" }],
            irqs: [{ id: 1, irq: 70, trigger: "edge" }],
          },
        ],
        regions: [{ name: "ro" }],
      },
      {
        "bad.elf": pdProgram({
          *notified(_ch, pd) {
            pd.memory("ro").store8(4, 0xff);
            yield work("us", 1);
          },
        }),
      },
    );
    sys.at(10 * US, pulse(sys, 70));
    sys.at(20 * US, pulse(sys, 70));
    sys.runUntilIdle(1e9);
    const fault = sys.log.find((e) => e.type === "fault");
    expect(fault).toMatchObject({
      thread: "bad",
      handler: "monitor",
      fault: { kind: "memory", region: "ro", offset: 4, write: true },
    });
    expect(sys.thread("bad").state).toBe("dead");
    expect(sys.memory("ro")[4]).toBe(0);
    expect(entries(sys, "bad")).toEqual(["0 init", "10000 notified(1)"]);
  });

  const childSpec: SystemSpec = {
    pds: [
      {
        name: "parent",
        priority: 50,
        children: [{ name: "kid", id: 3, priority: 10, maps: [{ mr: "ro", perms: "r" }] }],
      },
    ],
    channels: [
      [
        { pd: "parent", id: 0 },
        { pd: "kid", id: 0 },
      ],
    ],
    regions: [{ name: "ro" }],
  };
  const kid = pdProgram({
    *init(pd) {
      yield work("us", 5);
      pd.memory("ro").store32(0, 1);
    },
    *notified(_ch, pd) {
      pd.debug("kid notified");
    },
  });

  it("delivers a child's fault to its parent's fault entry point; a reply resumes the child", () => {
    const faults: FaultMessage[] = [];
    const sys = build(childSpec, {
      "kid.elf": kid,
      "parent.elf": pdProgram({
        *fault(child, msg, pd) {
          faults.push(msg);
          pd.debug(`child ${child} faulted`);
          yield work("us", 2);
          pd.notify(0);
          return { resume: true };
        },
      }),
    });
    sys.runUntilIdle(1e9);
    expect(faults).toEqual([{ kind: "memory", region: "ro", offset: 0, write: true }]);
    expect(entries(sys, "parent")).toEqual(["0 init", "5000 fault(3)"]);
    expect(entries(sys, "kid")).toEqual(["0 init", "7000 notified(0)"]);
    expect(sys.thread("kid").state).toBe("blocked-recv");
  });

  it("leaves a child whose fault is not replied to inactive after the parent's next receive", () => {
    const sys = build(childSpec, {
      "kid.elf": kid,
      "parent.elf": pdProgram({
        *fault() {
          return { resume: false };
        },
      }),
    });
    sys.runUntilIdle(1e9);
    expect(sys.thread("kid").state).toBe("inactive");
  });

  it("faults a PD that receives a PPC without a protected entry point (libmicrokit weak stub)", () => {
    const sys = build(
      {
        pds: [
          { name: "c", priority: 1 },
          { name: "s", priority: 2 },
        ],
        channels: [
          [
            { pd: "c", id: 0, pp: true },
            { pd: "s", id: 0 },
          ],
        ],
      },
      {
        "c.elf": pdProgram({
          *init(pd) {
            yield* pd.ppcall(0, { label: 0, count: 0 });
          },
        }),
        "s.elf": pdProgram({}),
      },
    );
    sys.runUntilIdle(1e9);
    expect(sys.thread("s").state).toBe("dead");
    expect(sys.thread("c").state).toBe("blocked-reply");
  });
});

describe("§4.3.13 passive hand-over and shared memory", () => {
  it("makes a passive PD passive through the monitor after init; notifications then run on its own SC", () => {
    const sys = build(
      {
        pds: [
          { name: "srv", priority: 20, passive: true, budget: 50, period: 1000 },
          { name: "cli", priority: 5 },
        ],
        channels: [
          [
            { pd: "cli", id: 0 },
            { pd: "srv", id: 0 },
          ],
        ],
      },
      {
        "srv.elf": pdProgram({
          *notified() {
            for (let i = 0; i < 10; i++) yield work("us", 10);
          },
        }),
        "cli.elf": pdProgram({
          *init(pd) {
            pd.notify(0);
          },
        }),
      },
    );
    sys.runUntilIdle(1e9);
    expect(sys.thread("srv").passive).toBe(true);
    expect(sys.log.map(formatEvent)).toContain("0 debug monitor 'srv' is now passive");
    // 100 µs of work on a 50/1000 sporadic SC lent by the notification: 50 µs per period.
    expect(sys.log.filter((e) => e.type === "budget").map(formatEvent)).toEqual([
      "50000 budget srv exhausted",
      "50000 budget srv throttled",
      "1000000 budget srv released",
      "1050000 budget srv exhausted",
      "1050000 budget srv throttled",
      "2000000 budget srv released",
    ]);
    expect(entries(sys, "srv")).toEqual(["0 init", "0 notified(0)"]);
  });

  it("shares a region between PDs and enforces each mapping's permissions separately", () => {
    const seen: number[] = [];
    const sys = build(
      {
        pds: [
          { name: "writer", priority: 9, maps: [{ mr: "shm", perms: "rw" }] },
          { name: "reader", priority: 8, maps: [{ mr: "shm", perms: "r" }] },
        ],
        regions: [{ name: "shm", size: 0x2000 }],
      },
      {
        "writer.elf": pdProgram({
          *init(pd) {
            pd.memory("shm").store32(0x1000, 0xdead_beef);
          },
        }),
        "reader.elf": pdProgram({
          *init(pd) {
            const shm = pd.memory("shm");
            seen.push(shm.load32(0x1000), shm.size, Number(shm.perms.write));
            shm.writable();
          },
        }),
      },
      { sharedMemory: true },
    );
    sys.runUntilIdle(1e9);
    expect(seen).toEqual([0xdead_beef, 0x2000, 0]);
    expect(sys.thread("reader").state).toBe("dead");
    expect(sys.memory("shm").buffer).toBeInstanceOf(SharedArrayBuffer);
  });
});

describe("§2.5 nested PPCs and §2.6 deferred ops of a passive PD's init", () => {
  it("chains calls upward through passive servers, all on the first caller's SC", () => {
    const sys = build(
      {
        pds: [
          { name: "a", priority: 10 },
          { name: "b", priority: 20, passive: true, budget: 10 },
          { name: "c", priority: 30, passive: true, budget: 10 },
        ],
        channels: [
          [
            { pd: "a", id: 0, pp: true },
            { pd: "b", id: 0 },
          ],
          [
            { pd: "b", id: 1, pp: true },
            { pd: "c", id: 0 },
          ],
        ],
      },
      {
        "a.elf": pdProgram({
          *init(pd) {
            yield work("us", 900);
            const reply = yield* pd.ppcall(0, { label: 1, count: 0 });
            pd.debug(`a got ${reply.label}`);
          },
        }),
        "b.elf": pdProgram({
          *protected(_ch, msg, pd) {
            const inner = yield* pd.ppcall(1, { label: msg.label + 1, count: 0 });
            return { label: inner.label + 1, count: 0 };
          },
        }),
        "c.elf": pdProgram({
          *protected(_ch, msg) {
            for (let i = 0; i < 20; i++) yield work("us", 10);
            return { label: msg.label + 1, count: 0 };
          },
        }),
      },
    );
    sys.runUntilIdle(1e9);
    expect(sys.log.map(formatEvent)).toContain("1100000 debug a a got 4");
    // A's slice (900 µs used) runs out inside C at 1000 µs: C is charged on A's SC, not its own.
    expect(
      sys.log.flatMap((e) => (e.type === "budget" ? [`${e.t} ${e.thread} ${e.sc}`] : [])),
    ).toEqual(["1000000 c sc_a"]);
  });

  it("loses a deferred notify issued in a passive PD's init: the hand-over takes the slot", () => {
    const sys = build(
      {
        pds: [
          { name: "srv", priority: 20, passive: true },
          { name: "peer", priority: 5 },
        ],
        channels: [
          [
            { pd: "srv", id: 0 },
            { pd: "peer", id: 0 },
          ],
        ],
      },
      {
        "srv.elf": pdProgram({
          *init(pd) {
            pd.deferredNotify(0);
          },
        }),
        "peer.elf": pdProgram({}),
      },
    );
    sys.runUntilIdle(1e9);
    expect(entries(sys, "peer")).toEqual(["0 init"]);
    expect(sys.log.map(formatEvent)).toContain("0 deferred srv notify(0) overwritten");
  });
});
