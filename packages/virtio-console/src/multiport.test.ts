import { type DriverVirtqueue, Reg } from "@vmmux/virtio-core";
import { describe, expect, it } from "vitest";
import { BAD_PORT_ID, ConsoleFeature, ControlEvent } from "./constants.js";
import { type ControlMessage, decodeControl, encodeControl } from "./control.js";
import { ConsoleRig, rawProbe, runGuest } from "./testing/rig.js";

const MULTIPORT = (1n << 32n) | (1n << BigInt(ConsoleFeature.MULTIPORT));

/** A two-port console probed with MULTIPORT; control receive buffers posted. */
function setup() {
  const rig = new ConsoleRig({ profile: "hardened", ports: 2 });
  const raw = rawProbe(rig, { features: MULTIPORT, queueCount: 6 });
  let next = raw.nextBuffer;
  const alloc = (len: number) => {
    const addr = next;
    next += Math.max(len, 64);
    return addr;
  };
  const controlRx = raw.queues[2]!;
  const rxBuffers = new Map<number, number>();
  for (let i = 0; i < 12; i++) {
    const addr = alloc(64);
    rxBuffers.set(controlRx.addChain([], [{ addr, len: 64 }]) as number, addr);
  }
  rig.transport.write(Reg.QueueNotify, 4, 2);
  const send = (message: ControlMessage) => {
    const bytes = encodeControl(message);
    const addr = alloc(bytes.length);
    rig.memory.write(addr, bytes);
    raw.queues[3]!.addChain([{ addr, len: bytes.length }], []);
    rig.transport.write(Reg.QueueNotify, 4, 3);
  };
  const received = (): ControlMessage[] => {
    const used = controlRx.collectUsed();
    if (!Array.isArray(used)) throw used;
    return used.map((u) => decodeControl(rig.memory.read(rxBuffers.get(u.head)!, u.len)));
  };
  const post = (queue: DriverVirtqueue, index: number, len: number) => {
    const addr = alloc(len);
    queue.addChain([], [{ addr, len }]);
    rig.transport.write(Reg.QueueNotify, 4, index);
    return addr;
  };
  return { rig, raw, send, received, post, alloc };
}

describe("VIRTIO_CONSOLE_F_MULTIPORT", () => {
  it("offers MULTIPORT with max_nr_ports and answers DEVICE_READY with one PORT_ADD per port", () => {
    const { rig, send, received } = setup();
    expect(rig.transport.read(Reg.Config + 4, 4)).toBe(2);
    send({ id: BAD_PORT_ID, event: ControlEvent.DEVICE_READY, value: 1 });
    expect(received()).toEqual([
      { id: 0, event: ControlEvent.DEVICE_ADD, value: 0 },
      { id: 1, event: ControlEvent.DEVICE_ADD, value: 0 },
    ]);
  });

  it("answers PORT_READY with CONSOLE_PORT for port 0, PORT_NAME and PORT_OPEN", () => {
    const { rig, send, received } = setup();
    send({ id: BAD_PORT_ID, event: ControlEvent.DEVICE_READY, value: 1 });
    received();
    send({ id: 0, event: ControlEvent.PORT_READY, value: 1 });
    send({ id: 1, event: ControlEvent.PORT_READY, value: 1 });
    expect(received()).toEqual([
      { id: 0, event: ControlEvent.CONSOLE_PORT, value: 1 },
      { id: 0, event: ControlEvent.PORT_NAME, value: 1, name: "port0" },
      { id: 0, event: ControlEvent.PORT_OPEN, value: 1 },
      { id: 1, event: ControlEvent.PORT_NAME, value: 1, name: "port1" },
      { id: 1, event: ControlEvent.PORT_OPEN, value: 1 },
    ]);
    send({ id: 1, event: ControlEvent.PORT_OPEN, value: 1 });
    expect(rig.device.portStatus(1)).toEqual({ added: true, guestReady: true, guestOpen: true });
  });

  it("bridges each port to its own sDDF queue pair, holding port input until the guest opens it", () => {
    const { rig, raw, send, received, post, alloc } = setup();
    send({ id: BAD_PORT_ID, event: ControlEvent.DEVICE_READY, value: 1 });
    received();
    // Port 1's receiveq (queue 4) has a buffer, but the port is not ready: input is held.
    const rxAddr = post(raw.queues[4]!, 4, 64);
    rig.typeInput(new TextEncoder().encode("early"), 9, 1);
    expect(raw.queues[4]!.hasUsed()).toBe(false);
    expect(rig.device.heldInput(1)).toBe(5);
    // Ready is not open: Linux would discard input for a port nobody has open.
    send({ id: 1, event: ControlEvent.PORT_READY, value: 1 });
    expect(raw.queues[4]!.hasUsed()).toBe(false);
    send({ id: 1, event: ControlEvent.PORT_OPEN, value: 1 });
    expect(raw.queues[4]!.collectUsed()).toEqual([{ head: 0, len: 5 }]);
    expect(new TextDecoder().decode(rig.memory.read(rxAddr, 5))).toBe("early");
    // Port 1's transmitq is queue 5; its bytes go to port 1's sDDF TX queue only.
    const txAddr = alloc(8);
    rig.memory.write(txAddr, new TextEncoder().encode("p1"));
    raw.queues[5]!.addChain([{ addr: txAddr, len: 2 }], []);
    rig.transport.write(Reg.QueueNotify, 4, 5);
    expect(rig.drainTx(1).bytes).toEqual([0x70, 0x31]);
    expect(rig.drainTx(0).bytes).toEqual([]);
    expect(rig.notifications).toContainEqual({ to: "virt_tx", port: 1 });
  });

  it("counts control messages a driver may not send and keeps going", () => {
    const { rig, send, received } = setup();
    send({ id: 0, event: ControlEvent.DEVICE_ADD, value: 0 });
    send({ id: 7, event: ControlEvent.PORT_READY, value: 1 });
    expect(rig.device.controlMalformed).toBe(2);
    send({ id: BAD_PORT_ID, event: ControlEvent.DEVICE_READY, value: 1 });
    expect(received()).toHaveLength(2);
  });
});

