import { provenanceTag, tagSeq } from "@vmmux/sddf-queues";
import { DriverQueueError, Reg, Status } from "@vmmux/virtio-core";
import { describe, expect, it } from "vitest";
import { ConsoleFeature } from "./constants.js";
import { ConsoleRig, rawProbe, runGuest } from "./testing/rig.js";

const GUEST = 0x01;

/** Bytes 0..n-1 (mod 256) and per-byte guest tags. */
function payload(n: number, seq0 = 0): { bytes: Uint8Array; tags: Uint32Array } {
  const bytes = Uint8Array.from({ length: n }, (_, i) => (seq0 + i) & 0xff);
  const tags = Uint32Array.from({ length: n }, (_, i) => provenanceTag(GUEST, seq0 + i));
  return { bytes, tags };
}

function probed(options: ConstructorParameters<typeof ConsoleRig>[0]): ConsoleRig {
  const rig = new ConsoleRig(options);
  const result = runGuest(rig.driver.probe());
  if (!result.done || !result.value.ok) throw new Error("probe failed");
  return rig;
}

describe("TX larger than the serial queue", () => {
  it("hardened: a page-sized tty write through a 1 KiB queue arrives whole, in order, tagged", () => {
    const rig = probed({ profile: "hardened", serialCapacity: 1024 });
    const { bytes, tags } = payload(4096);
    const step = rig.driver.ttyWrite(bytes, tags);
    const out: number[] = [];
    const outTags: number[] = [];
    const result = runGuest(step, 10_000, () => {
      const d = rig.drainTx();
      out.push(...d.bytes);
      outTags.push(...d.tags);
    });
    expect(result).toMatchObject({ done: true, value: 4096 });
    const rest = rig.drainTx();
    out.push(...rest.bytes);
    outTags.push(...rest.tags);
    expect(out).toEqual([...bytes]);
    expect(outTags).toEqual([...tags]);
    expect(rig.device.counters().txBlocked).toBeGreaterThanOrEqual(3);
  });

  it("reference (release build): the oversize chain never leaves and the guest spins forever", () => {
    const rig = probed({ profile: "reference", serialCapacity: 1024, build: "release" });
    const step = rig.driver.ttyWrite(payload(4096).bytes);
    const result = runGuest(step, 2_000, () => rig.drainTx());
    expect(result.done).toBe(false);
    expect(rig.device.counters().txBytes).toBe(0);
    expect(rig.device.findingCounts.get("txOversizeAssert")).toBeGreaterThanOrEqual(1);
    // Input makes libvmm retry TX (RX then TX on every serial-RX signal): still stuck.
    rig.typeInput(Uint8Array.of(0x61));
    expect(runGuest(step, 100).done).toBe(false);
  });

  it("reference (debug build): the oversize chain trips libvmm's assert and the VMM is gone", () => {
    const rig = probed({ profile: "reference", serialCapacity: 1024, build: "debug" });
    const result = runGuest(rig.driver.ttyWrite(payload(4096).bytes), 100);
    expect(result.done).toBe(false);
    expect(rig.device.crashed?.defect).toBe("txOversizeAssert");
    expect(rig.mmio.blocked).toBe(true);
  });

  it("hardened: a multi-descriptor chain larger than the queue is transferred in parts", () => {
    const rig = new ConsoleRig({ profile: "hardened", serialCapacity: 256 });
    const raw = rawProbe(rig);
    const tx = raw.queues[1]!;
    const parts = [300, 200, 100].map((len, i) => {
      const addr = raw.nextBuffer + i * 0x1000;
      const p = payload(len, i * 1000);
      rig.memory.write(addr, p.bytes, p.tags);
      return { addr, len, p };
    });
    const head = tx.addChain(
      parts.map(({ addr, len }) => ({ addr, len })),
      [],
    );
    expect(typeof head).toBe("number");
    rig.transport.write(Reg.QueueNotify, 4, 1);
    const out: number[] = [];
    for (let i = 0; i < 10 && !tx.hasUsed(); i++) out.push(...rig.drainTx().tags);
    expect(tx.hasUsed()).toBe(true);
    out.push(...rig.drainTx().tags);
    expect(out.map(tagSeq)).toEqual(parts.flatMap(({ p }) => [...p.tags].map(tagSeq)));
  });
});

