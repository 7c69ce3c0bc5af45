import { describe, expect, it } from "vitest";
import { ConsoleRig, runGuest } from "../testing/rig.js";

type Access = [op: "R" | "W", offset: number, value?: number];

/** The single-port probe as reference virtio §5.1 gives it (no MULTIPORT, libvmm answers). */
function referenceProbe(queueSize: number): Access[] {
  const queue = (q: number): Access[] => [
    ["W", 0x030, q],
    ["R", 0x044, 0],
    ["R", 0x034, queueSize],
    ["W", 0x038, queueSize],
    ["W", 0x080],
    ["W", 0x084],
    ["W", 0x090],
    ["W", 0x094],
    ["W", 0x0a0],
    ["W", 0x0a4],
    ["W", 0x044, 1],
  ];
  return [
    ["R", 0x000, 0x74726976],
    ["R", 0x004, 2],
    ["R", 0x008, 3],
    ["R", 0x00c, 0x344c6573],
    ["W", 0x070, 0],
    ["R", 0x070, 0],
    ["W", 0x070, 0x1],
    ["R", 0x070, 0x1],
    ["W", 0x070, 0x3],
    ["W", 0x014, 1],
    ["R", 0x010, 0x1],
    ["W", 0x014, 0],
    ["R", 0x010, 0],
    ["W", 0x024, 1],
    ["W", 0x020, 0x1],
    ["W", 0x024, 0],
    ["W", 0x020, 0],
    ["R", 0x070, 0x3],
    ["W", 0x070, 0xb],
    ["R", 0x070, 0xb],
    ...queue(0),
    ...queue(1),
    ["R", 0x070, 0xb],
    ["W", 0x070, 0xf],
    ...Array.from({ length: queueSize }, (): Access => ["W", 0x050, 0]),
    ["R", 0x070, 0xf],
  ];
}

function observed(rig: ConsoleRig, withAddressValues: boolean): Access[] {
  return rig.mmio.log.map((a) => {
    const isAddress = a.op === "W" && a.offset >= 0x080 && a.offset <= 0x0a4;
    return isAddress && !withAddressValues ? [a.op, a.offset] : [a.op, a.offset, a.value];
  });
}

describe("Linux front end probe", () => {
  it("makes exactly the reference register access sequence against libvmm (reference)", () => {
    const rig = new ConsoleRig({ profile: "reference" });
    const result = runGuest(rig.driver.probe());
    expect(result.done && result.value.ok).toBe(true);
    expect(observed(rig, false)).toEqual(referenceProbe(128));
    expect(rig.mmio.blocked).toBe(false);
    expect(rig.transport.findings.filter((f) => f.impact !== "deviation")).toEqual([]);
  });

  it("lays each queue out as Linux does: avail after the descriptors, used on the next page", () => {
    const rig = new ConsoleRig({ profile: "reference" });
    runGuest(rig.driver.probe());
    const writes = rig.mmio.log.filter((a) => a.op === "W");
    const desc = writes.find((a) => a.offset === 0x080)!.value;
    const avail = writes.find((a) => a.offset === 0x090)!.value;
    const used = writes.find((a) => a.offset === 0x0a0)!.value;
    expect(avail - desc).toBe(0x800);
    expect(used - desc).toBe(0x1000);
    expect(desc % 4096).toBe(0);
  });

  it("follows the same access offsets against the hardened device and negotiates F_SIZE", () => {
    const rig = new ConsoleRig({ profile: "hardened" });
    const result = runGuest(rig.driver.probe());
    expect(result.done && result.value.ok).toBe(true);
    const offsets = rig.mmio.log.map((a) => `${a.op}${a.offset.toString(16)}`);
    expect(offsets).toEqual(
      referenceProbe(128).map(([op, offset]) => `${op}${offset.toString(16)}`),
    );
    // Hardened offers SIZE and EMERG_WRITE; Linux takes SIZE only (its feature table).
    expect(rig.mmio.log[10]).toMatchObject({ op: "R", offset: 0x010, value: 0x1 });
    expect(rig.mmio.log[12]).toMatchObject({ op: "R", offset: 0x010, value: 0b101 });
    expect(rig.mmio.log[16]).toMatchObject({ op: "W", offset: 0x020, value: 0b1 });
    expect(rig.transport.errors).toEqual([]);
  });

  it("posts 128 page-sized receive buffers, each kicked", () => {
    const rig = new ConsoleRig({ profile: "hardened" });
    runGuest(rig.driver.probe());
    const rxq = rig.driver.receiveQueue!;
    expect(rxq.numFree).toBe(0);
    expect(rxq.availIndex.value).toBe(128);
    expect(rig.mmio.log.filter((a) => a.op === "W" && a.offset === 0x050)).toHaveLength(128);
  });
});

