import { ManualPd } from "@vmmux/microkit-pd/testing";
import { ORIGIN_VIRTUALISER, tagOrigin } from "@vmmux/sddf-queues";
import { describe, expect, it } from "vitest";
import { virtTxConfig } from "./config.js";
import { RIG_DRIVER_CHANNEL, runInterleaved, TxRig } from "./testing/rig.js";
import { VirtTx } from "./virt-tx.js";

const RED = "\x1b[31m";
const GREEN = "\x1b[32m";
const END = "\x1b[0m";

const rig = (over: Partial<ConstructorParameters<typeof TxRig>[0]> = {}) =>
  new TxRig({ clients: 2, clientCapacity: 64, driverCapacity: 256, ...over });

const drvNotifies = (r: TxRig) =>
  r.pd.notifiedChannels().filter((c) => c === RIG_DRIVER_CHANNEL).length;

describe("serial_virt_tx framing and interleaving (reference §5.3–§5.5)", () => {
  it("wraps each client unit in its colour and the reset code", () => {
    const r = rig();
    r.write(0, "hello\r\n");
    r.write(1, "world\r\n");
    r.drain();
    expect(r.text()).toBe(`${RED}hello\r\n${END}${GREEN}world\r\n${END}`);
  });

  it("without colour moves the bytes bare", () => {
    const r = rig({ config: { enableColour: false } });
    r.write(0, "ab");
    r.write(1, "cd");
    r.drain();
    expect(r.text()).toBe("abcd");
  });

  it("interleaves clients at unit boundaries: one publish = one unit", () => {
    const r = rig({ config: { enableColour: false } });
    r.write(0, "Starting klogd: ");
    r.write(1, "Starting klogd: ");
    r.write(0, "OK\n");
    r.drain();
    expect(r.text()).toBe("Starting klogd: Starting klogd: OK\n");
  });

  it("moves everything a client published by the time it runs as one colour pair", () => {
    const r = rig();
    r.publish(0, "a");
    r.publish(0, "b");
    r.kick(0);
    r.drain();
    expect(r.text()).toBe(`${RED}ab${END}`);
  });

  it("tags colour bytes as virtualiser output and keeps client tags", () => {
    const r = rig();
    r.write(1, "x");
    r.drain();
    const origins = r.wire.map((w) => tagOrigin(w.tag));
    expect(origins).toEqual([
      ...Array(5).fill(ORIGIN_VIRTUALISER),
      2,
      ...Array(4).fill(ORIGIN_VIRTUALISER),
    ]);
  });

  it("notifies the driver after each transfer and the client only while its flag asks", () => {
    const r = rig();
    r.write(0, "a");
    r.write(0, "b");
    // Client 0's flag starts requested (§3.1): one notify, then cancelled.
    expect(r.pd.notifiedChannels()).toEqual([RIG_DRIVER_CHANNEL, 1, RIG_DRIVER_CHANNEL]);
    r.clients[0]?.requestConsumerSignal();
    r.write(0, "c");
    expect(r.pd.notifiedChannels().slice(3)).toEqual([RIG_DRIVER_CHANNEL, 1]);
  });

  it("does nothing for an empty client queue or an unknown channel", () => {
    const r = rig();
    r.kick(0);
    r.pd.run(r.virt.notified(40, r.pd));
    expect(r.pd.notifiedChannels()).toEqual([]);
  });
});

describe("serial_virt_tx init (reference §5.4)", () => {
  it("with RX enabled puts begin_str at the start of the driver queue and notifies", () => {
    const r = rig({ config: { enableRx: true } });
    expect(r.pd.notifiedChannels()).toEqual([RIG_DRIVER_CHANNEL]);
    r.write(0, "x");
    r.drain();
    expect(r.text()).toBe(`Begin input\r\n${RED}x${END}`);
  });

  it("without RX sends no begin string (§10 T11)", () => {
    const r = rig({ config: { enableRx: false } });
    expect(r.driver.empty()).toBe(true);
  });

  it("prints the client banner on the debug console, never into the queues", () => {
    const r = rig();
    const banners = r.pd.calls.flatMap((c) => (c.op === "debug" ? [c.message] : []));
    expect(banners).toEqual([
      "\x1b[31m'client0' is client 0\x1b[0m\n",
      "\x1b[32m'client1' is client 1\x1b[0m\n",
    ]);
    expect(r.driver.empty()).toBe(true);
  });

  it("release builds print no banner", () => {
    const r = rig({ config: { debugBuild: false } });
    expect(r.pd.calls).toEqual([]);
  });
});

