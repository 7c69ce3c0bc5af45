import { describe, expect, test } from "vitest";
import { work } from "../program.js";
import { ManualPd, ManualPdFault } from "./manual-pd.js";

describe("ManualPd", () => {
  test("enforces a mapping's permissions and bounds like the runtime, throwing to the test", () => {
    const shared = new ArrayBuffer(16);
    const writer = new ManualPd("writer", { memory: { q: { buffer: shared, perms: "rw" } } });
    const reader = new ManualPd("reader", { memory: { q: { buffer: shared, perms: "r" } } });
    writer.memory("q").store32(4, 0xdead_beef);
    expect(reader.memory("q").load32(4)).toBe(0xdead_beef);
    expect(() => reader.memory("q").store8(0, 1)).toThrow(ManualPdFault);
    expect(() => reader.memory("q").writable()).toThrow(/not allowed by its mapping/);
    expect(() => writer.memory("q").load32(14)).toThrow(/load from region 'q' at offset 14/);
  });

  test("runs an entry point to completion, recording its preemption points and kernel calls", () => {
    const pd = new ManualPd("pd");
    const result = pd.run(
      (function* () {
        yield work("copy", 8);
        pd.notify(3);
        pd.deferredIrqAck(0);
        yield work("mmio");
        return 42;
      })(),
    );
    expect(result).toBe(42);
    expect(pd.points).toEqual([work("copy", 8), work("mmio")]);
    expect(pd.calls).toEqual([
      { op: "notify", ch: 3 },
      { op: "deferredIrqAck", ch: 0 },
    ]);
    expect(pd.notifiedChannels()).toEqual([3]);
  });
});