describe("TX wake-up after the serial queue fills (lost wake-up, L13)", () => {
  function fillThenWrite(profile: "reference" | "hardened") {
    const rig = probed({ profile, serialCapacity: 1024 });
    // 1000 bytes leave room for 24; the next 100-byte write does not fit.
    runGuest(rig.driver.ttyWrite(payload(1000).bytes));
    const step = rig.driver.ttyWrite(payload(100, 1000).bytes);
    const first = runGuest(step, 20);
    expect(first.done).toBe(false);
    // virt_tx drains the queue and signals the device on its TX channel. Hardened already
    // moved the first 24 bytes of the new write into the free space; libvmm moves none.
    const drained = rig.drainTx();
    expect(drained.bytes).toHaveLength(profile === "hardened" ? 1024 : 1000);
    return { rig, step };
  }

  it("hardened: virt_tx's signal resumes TX and the spinning guest continues", () => {
    const { rig, step } = fillThenWrite("hardened");
    expect(runGuest(step, 5)).toMatchObject({ done: true, value: 100 });
    expect(rig.drainTx().bytes).toHaveLength(76);
  });

  it("reference: the signal is ignored; only unrelated input releases the guest", () => {
    const { rig, step } = fillThenWrite("reference");
    expect(runGuest(step, 500).done).toBe(false);
    expect(rig.device.findingCounts.get("txSignalIgnored")).toBe(1);
    rig.typeInput(Uint8Array.of(0x0d));
    expect(runGuest(step, 5)).toMatchObject({ done: true, value: 100 });
  });
});

describe("RX with a slow guest", () => {
  for (const profile of ["reference", "hardened"] as const) {
    it(`${profile}: bytes wait in the sDDF queue until the guest re-posts buffers, none lost`, () => {
      const rig = probed({ profile, queueSize: 4 });
      const input = payload(20_000);
      rig.typeInput(input.bytes, input.tags);
      // Four page buffers took 16 KiB; the rest waits in the sDDF RX queue.
      expect(rig.device.counters().rxBytes).toBe(4 * 4096);
      expect(rig.serial[0]!.rx.lengthConsumer()).toBe(20_000 - 4 * 4096);
      for (let round = 0; round < 50 && rig.received.length < 20_000; round++) {
        if (rig.takeIrq()) runGuest(rig.driver.handleInterrupt());
        runGuest(rig.driver.pollInput());
      }
      expect(rig.received).toEqual([...input.bytes]);
      expect(rig.receivedTags).toEqual([...input.tags]);
      expect(rig.serial[0]!.rx.lengthConsumer()).toBe(0);
    });
  }
});