describe("serial_virt_tx when the driver queue is short of space (§5.6, §10 T5)", () => {
  it("pends a unit that does not fit yet, requests a signal, and sends it when woken", () => {
    const r = rig({ driverCapacity: 16, config: { enableColour: false } });
    r.write(0, "0123456789");
    r.write(1, "abcdefghij");
    expect(r.virt.pending.toArray()).toEqual([1]);
    expect(r.driver.requireConsumerSignal()).toBe(true);
    expect(r.virt.loss.T5).toBe(1);
    r.drain();
    r.drain();
    expect(r.text()).toBe("0123456789abcdefghij");
    expect(r.virt.pending.length).toBe(0);
  });

  it("tx_return notifies the driver once, then the moved clients that asked, ascending", () => {
    const r = rig({ clients: 3, driverCapacity: 16, config: { enableColour: false } });
    r.write(0, "0123456789ABCDEF");
    r.write(2, "xy");
    r.write(1, "ab");
    expect(r.virt.pending.toArray()).toEqual([2, 1]);
    // Clients 1 and 2 still have the boot-time "requested" flag (§3.1).
    const before = r.pd.notifiedChannels().length;
    r.drain();
    expect(r.pd.notifiedChannels().slice(before)).toEqual([RIG_DRIVER_CHANNEL, 2, 3]);
    r.take();
    expect(r.text()).toBe("0123456789ABCDEFxyab");
  });

  it("makes no signal request when the unit fits at the first check", () => {
    const r = rig({ config: { enableColour: false } });
    r.driver.cancelConsumerSignal();
    r.write(0, "abc");
    expect(r.driver.requireConsumerSignal()).toBe(false);
  });

  it("serves a client whose unit fits while another is pending (no head-of-line blocking)", () => {
    const r = rig({ driverCapacity: 16, config: { enableColour: false } });
    r.write(0, "0123456789");
    r.write(1, "abcdefghij");
    r.write(0, "xy");
    r.take();
    expect(r.text()).toBe("0123456789xy");
  });

  it("retries pending clients once each, in FIFO order, re-queuing one that still does not fit", () => {
    const r = rig({ clients: 3, driverCapacity: 16, config: { enableColour: false } });
    r.write(0, "0123456789ABCDEF");
    r.write(1, "abcdefghijkl");
    r.write(2, "wxyz");
    r.write(1, "m");
    expect(r.virt.pending.toArray()).toEqual([1, 2]);
    r.drain(8);
    // 8 free: client 1 (13 bytes) still does not fit and goes back; client 2 (4) fits.
    expect(r.virt.pending.toArray()).toEqual([1]);
    r.drain();
    r.drain();
    expect(r.text()).toBe("0123456789ABCDEFwxyzabcdefghijklm");
  });

  it("re-checks after the request, so a driver that drains in that window cannot strand it (§3.3)", () => {
    const r = rig({ driverCapacity: 16, config: { enableColour: false } });
    r.write(0, "0123456789");
    r.publish(1, "abcdefghij");
    // The driver runs at the first preemption point: it empties the queue, sees the flag
    // cleared by its earlier cancel, and does not notify.
    r.driver.cancelConsumerSignal();
    runInterleaved(r.pd, r.virt.notified(2, r.pd), (_point, index) => {
      if (index === 0) r.take();
    });
    r.take();
    expect(r.text()).toBe("0123456789abcdefghij");
    expect(r.virt.pending.length).toBe(0);
    expect(r.virt.loss.T8Averted).toBe(1);
  });
});

describe("serial_virt_tx unit larger than the driver queue (§5.6, §10 T4)", () => {
  // 0x20-byte client queues and a 0x20-byte driver queue with colour on: a full client
  // unit needs 32 + 9 bytes, which can never fit.
  for (const profile of ["reference", "hardened"] as const) {
    it(`${profile}: ${profile === "reference" ? "stalls the client for good" : "moves it in parts, re-emitting the colour"}`, () => {
      const r = new TxRig({
        clients: 2,
        clientCapacity: 32,
        driverCapacity: 32,
        config: { profile },
      });
      const line = "The quick brown fox jumps over!\n";
      r.write(0, line);
      for (let i = 0; i < 10; i++) r.drain();
      r.write(1, "ok\n");
      for (let i = 0; i < 10; i++) r.drain();
      const text = r.text();
      if (profile === "reference") {
        expect(text).toBe(`${GREEN}ok\n${END}`);
        expect(r.virt.loss.T4).toBeGreaterThan(0);
        expect(r.clients[0]?.lengthProducer()).toBe(32);
      } else {
        // 32 - 9 = 23 bytes fit in the first part.
        expect(text).toBe(
          `${RED}The quick brown fox jum${END}${RED}ps over!\n${END}${GREEN}ok\n${END}`,
        );
        expect(r.virt.loss.T4).toBe(0);
        expect(r.clients[0]?.lengthProducer()).toBe(0);
      }
    });
  }
});