describe("MULTIPORT with the Linux front end", () => {
  const linuxProbe = () => new ConsoleRig({ profile: "hardened", ports: 2 });

  it("runs Linux's handshake: DEVICE_READY, PORT_ADD → PORT_READY, CONSOLE_PORT → PORT_OPEN", () => {
    const rig = linuxProbe();
    const result = runGuest(rig.driver.probe());
    expect(result).toMatchObject({ done: true, value: { ok: true } });
    expect(rig.driver.maxNrPorts).toBe(2);
    expect(rig.mmio.log.filter((a) => a.op === "R" && a.offset === Reg.Config + 4)).toHaveLength(1);
    // The PORT_ADDs arrive with the interrupt right after the DEVICE_READY kick; the control
    // work it scheduled runs when the probe returns.
    for (let i = 0; i < 4 && rig.takeIrq(); i++) runGuest(rig.driver.handleInterrupt());
    expect(rig.driver.portInfo()).toEqual([
      { id: 0, console: true, hostConnected: true, name: "port0" },
      { id: 1, console: false, hostConnected: true, name: "port1" },
    ]);
    expect(rig.device.controlLog.map((m) => [m.event, m.id])).toEqual([
      [ControlEvent.DEVICE_READY, BAD_PORT_ID],
      [ControlEvent.PORT_READY, 0],
      [ControlEvent.PORT_READY, 1],
      [ControlEvent.PORT_OPEN, 0],
    ]);
    runGuest(rig.driver.consolePrint(new TextEncoder().encode("mp\n")));
    expect(rig.drainTx(0).bytes).toEqual([0x6d, 0x70, 0x0d, 0x0a]);
  });

  it("hardened: input typed before the guest booted reaches Linux's console, none flushed", () => {
    const rig = linuxProbe();
    rig.typeInput(new TextEncoder().encode("typed early"), 5, 0);
    runGuest(rig.driver.probe());
    for (let i = 0; i < 8 && rig.takeIrq(); i++) runGuest(rig.driver.handleInterrupt());
    runGuest(rig.driver.pollInput());
    expect(new TextDecoder().decode(Uint8Array.from(rig.received))).toBe("typed early");
    expect(rig.receivedTags.every((t) => t === 5)).toBe(true);
    expect(rig.driver.counters.bytesFlushedBeforePort).toBe(0);
  });

  it("F_SIZE under MULTIPORT: a resize reaches the console port as a RESIZE control message", () => {
    const rig = linuxProbe();
    runGuest(rig.driver.probe());
    for (let i = 0; i < 8 && rig.takeIrq(); i++) runGuest(rig.driver.handleInterrupt());
    expect(rig.device.resize(100, 30)).toBe(true);
    expect(rig.takeIrq()).toBe(true);
    runGuest(rig.driver.handleInterrupt());
    expect(rig.driver.size).toEqual({ cols: 100, rows: 30 });
    // No configuration-change interrupt: with MULTIPORT Linux ignores config cols/rows.
    expect(rig.driver.counters.configChanges).toBe(0);
  });
});