describe("input before the guest's receive queue is ready", () => {
  it("reference: libvmm discards it (L14)", () => {
    const rig = new ConsoleRig({ profile: "reference" });
    rig.typeInput(payload(10).bytes);
    expect(rig.device.counters().rxDiscardedNotReady).toBe(10);
    expect(rig.device.findingCounts.get("rxDiscardBeforeReady")).toBe(1);
    const raw = rawProbe(rig);
    raw.queues[0]!.addChain([], [{ addr: raw.nextBuffer, len: 64 }]);
    rig.transport.write(Reg.QueueNotify, 4, 0);
    expect(raw.queues[0]!.hasUsed()).toBe(false);
  });

  it("hardened: it is kept across the probe's reset and delivered once the driver stops posting", () => {
    const rig = new ConsoleRig({ profile: "hardened" });
    const early = payload(10);
    rig.typeInput(early.bytes, early.tags);
    expect(rig.device.heldInput()).toBe(10);
    const raw = rawProbe(rig);
    raw.queues[0]!.addChain([], [{ addr: raw.nextBuffer, len: 64 }]);
    // The kick that posts a buffer may be add_port's (virtio §5.2 window): nothing yet; this
    // driver never fills its ring, so the third event in a row with no buffer posted brings it.
    for (let kick = 0; kick < 3; kick++) {
      rig.transport.write(Reg.QueueNotify, 4, 0);
      expect(raw.queues[0]!.collectUsed()).toEqual([]);
      expect(rig.device.heldInput()).toBe(10);
    }
    rig.transport.write(Reg.QueueNotify, 4, 0);
    expect(raw.queues[0]!.collectUsed()).toEqual([{ head: 0, len: 10 }]);
    expect([...rig.memory.read(raw.nextBuffer, 10)]).toEqual([...early.bytes]);
    expect([...rig.memory.tags(raw.nextBuffer, 10)]).toEqual([...early.tags]);
  });

  it("hardened: beyond the bound the overflow is counted", () => {
    const rig = new ConsoleRig({ profile: "hardened", preReadyLimit: 8 });
    rig.typeInput(payload(20).bytes);
    expect(rig.device.heldInput()).toBe(8);
    expect(rig.device.counters().rxOverflowBeforeReady).toBe(12);
  });

  it("hardened with Linux and EVENT_IDX: early input waits for the filled ring, later keys interrupt at once", () => {
    const rig = new ConsoleRig({ profile: "hardened", features: { eventIdx: true } });
    rig.typeInput(Uint8Array.of(0x61, 0x62));
    runGuest(rig.driver.probe());
    expect(rig.driver.counters.bytesFlushedBeforePort).toBe(0);
    const keys = [0x63, 0x64, 0x0d];
    for (const key of keys) {
      rig.typeInput(Uint8Array.of(key));
      for (let round = 0; round < 4; round++)
        if (rig.takeIrq()) runGuest(rig.driver.handleInterrupt());
    }
    // The first key after the probe finds the ring full for the first time: the early bytes
    // wait one more event (add_port's last kick cannot be told from it), then all arrive in order.
    expect(rig.received).toEqual([0x61, 0x62, 0x63, 0x64, 0x0d]);
  });

  it("hardened with Linux: input typed before the probe is not flushed in add_port's window; the next keystroke brings it", () => {
    const rig = new ConsoleRig({ profile: "hardened" });
    const early = payload(10);
    rig.typeInput(early.bytes);
    runGuest(rig.driver.probe());
    expect(rig.driver.counters.bytesFlushedBeforePort).toBe(0);
    expect(rig.device.heldInput()).toBe(10);
    rig.typeInput(Uint8Array.of(0x0d));
    for (let round = 0; round < 4 && rig.received.length < 11; round++)
      if (rig.takeIrq()) runGuest(rig.driver.handleInterrupt());
    expect(rig.received).toEqual([...early.bytes, 0x0d]);
    expect(rig.device.counters().rxHeldBeforeReady).toBe(10);
  });
});

describe("hardened features", () => {
  it("F_SIZE: a resize changes cols/rows and raises a configuration-change interrupt Linux handles", () => {
    const rig = probed({ profile: "hardened" });
    rig.takeIrq();
    expect(rig.device.resize(132, 43)).toBe(true);
    expect(rig.takeIrq()).toBe(true);
    runGuest(rig.driver.handleInterrupt());
    expect(rig.driver.size).toEqual({ cols: 132, rows: 43 });
    expect(rig.driver.counters.configChanges).toBe(1);
  });

  it("F_EMERG_WRITE: a config write to emerg_wr outputs its low byte, even before negotiation", () => {
    const rig = new ConsoleRig({ profile: "hardened" });
    rig.transport.write(Reg.Config + 8, 4, 0x1234_5621);
    expect(rig.drainTx().bytes).toEqual([0x21]);
    expect(rig.device.counters().emergBytes).toBe(1);
  });

  it("reference offers exactly VERSION_1 and refuses config space; hardened offers SIZE and EMERG_WRITE", () => {
    const reference = new ConsoleRig({ profile: "reference" });
    expect(reference.device.features).toBe(1n << 32n);
    const read = reference.transport.readAccess(Reg.Config, 2);
    expect(read.resume).toBe(false);
    const hardened = new ConsoleRig({ profile: "hardened" });
    expect(hardened.device.features).toBe(
      (1n << 32n) |
        (1n << BigInt(ConsoleFeature.SIZE)) |
        (1n << BigInt(ConsoleFeature.EMERG_WRITE)),
    );
  });
});

