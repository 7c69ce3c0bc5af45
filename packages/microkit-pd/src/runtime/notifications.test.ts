import { describe, expect, it } from "vitest";
import type { AccessWidth, DeviceHost, MmioDevice } from "../program.js";
import { work } from "../program.js";
import { pdProgram, type SystemSpec, scenarioSystem } from "../testing/index.js";
import { formatEvent, type System, type SystemOptions } from "./index.js";

const US = 1000;

const build = scenarioSystem;

function entries(sys: System, thread: string): string[] {
  return sys.log.flatMap((e) =>
    e.type === "entry" && e.thread === thread
      ? [`${e.entry}${e.ch === undefined ? "" : `(${e.ch})`}`]
      : [],
  );
}

describe("§4.3.1 notifications coalesce into one word", () => {
  it("calls notified once per set bit in ascending channel order after the current entry point", () => {
    const sys = build(
      {
        pds: [
          { name: "sender", priority: 50, irqs: [{ id: 5, irq: 50, trigger: "edge" }] },
          { name: "receiver", priority: 10 },
        ],
        channels: [
          [
            { pd: "sender", id: 0 },
            { pd: "receiver", id: 9 },
          ],
          [
            { pd: "sender", id: 1 },
            { pd: "receiver", id: 3 },
          ],
          [
            { pd: "sender", id: 2 },
            { pd: "receiver", id: 40 },
          ],
        ],
      },
      {
        // The receiver is busy in init when the signals arrive; they form one word.
        "receiver.elf": pdProgram({
          *init() {
            yield work("us", 100);
          },
          *notified() {
            yield work("us", 1);
          },
        }),
        "sender.elf": pdProgram({
          *notified(_ch, pd) {
            for (const ch of [0, 1, 1, 2]) pd.notify(ch);
          },
        }),
      },
    );
    sys.at(10 * US, () => {
      sys.setIrqLevel(50, true);
      sys.setIrqLevel(50, false);
    });
    sys.runUntil(5 * US);
    expect(sys.thread("receiver").entry).toBe("init");
    sys.runUntilIdle(1e9);
    expect(entries(sys, "receiver")).toEqual([
      "init",
      "notified(3)",
      "notified(9)",
      "notified(40)",
    ]);
    const outcomes = sys.log.flatMap((e) =>
      e.type === "signal" && e.from === "sender" ? [e.outcome] : [],
    );
    expect(outcomes).toEqual(["pending", "pending", "coalesced", "pending"]);
  });

  it("hands a PD already blocked in receive only the first signal's badge; later signals form the next word", () => {
    const sys = build(
      {
        pds: [
          { name: "sender", priority: 50, irqs: [{ id: 5, irq: 50, trigger: "edge" }] },
          { name: "receiver", priority: 10 },
        ],
        channels: [
          [
            { pd: "sender", id: 0 },
            { pd: "receiver", id: 9 },
          ],
          [
            { pd: "sender", id: 1 },
            { pd: "receiver", id: 3 },
          ],
        ],
      },
      {
        "receiver.elf": pdProgram({
          *notified() {
            yield work("us", 1);
          },
        }),
        "sender.elf": pdProgram({
          // Woken by an IRQ once the receiver waits in its event loop.
          *notified(_ch, pd) {
            pd.notify(0);
            yield work("us", 1);
            pd.notify(1);
            yield work("us", 1);
            pd.notify(0);
          },
        }),
      },
    );
    sys.at(10 * US, () => {
      sys.setIrqLevel(50, true);
      sys.setIrqLevel(50, false);
    });
    sys.runUntilIdle(1e9);
    // Word 1 = {9} alone (handed over at wake-up), word 2 = {3, 9}.
    expect(entries(sys, "receiver")).toEqual(["init", "notified(9)", "notified(3)", "notified(9)"]);
    const outcomes = sys.log.flatMap((e) =>
      e.type === "signal" && e.from === "sender" ? [e.outcome] : [],
    );
    expect(outcomes).toEqual(["woken", "pending", "pending"]);
  });

  it("drops a notify on a channel the PD does not own, with a debug record", () => {
    const sys = build(
      { pds: [{ name: "lonely", priority: 1 }] },
      {
        "lonely.elf": pdProgram({
          *init(pd) {
            pd.notify(5);
          },
        }),
      },
    );
    sys.runUntilIdle(1e9);
    expect(sys.log.some((e) => e.type === "signal")).toBe(false);
    expect(sys.log.map(formatEvent)).toContain("0 debug lonely microkit_notify: invalid channel 5");
  });
});

