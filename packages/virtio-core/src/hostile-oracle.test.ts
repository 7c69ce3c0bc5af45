/**
 * The hostile fuzzer's transmit-progress oracle and the rig device's back-pressure rule.
 * Notifications are hints (reference virtio §1.6): a chain the device refuses under its
 * rule may stay pending, one it could take may not. A chain larger than the rig's 64 KiB
 * capacity is taken when the device is idle under `hardened` (reference §6.3) and wedges
 * transmit under `reference` (libvmm's L4 stall).
 */
import { describe, expect, it } from "vitest";
import { Reg } from "./constants.js";
import { GuestMemory } from "./guest-memory.js";
import { VirtioMmioTransport } from "./mmio.js";
import {
  HOSTILE_DATA_BASE,
  type HostileOp,
  pendingReadable,
  runHostile,
} from "./testing/hostile.js";
import { LoopbackDevice } from "./testing/loopback.js";
import { probe } from "./testing/mmio-driver.js";

const probeLive: HostileOp = { k: "probe", size: 8, features: 0, driverOk: true };

/** Point head descriptor 0 at one valid readable buffer of `len` bytes. */
function bigHead(len: number): HostileOp {
  return {
    k: "desc",
    queue: 0,
    table: -1,
    index: 0,
    addr: HOSTILE_DATA_BASE,
    len,
    flags: 0,
    next: 0,
  };
}

/** The 4-op case: probe; a chain; head descriptor 0 rewritten to `len` readable bytes; notify. */
function oversize(len: number): HostileOp[] {
  return [
    probeLive,
    { k: "chain", queue: 0, first: 0, readable: [5], writable: [] },
    bigHead(len),
    { k: "notify", queue: 0 },
  ];
}

describe("transmit progress under back-pressure", () => {
  it.each([65536, 65537])("takes a valid %i-byte chain when idle (hardened)", (len) => {
    const report = runHostile(oversize(len), { profile: "hardened" });
    expect(report.violations).toEqual([]);
    expect([report.chainsTaken, report.bytesTaken]).toEqual([1, len]);
  });

  it("leaves a chain larger than the capacity pending for good under reference (L4)", () => {
    const report = runHostile([...oversize(65537), { k: "notify", queue: 0 }], {
      profile: "reference",
    });
    expect([report.chainsTaken, report.bytesTaken]).toEqual([0, 0]);
  });

  it("does not flag a chain the full device refuses, and transmits it once receive frees space", () => {
    const full = [...oversize(65536)];
    const waiting: HostileOp[] = [
      ...full,
      { k: "chain", queue: 0, first: 1, readable: [5], writable: [] },
      { k: "notify", queue: 0 },
    ];
    const refused = runHostile(waiting, { profile: "hardened" });
    expect(refused.violations).toEqual([]);
    expect(refused.chainsTaken).toBe(1);
    const drained = runHostile(
      [
        ...waiting,
        { k: "chain", queue: 1, first: 0, readable: [], writable: [48] },
        { k: "notify", queue: 0 },
      ],
      { profile: "hardened" },
    );
    expect(drained.violations).toEqual([]);
    expect([drained.chainsTaken, drained.bytesTaken]).toEqual([2, 65536 + 5]);
  });
});

describe("the back-pressure rule", () => {
  function rig(oversizeChains: "when-idle" | "never") {
    const memory = new GuestMemory({ regions: [{ base: 0x4000_0000, size: 0x20_0000 }] });
    const device = new LoopbackDevice({ capacity: 100, oversizeChains });
    const t = new VirtioMmioTransport({ device, memory });
    const { queues } = probe(t, memory, { queueCount: 2, queueSize: 8, queueBase: 0x4000_0000 });
    return { memory, device, t, tx: queues[0]!, rx: queues[1]! };
  }

  it("takes what fits beside the backlog; an oversize chain only when idle, or never", () => {
    const idle = rig("when-idle");
    expect([idle.device.accepts(100), idle.device.accepts(101)]).toEqual([true, true]);
    const never = rig("never");
    expect([never.device.accepts(100), never.device.accepts(101)]).toEqual([true, false]);
    never.memory.write(0x4010_0000, new Uint8Array(60));
    never.tx.addChain([{ addr: 0x4010_0000, len: 60 }], []);
    never.t.write(Reg.QueueNotify, 4, 0);
    expect(never.device.backlog).toBe(60);
    expect([never.device.accepts(40), never.device.accepts(41)]).toEqual([true, false]);
  });

  it("is read, with the pending chain, without changing device or queue state", () => {
    const { memory, device, t, tx } = rig("never");
    memory.write(0x4010_0000, new Uint8Array(101));
    tx.addChain([{ addr: 0x4010_0000, len: 101 }], []);
    t.write(Reg.QueueNotify, 4, 0);
    expect(device.txBlocked).toBe(101);
    const queue = t.queue(0)!;
    const before = [queue.lastAvailIdx.value, device.backlog, t.status, t.interruptStatus];
    expect(pendingReadable(memory, queue, false)).toBe(101);
    expect(device.accepts(101)).toBe(false);
    expect([queue.lastAvailIdx.value, device.backlog, t.status, t.interruptStatus]).toEqual(before);
  });
});
