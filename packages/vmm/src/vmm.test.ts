import { ORIGIN_KEYBOARD, tagOrigin, tagSeq } from "@vmmux/sddf-queues";
import { Reg, Status } from "@vmmux/virtio-core";
import { describe, expect, it } from "vitest";
import { drainedText, VmRig } from "./testing/index.js";

const MS = 1_000_000;

describe("one VMM with the Linux guest model", () => {
  it("boots, probes the console and prints a trace's text exactly, attributed to the guest", () => {
    const events = [
      { time: 0.004, text: "Welcome to vmmux\r\n" },
      { time: 0.006, text: "login: " },
    ];
    const rig = new VmRig({
      vms: [
        {
          guest: {
            bootLog: ["hvc0: console [hvc0] enabled\n"],
            workload: { kind: "trace", events },
          },
        },
      ],
    });
    rig.sys.runUntil(20 * MS);
    const guest = rig.machine(0).guest()!;
    expect(guest.phase).toBe("running");
    expect(guest.probe).toMatchObject({ ok: true, queueSize: 128 });
    expect(rig.machine(0).vmm.transport!.status).toBe(
      Status.ACKNOWLEDGE | Status.DRIVER | Status.FEATURES_OK | Status.DRIVER_OK,
    );
    // The kernel log goes through printk's 16-byte chunks with \n → \r\n; the trace is raw.
    expect(drainedText(rig, 0)).toBe("hvc0: console [hvc0] enabled\r\nWelcome to vmmux\r\nlogin: ");
    const tags = rig.machine(0).tx.tags;
    expect(tags.every((t) => tagOrigin(t) === 1)).toBe(true);
    expect(guest.written.bytes).toEqual(rig.machine(0).tx.bytes);
    expect(guest.written.tags).toEqual(tags);
    // The printk CR shares its LF's tag; every other byte has the next sequence number.
    expect(new Set(tags.map(tagSeq)).size).toBe(tags.length - 1);
    // The first event is written once the guest's clock reaches it, not before.
    expect(guest.eventTimes[0]! - guest.startedAt).toBeGreaterThanOrEqual(4 * MS);
  });

  it("probes a libvmm (reference) console with the register sequence of reference virtio §5.1", () => {
    const rig = new VmRig({
      vms: [{ profile: "reference", guest: { workload: { kind: "idle" } } }],
    });
    rig.sys.runUntil(10 * MS);
    const base = 0x13_0000;
    const accesses = rig.sys.log.flatMap((e) => {
      if (e.type !== "fault" || e.fault.kind !== "vcpu") return [];
      const x = e.fault.exit;
      if (x.kind === "mmio-read") return [`R ${(x.address - base).toString(16)}`];
      if (x.kind === "mmio-write")
        return [`W ${(x.address - base).toString(16)}=${x.value.toString(16)}`];
      return [];
    });
    const queue = (q: number) => [
      `W 30=${q}`,
      "R 44",
      "R 34",
      "W 38=80",
      expect.stringMatching(/^W 80=/),
      "W 84=0",
      expect.stringMatching(/^W 90=/),
      "W 94=0",
      expect.stringMatching(/^W a0=/),
      "W a4=0",
      "W 44=1",
    ];
    expect(accesses.slice(0, 44)).toEqual([
      "R 0",
      "R 4",
      "R 8",
      "R c",
      "W 70=0",
      "R 70",
      "W 70=1",
      "R 70",
      "W 70=3",
      "W 14=1",
      "R 10",
      "W 14=0",
      "R 10",
      "W 24=1",
      "W 20=1",
      "W 24=0",
      "W 20=0",
      "R 70",
      "W 70=b",
      "R 70",
      ...queue(0),
      ...queue(1),
      "R 70",
      "W 70=f",
    ]);
    // Then 128 receive buffers, one kick of queue 0 each.
    const kicks = accesses.slice(44, 44 + 128);
    expect(kicks).toEqual(Array.from({ length: 128 }, () => "W 50=0"));
    expect(Reg.QueueNotify).toBe(0x50);
  });

  it("receives typed input, echoes it with line editing and runs shell commands", () => {
    const rig = new VmRig({ vms: [{ guest: { workload: { kind: "shell", hostname: "g0" } } }] });
    rig.type(0, 10 * MS, "ecxo");
    rig.type(0, 11 * MS, "\x7f\x7fho hi\r");
    rig.type(0, 12 * MS, "junk\x15uname\r");
    rig.sys.runUntil(20 * MS);
    const guest = rig.machine(0).guest()!;
    expect(guest.lines).toEqual(["echo hi", "uname"]);
    const prompt = "root@g0:~# ";
    expect(drainedText(rig, 0)).toBe(
      `${prompt}ecxo\b \b\b \bho hi\r\nhi\r\n${prompt}junk${"\b \b".repeat(4)}uname\r\nLinux\r\n${prompt}`,
    );
    // Input arrived with the keyboard's tags; echoes are the guest's own output.
    expect(guest.received.tags.every((t) => tagOrigin(t) === ORIGIN_KEYBOARD)).toBe(true);
    expect(rig.machine(0).tx.tags.every((t) => tagOrigin(t) === 1)).toBe(true);
  });

  it("replays byte-identically with the same seed", () => {
    const run = () => {
      const rig = new VmRig({
        seed: 42,
        vms: [
          { guest: { workload: { kind: "shell" } } },
          { guest: { workload: { kind: "shell" } } },
        ],
      });
      rig.type(0, 5 * MS, "ls\r");
      rig.type(1, 5 * MS, "uname\r");
      rig.sys.runUntil(12 * MS);
      return {
        out: rig.machines.map((m) => [m.tx.bytes, m.tx.tags, m.tx.times]),
        log: rig.sys.log.length,
      };
    };
    const first = run();
    expect(first.out[0]![0]!.length).toBeGreaterThan(0);
    expect(run()).toEqual(first);
  });
});
