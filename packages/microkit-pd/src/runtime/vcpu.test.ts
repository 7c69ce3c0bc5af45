import { describe, expect, it } from "vitest";
import type { FaultMessage, GuestProgram, VcpuContext } from "../program.js";
import { work } from "../program.js";
import { describeSystem, pdProgram, type SystemSpec } from "../testing/index.js";
import {
  type CostModelOverride,
  GuestDataAbort,
  System,
  type SystemOptions,
  zeroKernelCosts,
} from "./index.js";

const US = 1000;
const MS = 1_000_000;

const vmSpec = (vmm: number, vcpu: number, extra: Partial<SystemSpec> = {}): SystemSpec => ({
  pds: [
    {
      name: "vmm",
      priority: vmm,
      irqs: [{ id: 1, irq: 80, trigger: "edge" }],
      maps: [{ mr: "guest_ram" }],
      vm: { name: "linux", priority: vcpu, maps: [{ mr: "guest_ram", vaddr: 0x4000_0000 }] },
    },
    ...(extra.pds ?? []),
  ],
  regions: [{ name: "guest_ram", size: 0x10000 }],
});

function build(
  spec: SystemSpec,
  programs: SystemOptions["programs"],
  guest: GuestProgram,
  extra: Partial<SystemOptions> = {},
  costModel: CostModelOverride = zeroKernelCosts,
): System {
  return new System(describeSystem(spec), {
    costModel,
    programs,
    guests: { linux: guest },
    ...extra,
  });
}

/** A libvmm-like VMM: starts vCPU 0 in init, emulates one register, answers everything else at once. */
const vmm = (start: boolean, faultWork = 0) =>
  pdProgram({
    *init(pd) {
      if (start) pd.vcpuRestart(0);
    },
    *notified(ch, pd) {
      pd.vcpuInjectIrq(0, 33);
      pd.irqAck(ch);
    },
    *fault(_child, msg: FaultMessage) {
      if (faultWork > 0) yield work("us", faultWork);
      if (msg.kind === "vcpu" && msg.exit.kind === "mmio-read")
        return { resume: true, value: 0x1234 };
      return { resume: true };
    },
  });

