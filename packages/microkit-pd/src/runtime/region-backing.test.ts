import { describe, expect, it } from "vitest";
import { parseSystemDescription } from "../sdf/index.js";
import { pdProgram } from "../testing/index.js";
import { RuntimeError, System } from "./index.js";

const SDF = `<?xml version="1.0" encoding="UTF-8"?>
<system>
  <memory_region name="guest_ram" size="0x2000" />
  <protection_domain name="writer" priority="100">
    <program_image path="writer.elf" />
    <map mr="guest_ram" vaddr="0x4000000" perms="rw" />
  </protection_domain>
</system>`;

const { system } = parseSystemDescription(SDF, { fileName: "backing.system" });

const writer = pdProgram({
  *init(pd) {
    const ram = pd.memory("guest_ram");
    ram.store32(0x10, 0xdeadbeef);
    ram.store8(0x1fff, 0x5a);
  },
});

describe("memory regions backed by the caller's bytes", () => {
  it("lets PDs read and write the caller's bytes, at their offset in a larger shared buffer", () => {
    const shared = new SharedArrayBuffer(0x3000);
    const backing = new Uint8Array(shared, 0x800, 0x2000);
    const sys = new System(system, {
      programs: { "writer.elf": writer },
      regionBacking: { guest_ram: backing },
    });
    sys.runUntilIdle();
    const view = new DataView(shared);
    expect(view.getUint32(0x810, true)).toBe(0xdeadbeef);
    expect(view.getUint8(0x800 + 0x1fff)).toBe(0x5a);
    // Nothing outside the region's window was touched.
    expect(new Uint8Array(shared, 0, 0x800).every((b) => b === 0)).toBe(true);
    expect(new Uint8Array(shared, 0x2800).every((b) => b === 0)).toBe(true);
    expect(sys.memory("guest_ram")).toBe(backing);
  });

  it("refuses a backing whose size is not the region's, naming the region", () => {
    expect(
      () =>
        new System(system, {
          programs: { "writer.elf": writer },
          regionBacking: { guest_ram: new Uint8Array(0x1000) },
        }),
    ).toThrow(RuntimeError);
    expect(
      () =>
        new System(system, {
          programs: { "writer.elf": writer },
          regionBacking: { guest_ram: new Uint8Array(0x1000) },
        }),
    ).toThrow(/guest_ram.*4096 bytes for a region of 8192/);
  });
});
