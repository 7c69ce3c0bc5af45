import { ORIGIN_KEYBOARD, tagOrigin, tagSeq } from "@vmmux/sddf-queues";
import { describe, expect, it } from "vitest";
import { RIG_DRIVER_CHANNEL, RxRig } from "./testing/rig.js";

const rig = (over: Partial<ConstructorParameters<typeof RxRig>[0]> = {}) =>
  new RxRig({ clients: 2, clientCapacity: 64, driverCapacity: 64, ...over });

describe("serial_virt_rx rx_return (reference §6.4)", () => {
  it("routes ordinary input to client 0 by default and notifies it once per pass", () => {
    const r = rig();
    r.type("hi\r");
    expect(r.readText(0)).toBe("hi\r");
    expect(r.readText(1)).toBe("");
    expect(r.pd.notifiedChannels().filter((c) => c === 1)).toEqual([1]);
  });

  it("carries the keyboard provenance tag of every byte", () => {
    const r = rig();
    r.type("ab");
    const { tags } = r.read(0);
    expect(tags.map(tagOrigin)).toEqual([ORIGIN_KEYBOARD, ORIGIN_KEYBOARD]);
    expect(tags.map(tagSeq)).toEqual([0, 1]);
  });

  it("Ctrl+\\ 1 Enter switches to client 1, consuming the sequence", () => {
    const r = rig();
    r.type("a\x1c1\rb");
    expect(r.readText(0)).toBe("a");
    expect(r.readText(1)).toBe("b");
    expect(r.virt.loss.R6).toBe(3);
  });

  it("at a switch publishes and notifies the old client, then the new one at the end", () => {
    const r = rig();
    r.type("a\x1c1\rb");
    expect(r.pd.notifiedChannels().filter((c) => c !== RIG_DRIVER_CHANNEL)).toEqual([1, 2]);
  });

  it("does not notify a client that got nothing in the pass", () => {
    const r = rig();
    r.type("\x1c1\r");
    expect(r.pd.notifiedChannels().filter((c) => c !== RIG_DRIVER_CHANNEL)).toEqual([]);
  });

  it("a doubled switch character reaches the current client as one byte", () => {
    const r = rig();
    r.type("\x1c\x1c");
    expect(r.readText(0)).toBe("\x1c");
  });

  it("an invalid client number drops the whole sequence and keeps the client", () => {
    const r = rig();
    r.type("\x1c7\rz");
    expect(r.readText(0)).toBe("z");
    expect(r.virt.loss.R6Invalid).toBe(1);
    expect(r.pd.calls).toContainEqual({ op: "debug", message: "VIRT_RX|LOG: invalid client 7" });
  });

  it("a sequence split over two passes still switches, and counts the stalled pass (R7)", () => {
    const r = rig();
    r.type("\x1c");
    expect(r.virt.loss.R7).toBe(1);
    r.type("1\rq");
    expect(r.readText(1)).toBe("q");
    expect(r.virt.loss.R7).toBe(1);
  });

  it("notifies the driver on the first pass only (flag starts requested, §3.1)", () => {
    const r = rig();
    r.type("a");
    r.type("b");
    expect(r.pd.notifiedChannels().filter((c) => c === RIG_DRIVER_CHANNEL)).toEqual([
      RIG_DRIVER_CHANNEL,
    ]);
    // The driver asks again when its queue was full: virt_rx answers after draining.
    r.driver.requestConsumerSignal();
    r.type("c");
    expect(r.pd.notifiedChannels().filter((c) => c === RIG_DRIVER_CHANNEL)).toHaveLength(2);
  });

  it("ignores notifications from clients apart from a debug log", () => {
    const r = rig();
    r.pd.run(r.virt.notified(2, r.pd));
    expect(r.pd.calls).toEqual([
      { op: "debug", message: "VIRT_RX|LOG: received notification on unexpected channel 2" },
    ]);
  });

  it("reference: drops bytes for a full client silently, counting R5", () => {
    const r = rig({ clientCapacity: 4, config: { profile: "reference" } });
    r.type("abcdef");
    expect(r.readText(0)).toBe("abcd");
    expect(r.virt.loss.R5).toBe(2);
    expect(r.pd.calls.some((c) => c.op === "debug" && c.message.includes("full"))).toBe(false);
  });

  it("hardened: drops bytes for a full client too, but reports the drops of each pass", () => {
    const r = rig({ clientCapacity: 4, config: { profile: "hardened" } });
    r.type("abcdef");
    expect(r.readText(0)).toBe("abcd");
    expect(r.virt.loss.R5).toBe(2);
    expect(r.pd.calls).toContainEqual({
      op: "debug",
      message: "VIRT_RX|WARN: client 0 rx queue full, 2 bytes dropped",
    });
    expect(r.pd.calls).toContainEqual({ op: "counter", name: "virt_rx.R5", value: 2 });
  });

  it("a full client does not block switching away from it", () => {
    const r = rig({ clientCapacity: 2 });
    r.type("abc\x1c1\rd");
    expect(r.readText(0)).toBe("ab");
    expect(r.readText(1)).toBe("d");
  });

  it("contains a client that corrupts its queue index: no throw, client cut off", () => {
    const r = rig();
    // The client (consumer) writes a head far ahead of the tail.
    r.pd.memory("rx_client0_queue").store32(4, 0x1000);
    expect(() => r.type("ab\x1c1\rc")).not.toThrow();
    expect(r.virt.corruptPeers).toBe(1);
    expect(r.readText(1)).toBe("c");
  });

  it("legacy broadcast contains a client with a corrupt queue index and reaches the rest", () => {
    const r = rig({ config: { scheme: "legacy-at" } });
    r.pd.memory("rx_client0_queue").store32(4, 0x1000);
    expect(() => r.type("@mx")).not.toThrow();
    expect(r.virt.corruptPeers).toBe(1);
    expect(r.readText(1)).toBe("x");
  });

  it("legacy scheme: '@2' selects the second client, '@m' broadcasts", () => {
    const r = rig({ config: { scheme: "legacy-at" } });
    r.type("a@2b@mc");
    expect(r.readText(0)).toBe("ac");
    expect(r.readText(1)).toBe("bc");
  });
});