describe("§4.3.10 vCPU threads", () => {
  const probe: GuestProgram = {
    *run(vcpu: VcpuContext) {
      yield work("us", 100);
      const value = yield* vcpu.mmioRead(0x0a00_0000, 4);
      vcpu.debug(`read ${value.toString(16)}`);
      vcpu.memory("guest_ram").store32(0x100, value);
      yield* vcpu.mmioWrite(0x0a00_0004, 4, 7);
      yield work("us", 10);
    },
  };

  it("does not start a vCPU at boot; the VMM starts it and emulates its MMIO exits", () => {
    const idle = build(vmSpec(254, 0), { "vmm.elf": vmm(false) }, probe);
    idle.runUntilIdle(10 * MS);
    expect(idle.thread("linux:vcpu0")).toMatchObject({
      state: "inactive",
      runTime: 0,
      priority: 0,
    });

    const sys = build(vmSpec(254, 0), { "vmm.elf": vmm(true, 50) }, probe);
    sys.runUntil(120 * US);
    expect(sys.thread("linux:vcpu0").state).toBe("blocked-reply");
    expect(sys.thread("vmm").entry).toBe("fault");
    sys.runUntilIdle(10 * MS);
    expect(sys.log.flatMap((e) => (e.type === "debug" ? [`${e.t} ${e.message}`] : []))).toEqual([
      "150000 read 1234",
    ]);
    expect(new DataView(sys.memory("guest_ram").buffer).getUint32(0x100, true)).toBe(0x1234);
    const exits = sys.log.flatMap((e) =>
      e.type === "fault" && e.fault.kind === "vcpu" ? [`${e.t} ${e.fault.exit.kind}`] : [],
    );
    expect(exits).toEqual(["100000 mmio-read", "150000 mmio-write"]);
    expect(sys.thread("linux:vcpu0")).toMatchObject({ state: "inactive", runTime: 110 * US });
  });

  /** An idle guest: WFI until an interrupt is pending, then take it. */
  const idleGuest = (taken: number[]): GuestProgram => ({
    *run(vcpu) {
      for (;;) {
        const irq = vcpu.takeIrq();
        if (irq !== undefined) {
          taken.push(vcpu.now());
          yield work("us", 1);
          continue;
        }
        yield* vcpu.wfi();
      }
    },
  });
  const spinner = pdProgram({
    *init() {
      for (;;) yield work("us", 10);
    },
  });

  it("answers a trapped WFI at once, so an idle guest keeps the core like a busy one", () => {
    const taken: number[] = [];
    const sys = build(
      vmSpec(150, 100, { pds: [{ name: "bg", priority: 50 }] }),
      { "vmm.elf": vmm(true), "bg.elf": spinner },
      idleGuest(taken),
      {},
      {},
    );
    sys.runUntil(10 * MS);
    expect(sys.thread("bg").runTime).toBe(0);
    const wfis = sys.log.filter(
      (e) => e.type === "fault" && e.fault.kind === "vcpu" && e.fault.exit.kind === "wfi",
    ).length;
    expect(wfis).toBeGreaterThan(1000);
  });

  it("blocks the vCPU in an untrapped WFI until the VMM injects a virtual IRQ", () => {
    const taken: number[] = [];
    const sys = build(
      vmSpec(150, 100, { pds: [{ name: "bg", priority: 50 }] }),
      { "vmm.elf": vmm(true), "bg.elf": spinner },
      idleGuest(taken),
      { trapWfi: false },
      {},
    );
    sys.at(5 * MS, () => {
      sys.setIrqLevel(80, true);
      sys.setIrqLevel(80, false);
    });
    sys.runUntil(10 * MS);
    expect(sys.thread("bg").runTime).toBeGreaterThan(9.9 * MS);
    expect(taken).toHaveLength(1);
    expect(taken[0]).toBeGreaterThanOrEqual(5 * MS);
    expect(taken[0]).toBeLessThan(5 * MS + 10 * US);
    expect(sys.thread("linux:vcpu0").state).toBe("blocked-wfi");
  });

  it("lets a VMM leave a trapped WFI unanswered and resume the vCPU where it stopped on an IRQ", () => {
    const taken: number[] = [];
    let boots = 0;
    const blockingVmm = pdProgram({
      *init(pd) {
        pd.vcpuRestart(0);
      },
      *notified(ch, pd) {
        pd.vcpuInjectIrq(0, 33);
        pd.vcpuResume(0);
        pd.vcpuResume(7);
        pd.irqAck(ch);
      },
      *fault(_child, msg: FaultMessage) {
        yield work("us", 1);
        // WFI with nothing pending: no reply; the vCPU is Inactive after the next receive.
        return { resume: !(msg.kind === "vcpu" && msg.exit.kind === "wfi") };
      },
    });
    const guest: GuestProgram = {
      *run(vcpu) {
        boots++;
        for (;;) {
          const irq = vcpu.takeIrq();
          if (irq !== undefined) {
            taken.push(vcpu.now());
            yield work("us", 1);
            continue;
          }
          yield* vcpu.wfi();
        }
      },
    };
    const sys = build(
      vmSpec(150, 100, { pds: [{ name: "bg", priority: 50 }] }),
      { "vmm.elf": blockingVmm, "bg.elf": spinner },
      guest,
      {},
      {},
    );
    for (const t of [3 * MS, 6 * MS]) {
      sys.at(t, () => {
        sys.setIrqLevel(80, true);
        sys.setIrqLevel(80, false);
      });
    }
    sys.runUntil(10 * MS);
    expect(boots).toBe(1);
    expect(taken).toHaveLength(2);
    expect(taken[0]! - 3 * MS).toBeLessThan(10 * US);
    expect(taken[1]! - 6 * MS).toBeLessThan(10 * US);
    expect(sys.thread("bg").runTime).toBeGreaterThan(9.9 * MS);
    expect(sys.thread("linux:vcpu0").state).toBe("inactive");
    expect(
      sys.log.filter(
        (e) => e.type === "debug" && e.message === "microkit_vcpu_restart: invalid vcpu 7",
      ),
    ).toHaveLength(2);
  });

  it("injects a data abort the guest can catch; an uncaught one reaches the VMM as an exception", () => {
    const seen: string[] = [];
    const abortingVmm = pdProgram({
      *init(pd) {
        pd.vcpuRestart(0);
      },
      *fault(_child, msg: FaultMessage, pd) {
        yield work("us", 1);
        if (msg.kind === "vcpu") return { resume: true, abort: true, value: 99 };
        pd.debug(`vmm: ${msg.kind === "exception" ? msg.message : msg.kind}`);
        return { resume: false };
      },
    });
    const sys = build(
      vmSpec(150, 100),
      { "vmm.elf": abortingVmm },
      {
        *run(vcpu) {
          try {
            yield* vcpu.mmioRead(0x900_0000, 4);
            seen.push("read completed");
          } catch (error) {
            if (!(error instanceof GuestDataAbort)) throw error;
            seen.push(`${error.code} ${error.address.toString(16)} write=${error.write}`);
          }
          yield work("us", 1);
          yield* vcpu.mmioWrite(0x900_0010, 4, 1);
          seen.push("write completed");
        },
      },
    );
    sys.runUntilIdle(10 * MS);
    expect(seen).toEqual(["GUEST_DATA_ABORT 9000000 write=false"]);
    expect(
      sys.log.flatMap((e) => (e.type === "debug" && e.thread === "vmm" ? [e.message] : [])),
    ).toEqual(["vmm: data abort on store to 0x9000010", "reply to 'linux:vcpu0' cancelled"]);
    expect(sys.thread("linux:vcpu0").state).toBe("inactive");
  });

  it("lets a trapped-WFI guest see an injected IRQ on its next loop", () => {
    const taken: number[] = [];
    const sys = build(vmSpec(150, 100), { "vmm.elf": vmm(true) }, idleGuest(taken), {}, {});
    sys.at(2 * MS, () => {
      sys.setIrqLevel(80, true);
      sys.setIrqLevel(80, false);
    });
    sys.runUntil(3 * MS);
    expect(taken).toHaveLength(1);
    expect(taken[0]! - 2 * MS).toBeLessThan(20 * US);
  });

  it("reports a guest exception to the VMM as a fault and stops the vCPU", () => {
    const faults: FaultMessage[] = [];
    const sys = build(
      vmSpec(254, 0),
      {
        "vmm.elf": pdProgram({
          *init(pd) {
            pd.vcpuRestart(0);
          },
          *fault(_c, msg) {
            faults.push(msg);
            return { resume: true };
          },
        }),
      },
      {
        *run(vcpu) {
          yield work("us", 1);
          vcpu.memory("no_such_ram");
        },
      },
    );
    sys.runUntilIdle(10 * MS);
    expect(faults).toEqual([
      { kind: "exception", message: "no guest memory 'no_such_ram' in 'linux'" },
    ]);
    expect(sys.thread("linux:vcpu0").state).toBe("inactive");
  });

  it("passes hypercall arguments to the VMM and its reply value back; an EOI exits as vGIC maintenance", () => {
    const exits: string[] = [];
    const results: number[] = [];
    const sys = build(
      vmSpec(254, 0),
      {
        "vmm.elf": pdProgram({
          *init(pd) {
            pd.vcpuRestart(0);
          },
          *fault(child, msg) {
            if (msg.kind !== "vcpu") return { resume: false };
            const exit = msg.exit;
            if (exit.kind === "hypercall") {
              exits.push(`vcpu ${child} hvc ${exit.fn.toString(16)} ${exit.args.join(",")}`);
              return { resume: true, value: 0x10002 };
            }
            if (exit.kind === "vgic-maintenance") exits.push(`vcpu ${child} eoi ${exit.irq}`);
            return { resume: true };
          },
        }),
      },
      {
        *run(vcpu) {
          results.push(yield* vcpu.hypercall(0x8400_0000, [1, 2]));
          yield* vcpu.eoi(27);
        },
      },
    );
    sys.runUntilIdle(10 * MS);
    expect(exits).toEqual(["vcpu 0 hvc 84000000 1,2", "vcpu 0 eoi 27"]);
    expect(results).toEqual([0x10002]);
  });

  it("stops and restarts a vCPU from the beginning of its guest program", () => {
    let boots = 0;
    const sys = build(
      vmSpec(254, 0),
      {
        "vmm.elf": pdProgram({
          *init(pd) {
            pd.vcpuRestart(0);
          },
          *notified(ch, pd) {
            pd.vcpuStop(0);
            pd.vcpuRestart(0);
            pd.irqAck(ch);
          },
        }),
      },
      {
        *run() {
          boots++;
          for (;;) yield work("us", 10);
        },
      },
    );
    sys.at(1 * MS, () => {
      sys.setIrqLevel(80, true);
      sys.setIrqLevel(80, false);
    });
    sys.runUntil(2 * MS);
    expect(boots).toBe(2);
    expect(sys.thread("linux:vcpu0").state).toBe("running");
  });

  it("wakes a guest from WFI with its virtual timer and reports the vCPU's own run time", () => {
    const ticks: string[] = [];
    const sys = build(
      vmSpec(254, 0),
      { "vmm.elf": vmm(true) },
      {
        *run(vcpu) {
          for (let i = 0; i < 3; i++) {
            yield work("us", 100);
            vcpu.setTimer(vcpu.now() + 1 * MS);
            while (!vcpu.irqPending()) yield* vcpu.wfi();
            ticks.push(`${vcpu.now()} ppi ${vcpu.takeIrq()} ran ${vcpu.runTime()}`);
          }
          vcpu.setTimer(vcpu.now() + 1 * MS);
          vcpu.setTimer(null);
        },
      },
      { trapWfi: false },
    );
    sys.runUntilIdle(100 * MS);
    expect(ticks).toEqual([
      "1100000 ppi 27 ran 100000",
      "2200000 ppi 27 ran 200000",
      "3300000 ppi 27 ran 300000",
    ]);
    expect(sys.now()).toBe(3_300_000);
  });
});
