import { describe, expect, it } from "vitest";
import { virtioMmioSsdt } from "./acpi.js";
import { cpioArchive, S_IFDIR, S_IFLNK, S_IFREG } from "./cpio.js";
import { buildInitramfs, initScript } from "./initramfs.js";

/** A newc reader written from the format description, to check the writer independently. */
function readNewc(bytes: Uint8Array): { name: string; mode: number; data: Uint8Array }[] {
  const text = new TextDecoder("latin1");
  const out: { name: string; mode: number; data: Uint8Array }[] = [];
  let at = 0;
  const align = (n: number) => (n + 3) & ~3;
  for (;;) {
    const head = text.decode(bytes.subarray(at, at + 110));
    expect(head.slice(0, 6)).toBe("070701");
    const field = (i: number) => Number.parseInt(head.slice(6 + 8 * i, 14 + 8 * i), 16);
    const mode = field(1);
    const size = field(6);
    const nameSize = field(11);
    const name = text.decode(bytes.subarray(at + 110, at + 110 + nameSize - 1));
    at = align(at + 110 + nameSize);
    const data = bytes.subarray(at, at + size);
    at = align(at + size);
    if (name === "TRAILER!!!") {
      expect(at).toBe(bytes.length);
      return out;
    }
    out.push({ name, mode, data });
  }
}

describe("cpio (newc)", () => {
  it("writes members a newc reader gets back, in order, ending with the trailer", () => {
    const data = new TextEncoder().encode("hello, world");
    const archive = cpioArchive([
      { name: "bin", mode: S_IFDIR | 0o755 },
      { name: "bin/hello", mode: S_IFREG | 0o644, data },
      { name: "bin/sh", mode: S_IFLNK | 0o777, data: new TextEncoder().encode("busybox") },
    ]);
    const members = readNewc(archive);
    expect(members.map((m) => m.name)).toEqual(["bin", "bin/hello", "bin/sh"]);
    expect(members[1]?.mode).toBe(S_IFREG | 0o644);
    expect(new TextDecoder().decode(members[1]?.data)).toBe("hello, world");
    expect(new TextDecoder().decode(members[2]?.data)).toBe("busybox");
  });

  it("refuses names the kernel's ACPI table scan would miss", () => {
    expect(() => cpioArchive([{ name: "./kernel", mode: S_IFDIR | 0o755 }])).toThrow(
      /without '\.\/'/,
    );
  });

  it("is byte-identical for identical inputs", () => {
    const entries = [{ name: "a", mode: S_IFREG | 0o644, data: Uint8Array.of(1, 2, 3) }];
    expect(cpioArchive(entries)).toEqual(cpioArchive(entries));
  });
});

describe("ACPI SSDT for the virtio-mmio console", () => {
  const table = virtioMmioSsdt({ base: 0xfe000000, size: 0x1000, irq: 5 });

  it("has a valid header: signature, length and a checksum that sums the table to zero", () => {
    expect(new TextDecoder().decode(table.subarray(0, 4))).toBe("SSDT");
    const view = new DataView(table.buffer, table.byteOffset);
    expect(view.getUint32(4, true)).toBe(table.length);
    expect(table.reduce((sum, b) => (sum + b) & 0xff, 0)).toBe(0);
  });

  it("declares LNRO0005 with the window and the interrupt in its _CRS", () => {
    const hex = Buffer.from(table).toString("hex");
    expect(Buffer.from(table).includes(Buffer.from("LNRO0005\0"))).toBe(true);
    // Memory32Fixed, read-write, base 0xFE000000, length 0x1000 (ACPI §6.4.3.4).
    expect(hex).toContain("8609000100 0000fe00100000".replaceAll(" ", ""));
    // Extended Interrupt: consumer, edge, active high, exclusive; one interrupt, 5 (ACPI §6.4.3.6).
    expect(hex).toContain("890600030105000000");
    expect(hex).toContain("7900");
  });
});

describe("initramfs", () => {
  it("holds the ACPI table where the kernel's table upgrade looks, busybox, the modules and /init", () => {
    const archive = buildInitramfs({
      ssdt: Uint8Array.of(1, 2, 3),
      busybox: Uint8Array.of(0x7f, 0x45, 0x4c, 0x46),
      modules: [
        { name: "virtio.ko", data: Uint8Array.of(9) },
        { name: "virtio_console.ko", data: Uint8Array.of(8) },
      ],
    });
    const members = readNewc(archive);
    const names = members.map((m) => m.name);
    expect(names).toContain("kernel/firmware/acpi/vmmux-console.aml");
    expect(names).toContain("bin/busybox");
    expect(names).toContain("lib/modules/virtio_console.ko");
    const init = members.find((m) => m.name === "init");
    expect(init?.mode).toBe(S_IFREG | 0o755);
    const script = new TextDecoder().decode(init?.data);
    expect(script.indexOf("insmod /lib/modules/virtio.ko")).toBeLessThan(
      script.indexOf("insmod /lib/modules/virtio_console.ko"),
    );
    expect(script).toContain("/dev/hvc0");
  });

  it("loads modules in the order given", () => {
    const script = initScript(["a.ko", "b.ko", "c.ko"]);
    expect(script.match(/insmod \S+/g)).toEqual([
      "insmod /lib/modules/a.ko",
      "insmod /lib/modules/b.ko",
      "insmod /lib/modules/c.ko",
    ]);
  });
});
