import { describe, expect, it } from "vitest";
import type { GuestProgram, PdContext, PdProgram, PreemptionPoint } from "../program.js";
import { work } from "../program.js";
import { parseSystemDescription, SdfError } from "../sdf/index.js";
import { describeSystem, pdProgram, type SystemSpec } from "../testing/index.js";
import {
  DEFAULT_IDLE_LIMIT_NS,
  type RuntimeEvent,
  System,
  type SystemOptions,
  zeroKernelCosts,
} from "./index.js";
import { THREAD_ZERO_STEP_LIMIT } from "./kernel.js";
import { API_CALLS_PER_POINT } from "./threads.js";

/** A hostile PD beside a well-behaved one that keeps ticking on an IRQ. */
const spec: SystemSpec = {
  pds: [
    { name: "bad", priority: 50, irqs: [{ id: 3, irq: 40, trigger: "edge" }] },
    { name: "good", priority: 10, irqs: [{ id: 2, irq: 41, trigger: "edge" }] },
  ],
  channels: [
    [
      { pd: "bad", id: 1 },
      { pd: "good", id: 1 },
    ],
  ],
};

const good = pdProgram({
  *notified(ch, pd) {
    yield work("us", 1);
    pd.debug(`good ${ch}`);
    pd.irqAck(ch);
  },
});

function run(bad: PdProgram, extra: Partial<SystemOptions> = {}): System {
  const sys = new System(describeSystem(spec), {
    costModel: zeroKernelCosts,
    programs: { "bad.elf": bad, "good.elf": good },
    ...extra,
  });
  for (const t of [100_000, 200_000]) {
    sys.at(t, () => {
      sys.setIrqLevel(41, true);
      sys.setIrqLevel(41, false);
    });
  }
  expect(sys.runUntilIdle(1e9)).toBe(true);
  return sys;
}

const faults = (sys: System) =>
  sys.log.flatMap((e: RuntimeEvent) =>
    e.type === "fault" && e.fault.kind === "exception" ? [`${e.thread}: ${e.fault.message}`] : [],
  );
const debugs = (sys: System, thread: string) =>
  sys.log.flatMap((e) => (e.type === "debug" && e.thread === thread ? [e.message] : []));

/** The hostile PD faulted to the monitor and is dead; the good PD still served both IRQs. */
function expectContained(sys: System, message: string): void {
  expect(faults(sys)).toEqual([`bad: ${message}`]);
  expect(sys.thread("bad").state).toBe("dead");
  expect(debugs(sys, "good")).toEqual(["good 2", "good 2"]);
}

