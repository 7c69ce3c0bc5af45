import { describe, expect, it } from "vitest";
import { type GuestProgram, work } from "../program.js";
import { describeSystem, pdProgram, type SystemSpec } from "../testing/index.js";
import { System, type SystemOptions, zeroKernelCosts } from "./index.js";

const US = 1000;
const MS = 1_000_000;

const spinner = pdProgram({
  *init() {
    for (;;) yield work("us", 10);
  },
});

describe("§4.3.14 domains", () => {
  const spec: SystemSpec = {
    domains: {
      domains: ["red", "blue"],
      schedule: [
        { domain: "red", us: 300 },
        { domain: "blue", us: 700 },
      ],
    },
    pds: [
      { name: "hi", priority: 200, domain: "red", image: "spin.elf" },
      { name: "lo", priority: 1, domain: "blue", image: "spin.elf" },
    ],
  };

  it("runs only threads of the current domain, whatever their priority", () => {
    const sys = new System(describeSystem(spec), {
      costModel: zeroKernelCosts,
      programs: { "spin.elf": spinner },
    });
    sys.runUntil(10 * MS);
    expect(sys.thread("hi").runTime).toBe(3 * MS);
    expect(sys.thread("lo").runTime).toBe(7 * MS);
    const switches = sys.log.flatMap((e) =>
      e.type === "switch" && e.t > 0 && e.t <= 2 * MS ? [`${e.t / US} ${e.to}`] : [],
    );
    expect(switches).toEqual(["300 lo", "1000 hi", "1300 lo", "2000 hi"]);
  });

  it("leaves vCPUs in domain 0, so a VM whose VMM is in another domain does not run (microkit#594)", () => {
    const guest: GuestProgram = {
      *run() {
        for (;;) yield work("us", 10);
      },
    };
    const vmmSpec: SystemSpec = {
      domains: {
        domains: ["d0", "d1"],
        schedule: [
          { domain: "d1", us: 500 },
          { domain: "d1", us: 500 },
        ],
      },
      pds: [{ name: "vmm", priority: 100, domain: "d1", vm: { name: "vm", priority: 50 } }],
    };
    const options = (vcpuDomain: SystemOptions["vcpuDomain"]): SystemOptions => ({
      costModel: zeroKernelCosts,
      programs: {
        "vmm.elf": pdProgram({
          *init(pd) {
            pd.vcpuRestart(0);
          },
        }),
      },
      guests: { vm: guest },
      vcpuDomain,
    });
    const stuck = new System(describeSystem(vmmSpec), options("zero"));
    stuck.runUntil(5 * MS);
    expect(stuck.thread("vm:vcpu0")).toMatchObject({ state: "runnable", runTime: 0, domain: 0 });
    const fixed = new System(describeSystem(vmmSpec), options("vmm"));
    fixed.runUntil(5 * MS);
    expect(fixed.thread("vm:vcpu0").runTime).toBe(5 * MS);
  });
});