describe("serial_virt_tx transfer_all overrun (§2.4, §10 T7)", () => {
  // A client that outranks virt_tx publishes more while virt_tx is between chunks; the
  // C loop re-reads the tail and moves those bytes too, past the free space it checked.
  for (const profile of ["reference", "hardened"] as const) {
    it(`${profile}: ${profile === "reference" ? "loses the bytes that overflow" : "moves only what was checked, losing nothing"}`, () => {
      const r = new TxRig({
        clients: 1,
        clientCapacity: 32,
        driverCapacity: 16,
        config: { profile, enableColour: false },
      });
      r.publish(0, "0123456789ab");
      let injected = false;
      runInterleaved(r.pd, r.virt.notified(1, r.pd), () => {
        if (!injected) {
          injected = true;
          r.publish(0, "cdefghij");
        }
      });
      for (let i = 0; i < 4; i++) {
        r.drain();
        r.kick(0);
      }
      const text = r.text();
      if (profile === "reference") {
        expect(r.virt.loss.T7).toBe(4);
        expect(text).toBe("0123456789abcdef");
      } else {
        expect(r.virt.loss.T7).toBe(0);
        expect(text).toBe("0123456789abcdefghij");
      }
    });
  }
});

describe("serial_virt_tx line-atomic option (hardened only)", () => {
  const atomic = (over: Partial<ConstructorParameters<typeof TxRig>[0]> = {}) =>
    rig({ config: { enableColour: false, lineAtomic: true }, ...over });

  it("holds a partial line until its newline, so another client's line cannot split it", () => {
    const r = atomic();
    r.write(0, "Starting klogd: ");
    r.write(1, "Starting syslogd: OK\n");
    r.write(0, "OK\n");
    r.drain();
    expect(r.text()).toBe("Starting syslogd: OK\nStarting klogd: OK\n");
    expect(r.virt.loss.lineSplit).toBe(0);
  });

  it("moves whole lines and keeps the trailing partial one", () => {
    const r = atomic();
    r.write(0, "a\nb\nc");
    r.drain();
    expect(r.text()).toBe("a\nb\n");
    expect(r.clients[0]?.lengthProducer()).toBe(1);
  });

  it("splits and reports a line that fills half the client queue", () => {
    const r = atomic({ clientCapacity: 16 });
    r.write(0, "abcdefgh");
    r.drain();
    expect(r.text()).toBe("abcdefgh");
    expect(r.virt.loss.lineSplit).toBe(1);
    r.write(0, "ij\n");
    r.drain();
    expect(r.virt.loss.lineSplit).toBe(1);
  });

  it("flushes a partial line when the client asks for space", () => {
    const r = atomic();
    r.publish(0, "prompt$ ");
    r.clients[0]?.requestConsumerSignal();
    r.kick(0);
    r.drain();
    expect(r.text()).toBe("prompt$ ");
    expect(r.virt.loss.lineSplit).toBe(1);
  });

  it("is refused under the reference profile", () => {
    expect(() => rig({ config: { profile: "reference", lineAtomic: true } })).toThrow(
      /only under the hardened profile/,
    );
  });
});

describe("serial_virt_tx containment", () => {
  it("a driver that corrupts its queue's head cuts off no client; their bytes wait", () => {
    const r = rig({ config: { enableColour: false } });
    const driverQueue = r.pd.memory("tx_driver_queue");
    const head = r.driver.head;
    driverQueue.store32(4, (head + 0x7fff_0000) >>> 0);
    expect(() => {
      r.write(0, "abc");
      r.write(1, "def");
    }).not.toThrow();
    expect(r.virt.corruptPeers).toBe(1);
    driverQueue.store32(4, head);
    r.kick(0);
    r.kick(1);
    r.drain();
    expect(r.text()).toBe("abcdef");
  });

  it("a driver queue corrupt before init does not crash virt_tx at boot", () => {
    const pd = new ManualPd("serial_virt_tx", {
      memory: {
        q: { buffer: new ArrayBuffer(0x1000), perms: "rw" },
        d: { buffer: new ArrayBuffer(64), perms: "rw" },
        cq: { buffer: new ArrayBuffer(0x1000), perms: "rw" },
        cd: { buffer: new ArrayBuffer(64), perms: "rw" },
      },
    });
    pd.memory("q").store32(4, 0x7fff_0000);
    const virt = new VirtTx(
      virtTxConfig({
        driver: { queue: "q", data: "d", channel: 0 },
        clients: [{ conn: { queue: "cq", data: "cd", channel: 1 }, name: "c0" }],
        lineAtomic: true,
      }),
    );
    expect(() => pd.run(virt.init(pd))).not.toThrow();
    expect(virt.corruptPeers).toBe(1);
  });

  it("a client that corrupts its tail is cut off; the others keep going", () => {
    const r = rig({ config: { enableColour: false } });
    r.pd.memory("tx_client0_queue").store32(0, 0x7fff_0000);
    r.kick(0);
    r.write(1, "fine");
    r.drain();
    expect(r.virt.corruptPeers).toBe(1);
    expect(r.text()).toBe("fine");
    expect(drvNotifies(r)).toBe(1);
  });
});