describe("hostile PD programs are contained", () => {
  it("turns an exception thrown by init into a fault to the monitor", () => {
    const sys = run(
      pdProgram({
        *init() {
          throw new Error("boom");
        },
      }),
    );
    expectContained(sys, "boom");
  });

  it("faults a PD whose entry point is a plain function instead of a generator", () => {
    const sys = run({
      init: (() => undefined) as unknown as PdProgram["init"],
      *notified() {},
    });
    expectContained(
      sys,
      "entry point init of 'bad' did not return a generator (write it as `*init(...)`)",
    );
  });

  it("faults a PD that yields undefined instead of a preemption point", () => {
    const sys = run(
      pdProgram({
        *init() {
          yield undefined as unknown as PreemptionPoint;
        },
      }),
    );
    expectContained(sys, "yielded undefined where a preemption point { kind, units } was expected");
  });

  it.each([
    [-5, "-5"],
    [Number.NaN, "NaN"],
    [Number.POSITIVE_INFINITY, "Infinity"],
  ])("faults a PD that yields %s units", (units, shown) => {
    const sys = run(
      pdProgram({
        *init() {
          yield work("us", units);
        },
      }),
    );
    expectContained(sys, `preemption point 'us' has units ${shown}; expected a finite number >= 0`);
  });

  it("faults a PD whose code keeps calling the API without ever reaching a preemption point", () => {
    const sys = run(
      pdProgram({
        *init(pd) {
          for (;;) pd.now();
        },
      }),
    );
    expectContained(
      sys,
      `${API_CALLS_PER_POINT} api calls (last: now) without reaching a preemption point: a loop that never yields`,
    );
  });

  it("drops notifies on channels 63, -1 and NaN and an ack of an IRQ the PD does not own, with debug prints", () => {
    const sys = run(
      pdProgram({
        *init(pd: PdContext) {
          pd.notify(63);
          pd.notify(-1);
          pd.notify(Number.NaN);
          pd.irqAck(2);
          pd.deferredIrqAck(7);
          yield work("us", 1);
        },
      }),
    );
    expect(faults(sys)).toEqual([]);
    expect(debugs(sys, "bad")).toEqual([
      "microkit_notify: invalid channel 63",
      "microkit_notify: invalid channel -1",
      "microkit_notify: invalid channel NaN",
      "microkit_irq_ack: invalid channel 2",
      "microkit_irq_ack: invalid channel 7",
    ]);
    expect(debugs(sys, "good")).toEqual(["good 2", "good 2"]);
    expect(sys.log.some((e) => e.type === "signal" && e.from === "bad")).toBe(false);
  });

  it("clamps a garbage PPC message count instead of copying NaN registers", () => {
    const sys = new System(
      describeSystem({
        pds: [
          { name: "client", priority: 1 },
          { name: "server", priority: 2 },
        ],
        channels: [
          [
            { pd: "client", id: 0, pp: true },
            { pd: "server", id: 0 },
          ],
        ],
      }),
      {
        costModel: zeroKernelCosts,
        programs: {
          "client.elf": pdProgram({
            *init(pd) {
              const reply = yield* pd.ppcall(0, { label: 1, count: Number.NaN });
              pd.debug(`reply count ${reply.count}`);
            },
          }),
          "server.elf": pdProgram({
            *protected(_ch, msg, pd) {
              pd.debug(`request count ${msg.count}`);
              return { label: 0, count: -3.5 };
            },
          }),
        },
      },
    );
    expect(sys.runUntilIdle(1e9)).toBe(true);
    expect(debugs(sys, "server")).toEqual(["request count 0"]);
    expect(debugs(sys, "client")).toEqual(["reply count 0"]);
  });

  it("faults a PD whose own loop yields zero-cost preemption points forever", () => {
    const sys = run(
      pdProgram({
        *init() {
          for (;;) yield work("us", 0);
        },
      }),
    );
    expectContained(
      sys,
      `${THREAD_ZERO_STEP_LIMIT} steps in a row without virtual time advancing: a zero-cost loop`,
    );
  });

  it("reports PDs that notify each other forever at zero cost as RT_LIVELOCK instead of hanging", () => {
    const echo = pdProgram({
      *init(pd) {
        if (pd.name === "bad") pd.notify(1);
      },
      *notified(ch, pd) {
        pd.notify(ch);
      },
    });
    const sys = new System(describeSystem(spec), {
      costModel: zeroKernelCosts,
      programs: { "bad.elf": echo, "good.elf": echo },
    });
    expect(() => sys.runUntilIdle(1e9)).toThrow(/steps without virtual time advancing/);
  });
});

describe("run control on a system that never goes idle", () => {
  const busy = pdProgram({
    *init() {
      for (;;) yield work("us", 100);
    },
  });

  it("returns false from runUntilIdle() after the default 10 s of virtual time", () => {
    const sys = new System(describeSystem(spec), {
      costModel: zeroKernelCosts,
      programs: { "bad.elf": busy, "good.elf": good },
    });
    sys.runUntil(1_000_000);
    expect(sys.runUntilIdle()).toBe(false);
    expect(sys.now()).toBe(1_000_000 + DEFAULT_IDLE_LIMIT_NS);
  });
});