describe("§3.5 T3: coalescing and order with an IRQ", () => {
  const spec: SystemSpec = {
    pds: [
      { name: "h", priority: 50, irqs: [{ id: 0, irq: 40, trigger: "edge" }] },
      { name: "q", priority: 40, irqs: [{ id: 0, irq: 42, trigger: "edge" }] },
      { name: "r", priority: 30, irqs: [{ id: 0, irq: 43, trigger: "edge" }] },
      {
        name: "p",
        priority: 5,
        irqs: [
          { id: 7, irq: 41, trigger: "edge" },
          { id: 9, irq: 44, trigger: "edge" },
        ],
      },
    ],
    channels: [
      [
        { pd: "q", id: 1 },
        { pd: "p", id: 2 },
      ],
      [
        { pd: "r", id: 1 },
        { pd: "p", id: 4 },
      ],
    ],
  };
  const programs = (pBusy: number): SystemOptions["programs"] => ({
    "h.elf": pdProgram({
      *notified() {
        yield work("us", 100);
      },
    }),
    "q.elf": pdProgram({
      *notified(_ch, pd) {
        pd.notify(1);
        yield work("us", 1);
        pd.notify(1);
      },
    }),
    "r.elf": pdProgram({
      *notified(_ch, pd) {
        pd.notify(1);
      },
    }),
    "p.elf": pdProgram({
      *notified(ch) {
        if (ch === 9) yield work("us", pBusy);
      },
    }),
  });

  function run(pBusy: number, pFirst: boolean): System {
    const sys = build(spec, programs(pBusy));
    const pulse = (irq: number) => () => {
      sys.setIrqLevel(irq, true);
      sys.setIrqLevel(irq, false);
    };
    if (pFirst) sys.at(5 * US, pulse(44));
    sys.at(10 * US, pulse(40));
    sys.at(20 * US, pulse(41));
    sys.at(30 * US, pulse(42));
    sys.at(31 * US, pulse(43));
    sys.at(500 * US, pulse(41));
    sys.runUntilIdle(1e9);
    return sys;
  }

  it("delivers the IRQ's badge alone to the waiting PD, then {2,4} as the next word", () => {
    const sys = run(0, false);
    expect(entries(sys, "p")).toEqual(["init", "notified(7)", "notified(2)", "notified(4)"]);
  });

  it("batches all three into one word {2,4,7} when P is inside an entry point", () => {
    const sys = run(200, true);
    expect(entries(sys, "p")).toEqual([
      "init",
      "notified(9)",
      "notified(2)",
      "notified(4)",
      "notified(7)",
    ]);
  });

  it("does not deliver IRQ 7 again until P acks it; the new edge is latched", () => {
    const sys = run(0, false);
    const irq41 = sys.log.flatMap((e) =>
      e.type === "irq" && e.irq === 41 ? [`${e.t} ${e.outcome}`] : [],
    );
    expect(irq41).toEqual([`${20 * US} delivered`, `${500 * US} latched`]);
  });
});

/** A device whose interrupt line stays asserted until the driver writes 1 to offset 4. */
class LevelDevice implements MmioDevice {
  asserted = false;
  writes: number[] = [];
  constructor(
    private readonly host: DeviceHost,
    private readonly irq: number,
  ) {}
  raise(): void {
    this.asserted = true;
    this.host.setIrqLevel(this.irq, true);
  }
  read(offset: number, _width: AccessWidth): number {
    return offset === 0 ? (this.asserted ? 1 : 0) : 0;
  }
  write(offset: number, _width: AccessWidth, value: number): void {
    this.writes.push(value);
    if (offset === 4 && value === 1) {
      this.asserted = false;
      this.host.setIrqLevel(this.irq, false);
      this.host.trace("cleared");
    }
  }
}

