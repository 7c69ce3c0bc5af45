import { describe, expect, it } from "vitest";
import {
  decodeDtb,
  discoverConsole,
  dtNode,
  encodeDtb,
  guestDeviceTree,
  propCells,
  propString,
} from "./device-tree.js";
import { VmmError } from "./errors.js";

const spec = {
  bootargs: "console=hvc0 earlycon=hvc0",
  ram: { base: 0x4000_0000, size: 0x40_0000 },
  virtio: { base: 0x13_0000, size: 0x200, irq: 74 },
};

describe("device tree", () => {
  it("flattens to a DTB with the spec's header and reads back the same tree", () => {
    const blob = encodeDtb(guestDeviceTree(spec));
    const view = new DataView(blob.buffer);
    expect(view.getUint32(0)).toBe(0xd00dfeed);
    expect(view.getUint32(4)).toBe(blob.length);
    expect(view.getUint32(20)).toBe(17);
    const root = decodeDtb(blob);
    expect(root.children.map((n) => n.name)).toEqual([
      "chosen",
      "memory@40000000",
      "virtio@130000",
    ]);
    const virtio = root.children[2]!;
    expect(propString(virtio, "compatible")).toBe("virtio,mmio");
    expect(propCells(virtio, "reg")).toEqual([0, 0x13_0000, 0, 0x200]);
    expect(propCells(virtio, "interrupts")).toEqual([0, 42, 4]);
  });

  it("lets the guest find console=hvc0, its RAM and the virtio-mmio window with its INTID", () => {
    expect(discoverConsole(decodeDtb(encodeDtb(guestDeviceTree(spec))))).toEqual({
      bootargs: spec.bootargs,
      memory: spec.ram,
      virtio: spec.virtio,
    });
  });

  it("rejects a blob with a bad magic, naming the offset", () => {
    const blob = encodeDtb(guestDeviceTree(spec));
    blob[0] = 0;
    expect(() => decodeDtb(blob)).toThrow(/bad magic .* at offset 0/);
  });

  it("rejects truncated and self-referencing structure blocks without running away", () => {
    const blob = encodeDtb(dtNode("", { a: [1] }, [dtNode("c", { b: "x" })]));
    const view = new DataView(blob.buffer);
    const cut = blob.slice();
    new DataView(cut.buffer).setUint32(36, 8); // struct size too small
    expect(() => decodeDtb(cut)).toThrow(VmmError);
    const huge = blob.slice();
    new DataView(huge.buffer).setUint32(4, view.getUint32(4) + 100);
    expect(() => decodeDtb(huge)).toThrow(/totalsize/);
  });

  it("reports a tree without a virtio,mmio node as missing, not as a crash", () => {
    const root = dtNode("", {}, [
      dtNode("chosen", { bootargs: "x" }),
      dtNode("memory@0", { device_type: "memory", reg: [0, 0, 0, 1] }),
    ]);
    expect(() => discoverConsole(root)).toThrow(/virtio,mmio node/);
  });
});