describe("hostile guests are contained", () => {
  const vmSpec: SystemSpec = {
    pds: [
      {
        name: "vmm",
        priority: 100,
        vm: { name: "linux", priority: 100 },
      },
      { name: "good", priority: 10, irqs: [{ id: 2, irq: 41, trigger: "edge" }] },
    ],
  };
  const vmm = pdProgram({
    *init(pd) {
      pd.vcpuRestart(0);
      pd.vcpuInjectIrq(5, 1);
    },
    *fault(child, msg, pd) {
      pd.debug(`vcpu ${child}: ${msg.kind === "exception" ? msg.message : msg.kind}`);
      yield work("us", 1);
      return { resume: false };
    },
  });

  function runGuest(guest: GuestProgram): System {
    const sys = new System(describeSystem(vmSpec), {
      costModel: zeroKernelCosts,
      programs: { "vmm.elf": vmm, "good.elf": good },
      guests: { linux: guest },
    });
    sys.at(100_000, () => {
      sys.setIrqLevel(41, true);
      sys.setIrqLevel(41, false);
    });
    expect(sys.runUntilIdle(1e9)).toBe(true);
    expect(debugs(sys, "good")).toEqual(["good 2"]);
    return sys;
  }

  it("faults a guest that yields garbage to its VMM", () => {
    const sys = runGuest({
      *run() {
        yield { kind: "compute", units: -1 };
      },
    });
    expect(debugs(sys, "vmm")).toEqual([
      "microkit_vcpu_arm_inject_irq: invalid vcpu 5",
      "vcpu 0: preemption point 'compute' has units -1; expected a finite number >= 0",
      "reply to 'linux:vcpu0' cancelled",
    ]);
    expect(sys.thread("linux:vcpu0").state).toBe("inactive");
  });

  it("faults a guest whose run is a plain function instead of a generator", () => {
    const sys = runGuest({ run: (() => undefined) as unknown as GuestProgram["run"] });
    expect(debugs(sys, "vmm")[1]).toBe(
      "vcpu 0: the guest program of 'linux:vcpu0' did not return a generator (write it as `*run(vcpu)`)",
    );
  });

  it("faults a guest that spins on irqPending() without a preemption point", () => {
    const sys = runGuest({
      *run(vcpu) {
        while (!vcpu.irqPending()) {}
      },
    });
    expect(debugs(sys, "vmm")[1]).toBe(
      `vcpu 0: ${API_CALLS_PER_POINT} api calls (last: irqPending) without reaching a preemption point: a loop that never yields`,
    );
    expect(sys.thread("linux:vcpu0").state).toBe("inactive");
  });
});

describe("system size", () => {
  const sdf = (count: number) =>
    `<system>${Array.from(
      { length: count },
      (_, i) =>
        `<protection_domain name="pd${i}" priority="${i}"><program_image path="p.elf"/></protection_domain>`,
    ).join("")}</system>`;

  it("rejects an SDF with 64 PDs with a typed error and runs one with 63", () => {
    expect(() => parseSystemDescription(sdf(64), { fileName: "big.system" })).toThrow(SdfError);
    expect(() => parseSystemDescription(sdf(64), { fileName: "big.system" })).toThrow(
      "too many protection domains (64) defined. Maximum is 63.",
    );
    const { system } = parseSystemDescription(sdf(63), { fileName: "ok.system" });
    const sys = new System(system, {
      programs: {
        "p.elf": pdProgram({
          *init() {
            yield work("us", 1);
          },
        }),
      },
    });
    expect(sys.runUntilIdle()).toBe(true);
    expect(sys.threads().filter((t) => t.runTime > 0)).toHaveLength(64);
  });

  it("runs 64 PDs (beyond the SDF limit of 63, which the parser enforces) with a fan-out", () => {
    const leaves = Array.from({ length: 63 }, (_, i) => ({ name: `leaf${i}`, priority: 10 }));
    const sys = new System(
      describeSystem({
        pds: [{ name: "hub", priority: 20 }, ...leaves],
        channels: leaves.slice(0, 62).map((leaf, i) => [
          { pd: "hub", id: i },
          { pd: leaf.name, id: 0 },
        ]),
      }),
      {
        costModel: zeroKernelCosts,
        programs: {
          "hub.elf": pdProgram({
            *init(pd) {
              for (let ch = 0; ch < 62; ch++) pd.notify(ch);
              yield work("us", 1);
            },
          }),
          ...Object.fromEntries(
            leaves.map((leaf) => [
              `${leaf.name}.elf`,
              pdProgram({
                *notified(_ch, pd) {
                  pd.debug("hit");
                  yield work("us", 1);
                },
              }),
            ]),
          ),
        },
      },
    );
    expect(sys.runUntilIdle(1e9)).toBe(true);
    expect(sys.log.filter((e) => e.type === "debug" && e.message === "hit")).toHaveLength(62);
    expect(sys.threads()).toHaveLength(65);
  });
});
