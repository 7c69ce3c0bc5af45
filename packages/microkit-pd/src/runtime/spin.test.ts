/**
 * Declared busy-waits (spin.ts) in guest code: a vCPU spinning on a flag in its RAM, set by a
 * kernel entry later, while interrupts reach its VMM meanwhile. Replaying turns gives the same
 * clock, events, run times, turn count and the instant the guest sees the flag as resuming the
 * code for every turn (`inlineSteps: false`), and most turns are replayed.
 */
import { describe, expect, it } from "vitest";
import type { GuestProgram } from "../program.js";
import { work } from "../program.js";
import { describeSystem, pdProgram } from "../testing/index.js";
import { spinUntil } from "./spin.js";
import { System } from "./system.js";

const US = 1000;

function run(inlineSteps: boolean) {
  let turns = 0;
  let sawAt = -1;
  const guest: GuestProgram = {
    *run(vcpu) {
      const ram = vcpu.memory("guest_ram");
      yield work("us", 3);
      const flag = yield* spinUntil({
        pass: work("cpu_relax", 1),
        poll: () => (ram.load32(0x10) !== 0 ? ram.load32(0x10) : undefined),
        passed: (n) => {
          turns += n;
        },
      });
      sawAt = vcpu.now();
      yield work("ns", flag);
    },
  };
  const sys = new System(
    describeSystem({
      pds: [
        {
          name: "vmm",
          priority: 100,
          irqs: [{ id: 1, irq: 80, trigger: "edge" }],
          maps: [{ mr: "guest_ram" }],
          vm: { name: "linux", priority: 50, maps: [{ mr: "guest_ram", vaddr: 0x4000_0000 }] },
        },
      ],
      regions: [{ name: "guest_ram", size: 0x10000 }],
    }),
    {
      inlineSteps,
      programs: {
        "vmm.elf": pdProgram({
          *init(pd) {
            pd.vcpuRestart(0);
          },
          *notified(ch, pd) {
            yield work("us", 2);
            pd.irqAck(ch);
          },
          *fault() {
            return { resume: true };
          },
        }),
      },
      guests: { linux: guest },
    },
  );
  // An interrupt to the VMM every 37 µs ends each stretch of replayed turns; the flag is set at
  // 1 ms by a kernel entry of its own.
  for (let t = 37 * US; t < 2000 * US; t += 37 * US) {
    sys.at(t, () => {
      sys.setIrqLevel(80, true);
      sys.setIrqLevel(80, false);
    });
  }
  sys.at(1000 * US + 7, () => {
    sys.memory("guest_ram")[0x10] = 5;
  });
  const kernel = (sys as unknown as { kernel: { replaySpin(t: unknown): boolean } }).kernel;
  const replay = kernel.replaySpin.bind(kernel);
  let replays = 0;
  kernel.replaySpin = (t) => {
    const r = replay(t);
    if (r) replays++;
    return r;
  };
  sys.runUntil(2000 * US);
  return {
    now: sys.now(),
    events: sys.eventsProcessed,
    threads: sys.threads(),
    turns,
    sawAt,
    replays,
  };
}

describe("declared busy-waits", () => {
  it("replay turns with the same clock, events, run times, turn count and wake-up instant", () => {
    const on = run(true);
    const off = run(false);
    expect(off.replays).toBe(0);
    expect(on.replays).toBeGreaterThan(20);
    expect({ ...on, replays: 0 }).toEqual({ ...off, replays: 0 });
    // The guest spun from its first 3 µs until the flag, one 100 ns turn at a time, less the
    // time its VMM held the core.
    expect(on.sawAt).toBeGreaterThan(1000 * US);
    expect(on.turns).toBeGreaterThan(5000);
  });
});