describe("transmit queue rules", () => {
  it("hardened: a device-writable buffer in the transmitq sets DEVICE_NEEDS_RESET and sends nothing", () => {
    const rig = new ConsoleRig({ profile: "hardened" });
    const raw = rawProbe(rig);
    const tx = raw.queues[1]!;
    rig.memory.write(raw.nextBuffer, payload(8).bytes);
    tx.addChain([{ addr: raw.nextBuffer, len: 4 }], [{ addr: raw.nextBuffer + 4, len: 4 }]);
    rig.transport.write(Reg.QueueNotify, 4, 1);
    expect(rig.transport.status & Status.DEVICE_NEEDS_RESET).not.toBe(0);
    expect(rig.drainTx().bytes).toEqual([]);
  });

  it("reference: libvmm sends readable and writable buffers alike and returns used len 0", () => {
    const rig = new ConsoleRig({ profile: "reference" });
    const raw = rawProbe(rig);
    const tx = raw.queues[1]!;
    rig.memory.write(raw.nextBuffer, payload(8).bytes);
    tx.addChain([{ addr: raw.nextBuffer, len: 4 }], [{ addr: raw.nextBuffer + 4, len: 4 }]);
    rig.transport.write(Reg.QueueNotify, 4, 1);
    expect(rig.drainTx().bytes).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(tx.collectUsed()).toEqual([{ head: 0, len: 0 }]);
  });

  it("reference: TX waits for QueueSel 1 whatever queue was notified", () => {
    const rig = new ConsoleRig({ profile: "reference" });
    const raw = rawProbe(rig);
    rig.transport.write(Reg.QueueSel, 4, 0);
    rig.memory.write(raw.nextBuffer, payload(4).bytes);
    raw.queues[1]!.addChain([{ addr: raw.nextBuffer, len: 4 }], []);
    rig.transport.write(Reg.QueueNotify, 4, 1);
    expect(rig.drainTx().bytes).toEqual([]);
    rig.transport.write(Reg.QueueSel, 4, 1);
    rig.transport.write(Reg.QueueNotify, 4, 0);
    expect(rig.drainTx().bytes).toEqual([0, 1, 2, 3]);
    expect(raw.queues[1]!.collectUsed()).not.toBeInstanceOf(DriverQueueError);
  });
});

describe("double check against virt_tx running between 'queue full' and the signal request", () => {
  function race(defects: { txNoRecheck?: boolean }) {
    let raced = false;
    const rig = new ConsoleRig({
      profile: "hardened",
      defects,
      serialCapacity: 64,
      onPreempt: (site, port, r) => {
        // virt_tx drains once, right here; its flag still says "no signal wanted".
        if (site === "tx-full" && !raced) {
          raced = true;
          r.drainTx(port, Number.POSITIVE_INFINITY, true);
        }
      },
    });
    runGuest(rig.driver.probe());
    // Clear the initial "signal requested" state as a first transfer would.
    rig.serial[0]!.tx.cancelConsumerSignal();
    const step = rig.driver.ttyWrite(payload(100).bytes);
    return { rig, result: runGuest(step, 200) };
  }

  it("hardened re-checks after requesting, sees the freed space and completes", () => {
    const { rig, result } = race({});
    expect(result.done).toBe(true);
    expect(rig.pendingTxSignals).toEqual([]);
    expect(rig.device.counters().txRecheckHits).toBe(1);
  });

  it("without the re-check the wake-up is lost: nobody signals and the guest spins (T8)", () => {
    const { rig, result } = race({ txNoRecheck: true });
    expect(result.done).toBe(false);
    expect(rig.pendingTxSignals).toEqual([]);
    expect(rig.device.txWaiting()).toBe(true);
  });
});

describe("console: INDIRECT_DESC when the hardened device offers it", () => {
  it("transmits an indirect chain's readable buffers in order (VirtIO 1.2 §2.7.5.3)", () => {
    const rig = new ConsoleRig({ profile: "hardened", features: { indirectDesc: true } });
    const raw = rawProbe(rig, { features: (1n << 32n) | (1n << 28n) });
    const tx = raw.queues[1]!;
    const a = raw.nextBuffer;
    rig.memory.write(a, new TextEncoder().encode("ab"));
    rig.memory.write(a + 0x100, new TextEncoder().encode("cd"));
    const head = tx.addChain(
      [
        { addr: a, len: 2 },
        { addr: a + 0x100, len: 2 },
      ],
      [],
      { indirect: true },
    );
    expect(typeof head).toBe("number");
    rig.transport.write(Reg.QueueNotify, 4, 1);
    expect(new TextDecoder().decode(Uint8Array.from(rig.drainTx().bytes))).toBe("abcd");
    expect(tx.collectUsed()).toEqual([{ head, len: 0 }]);
    expect(rig.transport.errors).toEqual([]);
  });
});