describe("§4.3.4 IRQs are masked until acked", () => {
  const spec: SystemSpec = {
    pds: [{ name: "drv", priority: 100, irqs: [{ id: 3, irq: 33 }], maps: [{ mr: "regs" }] }],
    regions: [{ name: "regs", size: 0x1000, physAddr: 0x900_0000 }],
  };

  it("re-fires a level IRQ that is still asserted at ack time, and stops once the device deasserts", () => {
    let device: LevelDevice | undefined;
    let count = 0;
    const sys = build(
      spec,
      {
        "drv.elf": pdProgram({
          *notified(ch, pd) {
            count++;
            const regs = pd.mmio("regs");
            expect(regs.read(0, 4)).toBe(1);
            yield work("mmio");
            if (count === 3) regs.write(4, 4, 1);
            pd.irqAck(ch);
          },
        }),
      },
      {
        devices: {
          regs: (host) => {
            device = new LevelDevice(host, 33);
            return device;
          },
        },
      },
    );
    sys.at(10 * US, () => device!.raise());
    sys.runUntilIdle(1e9);
    expect(count).toBe(3);
    const kinds = sys.log.flatMap((e) =>
      e.type === "irq" || e.type === "irq-ack" || e.type === "device" ? [e.type] : [],
    );
    // The start-up ack of §2.1, then three deliveries, the device clears, the last ack.
    expect(kinds).toEqual([
      "irq-ack",
      "irq",
      "irq-ack",
      "irq",
      "irq-ack",
      "irq",
      "device",
      "irq-ack",
    ]);
  });

  it("latches one edge while masked and delivers it on ack; further edges while masked are not counted", () => {
    let count = 0;
    const sys = build(
      { pds: [{ name: "drv", priority: 100, irqs: [{ id: 3, irq: 33, trigger: "edge" }] }] },
      {
        "drv.elf": pdProgram({
          *notified(ch, pd) {
            count++;
            yield work("us", 50);
            pd.irqAck(ch);
          },
        }),
      },
    );
    const pulse = () => {
      sys.setIrqLevel(33, true);
      sys.setIrqLevel(33, false);
    };
    for (const t of [10, 20, 30, 40]) sys.at(t * US, pulse);
    sys.runUntilIdle(1e9);
    expect(count).toBe(2);
  });

  it("keeps an IRQ raised during init pending until the loop's start-up ack, then delivers it", () => {
    const sys = build(
      { pds: [{ name: "drv", priority: 100, irqs: [{ id: 3, irq: 33, trigger: "edge" }] }] },
      {
        "drv.elf": pdProgram({
          *init() {
            yield work("us", 20);
          },
          *notified(ch, pd) {
            pd.irqAck(ch);
          },
        }),
      },
    );
    sys.at(5 * US, () => {
      sys.setIrqLevel(33, true);
      sys.setIrqLevel(33, false);
    });
    sys.runUntilIdle(1e9);
    const seq = sys.log
      .filter(
        (e) =>
          e.type === "irq" || e.type === "irq-ack" || (e.type === "entry" && e.thread === "drv"),
      )
      .map(formatEvent);
    expect(seq).toEqual([
      "0 drv init",
      "5000 irq 33 -> drv[3] latched",
      "20000 irq-ack drv[3]",
      "20000 irq 33 -> drv[3] delivered",
      "20000 drv notified(3)",
      "20000 irq-ack drv[3]",
    ]);
  });

  it("performs a deferred ack when the entry point returns, fused with the receive", () => {
    const sys = build(
      { pds: [{ name: "drv", priority: 100, irqs: [{ id: 3, irq: 33, trigger: "edge" }] }] },
      {
        "drv.elf": pdProgram({
          *notified(ch, pd) {
            pd.deferredIrqAck(ch);
            yield work("us", 5);
          },
        }),
      },
    );
    sys.at(10 * US, () => {
      sys.setIrqLevel(33, true);
      sys.setIrqLevel(33, false);
    });
    sys.runUntilIdle(1e9);
    const seq = sys.log
      .filter(
        (e) =>
          e.type === "entry" ||
          e.type === "entry-end" ||
          e.type === "irq-ack" ||
          e.type === "deferred",
      )
      .map(formatEvent)
      .slice(3);
    expect(seq).toEqual([
      "10000 drv notified(3)",
      "10000 deferred drv irq-ack(3) set",
      "15000 drv end notified",
      "15000 deferred drv irq-ack(3) performed",
      "15000 irq-ack drv[3]",
    ]);
  });
});

describe("§4.3.11 the deferred slot", () => {
  it("keeps only the last deferred op; the first is lost", () => {
    const sys = build(
      {
        pds: [
          { name: "src", priority: 10 },
          { name: "a", priority: 20 },
          { name: "b", priority: 20 },
        ],
        channels: [
          [
            { pd: "src", id: 1 },
            { pd: "a", id: 0 },
          ],
          [
            { pd: "src", id: 2 },
            { pd: "b", id: 0 },
          ],
        ],
      },
      {
        "src.elf": pdProgram({
          *init(pd) {
            pd.deferredNotify(1);
            pd.deferredNotify(2);
            yield work("us", 1);
          },
        }),
        "a.elf": pdProgram({}),
        "b.elf": pdProgram({}),
      },
    );
    sys.runUntilIdle(1e9);
    expect(entries(sys, "a")).toEqual(["init"]);
    expect(entries(sys, "b")).toEqual(["init", "notified(0)"]);
    expect(sys.log.map(formatEvent)).toContain("0 deferred src notify(1) overwritten");
  });

  it("sends the deferred signal before the PPC reply (2.3.0 behaviour)", () => {
    const sys = build(
      {
        pds: [
          { name: "client", priority: 10 },
          { name: "server", priority: 20 },
          { name: "watcher", priority: 30 },
        ],
        channels: [
          [
            { pd: "client", id: 0, pp: true },
            { pd: "server", id: 0 },
          ],
          [
            { pd: "server", id: 1 },
            { pd: "watcher", id: 0 },
          ],
        ],
      },
      {
        "client.elf": pdProgram({
          *init(pd) {
            yield* pd.ppcall(0, { label: 1, count: 0 });
          },
        }),
        "server.elf": pdProgram({
          *protected(_ch, _msg, pd) {
            pd.deferredNotify(1);
            yield work("us", 1);
            return { label: 0, count: 0 };
          },
        }),
        "watcher.elf": pdProgram({
          *notified() {
            yield work("us", 1);
          },
        }),
      },
    );
    sys.runUntilIdle(1e9);
    const seq = sys.log
      .filter(
        (e) =>
          e.type === "signal" ||
          e.type === "reply" ||
          (e.type === "entry" && e.thread === "watcher"),
      )
      .map(formatEvent);
    expect(seq).toEqual([
      "0 watcher init",
      "1000 signal server -> watcher[0] woken",
      "1000 watcher notified(0)",
      "2000 reply server -> client",
    ]);
  });
});
