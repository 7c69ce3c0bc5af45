import { describe, expect, it } from "vitest";
import { DriverVirtqueue } from "./driver-queue.js";
import { DriverQueueError } from "./errors.js";
import { DATA_BASE, geometry, makeMemory, RAM_BASE, RawRing } from "./testing-internal/fixtures.js";
import { SplitVirtqueue } from "./virtqueue.js";

const N = 4;

function setup(features: { eventIdx?: boolean; indirect?: boolean } = {}) {
  const memory = makeMemory();
  const g = geometry(N);
  const driver = new DriverVirtqueue({
    memory,
    geometry: g,
    features,
    indirectArea: RAM_BASE + 0x4_0000,
  });
  const device = new SplitVirtqueue({ memory, geometry: g, features });
  return { memory, driver, device, raw: new RawRing(memory, g) };
}

const b = (i: number, len = 8) => ({ addr: DATA_BASE + 0x100 * i, len });

describe("DriverVirtqueue", () => {
  it("hands out descriptors from its free list and takes them back on completion", () => {
    const { driver, device } = setup();
    const head = driver.addChain([b(0)], [b(1), b(2)]);
    expect(typeof head).toBe("number");
    expect(driver.numFree).toBe(1);
    expect(driver.addChain([b(3), b(4)], [])).toMatchObject({ code: "driver-queue-full" });
    const r = device.popAvailable();
    expect(r.kind === "chain" && r.chain.head).toBe(head);
    device.addUsed(head as number, 5);
    expect(driver.collectUsed()).toEqual([{ head, len: 5 }]);
    expect(driver.numFree).toBe(N);
  });

  it("refuses an empty chain and indirect chains it cannot build", () => {
    const { driver } = setup();
    expect(driver.addChain([], [])).toMatchObject({ code: "driver-chain-empty" });
    expect(driver.addChain([b(0)], [], { indirect: true })).toMatchObject({
      code: "driver-indirect-unavailable",
    });
  });

  it("builds an indirect chain with one ring descriptor", () => {
    const { driver, device } = setup({ indirect: true });
    const head = driver.addChain([b(0), b(1)], [b(2)], { indirect: true });
    expect(driver.numFree).toBe(N - 1);
    const r = device.popAvailable();
    expect(r.kind === "chain" && r.chain.segments.map((s) => s.writable)).toEqual([
      false,
      false,
      true,
    ]);
    device.addUsed(head as number, 0);
    expect(driver.collectUsed()).toHaveLength(1);
  });

  it("breaks on a used id out of range, as Linux's BAD_RING does", () => {
    const { driver, raw } = setup();
    driver.addChain([b(0)], []);
    raw.memory.write32(geometry(N).usedAddr + 4, N + 7);
    raw.usedIdx = 1;
    const used = driver.getUsed();
    expect(used).toBeInstanceOf(DriverQueueError);
    expect((used as DriverQueueError).code).toBe("driver-used-id-out-of-range");
    expect(driver.broken?.code).toBe("driver-used-id-out-of-range");
    expect(driver.addChain([b(1)], [])).toBe(driver.broken);
  });

  it("breaks on a used id that is not an outstanding head", () => {
    const { driver, raw } = setup();
    const head = driver.addChain([b(0)], []) as number;
    raw.memory.write32(geometry(N).usedAddr + 4, (head + 1) % N);
    raw.usedIdx = 1;
    expect(driver.getUsed()).toMatchObject({ code: "driver-used-id-not-head" });
  });

  it("kicks unless the device set NO_NOTIFY, and with EVENT_IDX only when avail_event is crossed", () => {
    const plain = setup();
    plain.driver.addChain([b(0)], []);
    expect(plain.driver.kickPrepare()).toBe(true);
    plain.device.disableNotification();
    plain.driver.addChain([b(1)], []);
    expect(plain.driver.kickPrepare()).toBe(false);

    const ev = setup({ eventIdx: true });
    ev.device.enableNotification(); // avail_event = 0
    ev.driver.addChain([b(0)], []);
    expect(ev.driver.kickPrepare()).toBe(true); // entry 0 == avail_event
    ev.driver.addChain([b(1)], []);
    expect(ev.driver.kickPrepare()).toBe(false); // device has not moved avail_event
  });

  it("re-checks for used chains when interrupts are re-enabled", () => {
    const { driver, device, raw } = setup();
    driver.disableInterrupts();
    expect(raw.memory.read16(geometry(N).availAddr)).toBe(1);
    const head = driver.addChain([b(0)], []) as number;
    device.popAvailable();
    device.addUsed(head, 0);
    expect(device.needsInterrupt()).toBe(false);
    expect(driver.enableInterrupts()).toBe(true);
  });
});