describe("Linux front end output", () => {
  it("sends kernel-log output in 16-byte CRLF chunks, one kick per chunk, each buffer reaped", () => {
    const rig = new ConsoleRig({ profile: "reference" });
    runGuest(rig.driver.probe());
    rig.mmio.log.length = 0;
    const message = new TextEncoder().encode("Run /init as init process\n");
    const result = runGuest(rig.driver.consolePrint(message));
    expect(result).toMatchObject({ done: true, value: 27 });
    const kicks = rig.mmio.log.filter((a) => a.op === "W" && a.offset === 0x050);
    expect(kicks.map((k) => k.value)).toEqual([1, 1]);
    const out = rig.drainTx();
    expect(new TextDecoder().decode(Uint8Array.from(out.bytes))).toBe(
      "Run /init as init process\r\n",
    );
    expect(rig.driver.counters.spinIterations).toBe(0);
  });

  it("spins with no further kicks while the device holds the transmit buffer", () => {
    const rig = new ConsoleRig({ profile: "hardened", serialCapacity: 16 });
    runGuest(rig.driver.probe());
    rig.mmio.log.length = 0;
    const step = rig.driver.ttyWrite(new Uint8Array(40).fill(0x41));
    const stalled = runGuest(step, 50);
    expect(stalled.done).toBe(false);
    expect(rig.driver.counters.spinIterations).toBeGreaterThan(40);
    expect(rig.mmio.log.filter((a) => a.offset === 0x050)).toHaveLength(1);
    // virt_tx drains; the hardened device resumes on its signal and the guest continues.
    let drained = 0;
    const finished = runGuest(step, 1000, () => {
      drained += rig.drainTx().bytes.length;
    });
    expect(finished.done).toBe(true);
    expect(drained + rig.drainTx().bytes.length).toBe(40);
  });
});

describe("Linux front end input", () => {
  it("reads at most 128 bytes per interrupt and leaves the rest to khvcd", () => {
    const rig = new ConsoleRig({ profile: "hardened" });
    runGuest(rig.driver.probe());
    const input = Uint8Array.from({ length: 300 }, (_, i) => i & 0xff);
    rig.typeInput(input, 7);
    expect(rig.takeIrq()).toBe(true);
    runGuest(rig.driver.handleInterrupt());
    expect(rig.received).toHaveLength(128);
    expect(rig.driver.pollPending).toBe(true);
    runGuest(rig.driver.pollInput());
    expect(rig.received).toEqual([...input]);
    expect(rig.receivedTags.every((t) => t === 7)).toBe(true);
    // The consumed buffer went back with a kick: the ring is full again.
    expect(rig.driver.receiveQueue!.numFree).toBe(0);
  });
});

describe("console output before a console port exists", () => {
  it("put_chars says -EPIPE; the hvc layer drops and counts each chunk it cut", () => {
    const rig = new ConsoleRig(); // not probed: no port on the list
    const put = runGuest(rig.driver.putChars(Uint8Array.of(0x41)));
    expect(put).toEqual({ done: true, value: -32, yields: 0 });
    // A tty write in PAGE_SIZE chunks (4096 + 904), a printk line in one converted chunk.
    expect(runGuest(rig.driver.ttyWrite(new Uint8Array(5000)))).toMatchObject({ value: 0 });
    expect(runGuest(rig.driver.consolePrint(Uint8Array.of(0x61, 0x0a)))).toMatchObject({
      value: 0,
    });
    expect(rig.driver.counters).toMatchObject({
      putChars: 0,
      chunksDropped: 3,
      bytesDropped: 5003,
      bytesSent: 0,
    });
  });
});
