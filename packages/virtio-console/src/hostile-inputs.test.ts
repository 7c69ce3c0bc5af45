/**
 * Hostile inputs beyond the fuzzer (reference virtio §6.3) against the console device:
 * malformed queue indices, buffers outside guest RAM on every queue (control queues
 * included), huge lengths, and mixed defect switches. Nothing may throw out of the device.
 */
import { Reg, Status } from "@vmmux/virtio-core";
import { describe, expect, it } from "vitest";
import { BAD_PORT_ID, ConsoleFeature, ControlEvent, queueRole } from "./constants.js";
import { encodeControl } from "./control.js";
import { ConsoleRig, RIG_RAM_BASE, RIG_RAM_SIZE, rawProbe } from "./testing/rig.js";

const MULTIPORT = (1n << 32n) | (1n << BigInt(ConsoleFeature.MULTIPORT));
const OUTSIDE_RAM = RIG_RAM_BASE + RIG_RAM_SIZE;

describe("console: hostile inputs", () => {
  it("maps NaN, negative, fractional and huge queue indices to no queue", () => {
    for (const index of [Number.NaN, -1, -2, 2.5, 2 ** 53, Number.POSITIVE_INFINITY]) {
      expect(queueRole(index, 4, true)).toEqual({ kind: "none" });
      expect(queueRole(index, 1, false)).toEqual({ kind: "none" });
    }
    expect(queueRole(5, 4, true)).toEqual({ kind: "tx", port: 1 });
  });

  it("contains a control chain outside guest ram when the transport skips address checks", () => {
    // A hardened console whose transport runs libvmm's unchecked addresses (L2): the control
    // queues must treat an unmapped buffer as the modelled crash, never throw.
    const rig = new ConsoleRig({
      profile: "hardened",
      ports: 2,
      transportDefects: { uncheckedGuestAddresses: true },
    });
    const raw = rawProbe(rig, { features: MULTIPORT, queueCount: 6 });
    const bytes = encodeControl({ id: BAD_PORT_ID, event: ControlEvent.DEVICE_READY, value: 1 });
    rig.memory.write(raw.nextBuffer, bytes);
    raw.queues[3]!.addChain(
      [
        { addr: raw.nextBuffer, len: 4 },
        { addr: OUTSIDE_RAM, len: bytes.length - 4 },
      ],
      [],
    );
    expect(() => rig.transport.write(Reg.QueueNotify, 4, 3)).not.toThrow();
    expect(rig.transport.crashed?.defect).toBe("uncheckedGuestAddresses");
  });

  it("contains a control receive buffer outside guest ram when the transport skips address checks", () => {
    const rig = new ConsoleRig({
      profile: "hardened",
      ports: 2,
      transportDefects: { uncheckedGuestAddresses: true },
    });
    const raw = rawProbe(rig, { features: MULTIPORT, queueCount: 6 });
    raw.queues[2]!.addChain([], [{ addr: OUTSIDE_RAM, len: 64 }]);
    rig.transport.write(Reg.QueueNotify, 4, 2);
    const bytes = encodeControl({ id: BAD_PORT_ID, event: ControlEvent.DEVICE_READY, value: 1 });
    rig.memory.write(raw.nextBuffer, bytes);
    raw.queues[3]!.addChain([{ addr: raw.nextBuffer, len: bytes.length }], []);
    expect(() => rig.transport.write(Reg.QueueNotify, 4, 3)).not.toThrow();
    expect(rig.transport.crashed?.defect).toBe("uncheckedGuestAddresses");
  });

  it("whole-chain TX with the direction check on refuses a writable buffer instead of reporting libvmm's defect", () => {
    // `txWholeChain` alone (libvmm's L4 algorithm) must not switch `directionUnchecked` on.
    const rig = new ConsoleRig({ profile: "hardened", defects: { txWholeChain: true } });
    const raw = rawProbe(rig);
    rig.memory.write(raw.nextBuffer, Uint8Array.of(0x41, 0x42));
    raw.queues[1]!.addChain(
      [{ addr: raw.nextBuffer, len: 1 }],
      [{ addr: raw.nextBuffer + 1, len: 1 }],
    );
    rig.transport.write(Reg.QueueNotify, 4, 1);
    expect(rig.transport.status & Status.DEVICE_NEEDS_RESET).toBe(Status.DEVICE_NEEDS_RESET);
    expect(rig.drainTx().bytes).toEqual([]);
    expect(rig.device.findings.map((f) => f.defect)).not.toContain("directionUnchecked");
  });

  for (const profile of ["hardened", "reference"] as const) {
    it(`${profile}: a 2^32-1 byte transmit or receive buffer never throws and never moves bytes`, () => {
      const rig = new ConsoleRig({ profile, build: "release" });
      const raw = rawProbe(rig);
      raw.queues[1]!.addChain([{ addr: raw.nextBuffer, len: 0xffff_ffff }], []);
      raw.queues[0]!.addChain([], [{ addr: raw.nextBuffer, len: 0xffff_ffff }]);
      rig.serial[0]!.rx.enqueueBatch(new Uint8Array([1, 2, 3]));
      expect(() => {
        rig.transport.write(Reg.QueueNotify, 4, 1);
        rig.transport.write(Reg.QueueNotify, 4, 0);
        rig.device.serialRxSignalled(0);
      }).not.toThrow();
      expect(rig.drainTx().bytes).toEqual([]);
      if (profile === "hardened") {
        expect(rig.transport.status & Status.DEVICE_NEEDS_RESET).toBe(Status.DEVICE_NEEDS_RESET);
      }
    });
  }
});
