import { mkdtempSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { AARCH64_CONFIG, X86_64_CONFIG } from "./config.js";
import { SdfError } from "./errors.js";
import { systemToJson } from "./json.js";
import { loadSystemFile, searchPathPrefill } from "./load.js";
import { parseRustInt, parseToolNumber } from "./numbers.js";
import { parseSystemDescription } from "./parse.js";
import { summariseSystem } from "./summary.js";
import { flattenProtectionDomains } from "./types.js";

const validDir = fileURLToPath(new URL("../../test-data/sdf/valid/", import.meta.url));
const prefillDir = fileURLToPath(new URL("../../test-data/sdf/prefills/", import.meta.url));

function load(name: string, options: Parameters<typeof loadSystemFile>[1] = {}) {
  return loadSystemFile(`${validDir}${name}`, {
    fileName: name,
    searchPath: [prefillDir],
    ...options,
  });
}

function errorOf(run: () => unknown): SdfError {
  try {
    run();
  } catch (err) {
    if (err instanceof SdfError) return err;
    throw err;
  }
  throw new Error("expected an SdfError");
}

describe("defaults (reference §1.3)", () => {
  const { system, warnings } = load("defaults.system");
  const [client, server] = system.protectionDomains;

  it("gives a PD priority 0, a 1000 µs round-robin budget, 8 KiB stack, cpu 0, fpu on", () => {
    expect(client).toMatchObject({
      name: "client",
      priority: 0,
      budget: 1000,
      period: 1000,
      passive: false,
      stackSize: 0x2000,
      cpu: 0,
      smc: false,
      fpu: true,
    });
    expect(client?.id).toBeUndefined();
    expect(client?.domain).toBeUndefined();
  });

  it("maps read-write and cached, IRQs level-triggered, channel ends notify without pp", () => {
    expect(client?.maps[0]).toMatchObject({
      mr: "shared",
      vaddr: 0x400_0000n,
      perms: { read: true, write: true, execute: false },
      cached: true,
    });
    expect(client?.irqs[0]).toMatchObject({ kind: "arm", irq: 33, id: 5, trigger: "level" });
    expect(system.channels[0]?.ends.map((e) => [e.pd, e.id, e.pp, e.notify])).toEqual([
      ["client", 0, false, true],
      ["server", 0, false, true],
    ]);
    expect(server?.priority).toBe(1);
  });

  it("records the 1-based position of every element", () => {
    expect(client?.location).toEqual({ file: "defaults.system", line: 5, column: 5 });
    expect(client?.irqs[0]?.location).toEqual({ file: "defaults.system", line: 8, column: 9 });
    expect(system.memoryRegions[0]?.location.line).toBe(4);
  });

  it("keeps a 4 KiB region at 4 KiB pages and warns about nothing", () => {
    expect(system.memoryRegions[0]).toMatchObject({ size: 0x1000n, pageSize: 0x1000n });
    expect(warnings).toEqual([]);
  });
});

describe("the two-guest system", () => {
  const { system, warnings } = load("two_guests.system");
  const pds = flattenProtectionDomains(system);
  const byName = new Map(pds.map((pd) => [pd.name, pd]));

  it("reads numbers with underscores in decimal and hex", () => {
    expect(system.memoryRegions[0]).toMatchObject({
      size: 0x1000_0000n,
      physAddr: 0x4000_0000n,
    });
    expect(byName.get("vmm_a")?.virtualMachine).toMatchObject({ budget: 5000, period: 10_000 });
  });

  it("gives each VM its vCPUs with the VM's scheduling parameters and the VMM's cpu", () => {
    expect(byName.get("vmm_a")?.virtualMachine?.vcpus).toEqual([
      {
        id: 0,
        cpu: 0,
        priority: 99,
        budget: 5000,
        period: 10_000,
        location: { file: "two_guests.system", line: 52, column: 13 },
      },
    ]);
    expect(byName.get("vmm_b")?.virtualMachine).toMatchObject({
      priority: 99,
      budget: 1000,
      period: 1000,
    });
  });

  it("keeps sporadic budgets, passive servers and one-way channels", () => {
    expect(byName.get("serial_virt_rx")).toMatchObject({ budget: 100, period: 400 });
    expect(byName.get("serial_virt_tx")?.passive).toBe(true);
    const ppc = system.channels[2]?.ends;
    expect(ppc?.map((e) => [e.pd, e.pp, e.notify])).toEqual([
      ["vmm_a", true, false],
      ["serial_virt_tx", false, false],
    ]);
  });

  it("upgrades 2 MiB-aligned regions without an explicit page size to 2 MiB pages (G17)", () => {
    const ram = system.memoryRegions.find((m) => m.name === "guest_ram_a");
    expect(ram).toMatchObject({ pageSize: 0x20_0000n, pageSizeExplicit: false });
    const uart = system.memoryRegions.find((m) => m.name === "uart");
    expect(uart?.pageSize).toBe(0x1000n);
    expect(warnings).toEqual([]);
  });

  it("converts to JSON with addresses as hex strings", () => {
    const json = JSON.parse(JSON.stringify(systemToJson(system)));
    expect(json.memoryRegions[0]).toMatchObject({
      name: "guest_ram_a",
      size: "0x10000000",
      physAddr: "0x40000000",
      pageSize: "0x200000",
    });
    expect(json.protectionDomains[0].maps[0].vaddr).toBe("0x5000000");
  });

  it("summarises PDs, VMs, channels, IRQs and regions", () => {
    const text = summariseSystem(system, warnings);
    expect(text).toContain("two_guests.system: 5 protection domain(s)");
    expect(text).toContain("serial_virt_rx: priority 252, budget 100/400 µs");
    expect(text).toContain("serial_virt_tx: priority 253, budget 1000 µs (round robin), passive");
    expect(text).toContain("linux_a (VMM vmm_a): 1 vCPU(s) [0], priority 99, budget 5000/10000 µs");
    expect(text).toContain("vmm_a[1] =ppc=> serial_virt_tx[1]");
    expect(text).toContain("irq 33 (level) -> uart_driver channel 0");
    expect(text).toContain(
      "uart: 4 KiB at 0x9000000, pages 4 KiB, mapped by uart_driver@0x5000000 rw uncached",
    );
  });
});

describe("hierarchy, domains, caps and prefill", () => {
  const { system, warnings } = load("hierarchy_domains.system");
  const pds = flattenProtectionDomains(system);

  it("flattens child PDs depth-first and records parent and id", () => {
    expect(pds.map((pd) => [pd.name, pd.parent, pd.id])).toEqual([
      ["root", undefined, undefined],
      ["worker", "root", 3],
      ["grandchild", "worker", 0],
    ]);
    expect(pds[1]).toMatchObject({ setvarId: "worker_id", fpu: false, domain: "slow" });
  });

  it("fills omitted domain ids with the smallest free id, in document order", () => {
    expect(system.domainSchedule?.domains.map((d) => [d.name, d.id])).toEqual([
      ["fast", 2],
      ["slow", 0],
      ["other", 1],
    ]);
    expect(system.domainSchedule).toMatchObject({ startIndex: 1 });
    expect(system.domainSchedule?.schedule.map((e) => e.kind)).toEqual([
      "entry",
      "entry",
      "end-marker",
    ]);
    expect(system.domainSchedule?.schedule[1]).toMatchObject({
      domain: "slow",
      duration: 20,
      unit: "ticks",
    });
  });

  it("sizes a prefilled region from its file, rounded up to the page size", () => {
    const blob = system.memoryRegions.find((m) => m.name === "blob");
    expect(blob?.size).toBe(0x2000n);
    expect(blob?.prefill).toMatchObject({ kind: "file", path: "small.bin", length: 5000 });
  });

  it("reads cspace caps, setvars, path_for_symbols, stack size and edge IRQs", () => {
    const [root, worker] = pds;
    expect(root?.caps.map((c) => [c.kind, c.slot, c.pd])).toEqual([
      ["tcb", 1, "worker"],
      ["sc", 2, "worker"],
    ]);
    expect(root?.setvars.map((s) => [s.symbol, s.regionPaddr])).toEqual([
      ["device_paddr", "device"],
    ]);
    expect(root?.programImage.pathForSymbols).toBe("root.debug.elf");
    expect(root?.stackSize).toBe(0x4000);
    expect(worker?.irqs[0]).toMatchObject({ trigger: "edge", setvarId: "irq_ch" });
    expect(system.channels[0]?.ends[0]).toMatchObject({ pp: true, setvarId: "to_root" });
  });

  it("returns unused-region warnings instead of printing them (G16)", () => {
    expect(warnings.map((w) => w.message)).toEqual([
      "WARNING: unused memory region 'unused'",
      "WARNING: unused memory region 'device'",
    ]);
    expect(warnings[0]?.location.line).toBe(17);
  });

  it("upgrades a 4 MiB region mapped at a 2 MiB-aligned address to 2 MiB pages", () => {
    expect(system.memoryRegions.find((m) => m.name === "big")?.pageSize).toBe(0x20_0000n);
  });
});

describe("x86-64", () => {
  it("reads I/O APIC and MSI IRQs, I/O ports, bootinfo prefill and IOMMU spaces", () => {
    const { system } = load("x86_devices.system", { config: X86_64_CONFIG });
    const driver = system.protectionDomains[0];
    expect(driver?.irqs).toEqual([
      expect.objectContaining({
        kind: "ioapic",
        id: 0,
        ioapic: 0,
        pin: 4,
        vector: 36,
        trigger: "edge",
        polarity: "low",
      }),
      expect.objectContaining({
        kind: "ioapic",
        id: 1,
        ioapic: 1,
        pin: 5,
        vector: 37,
        trigger: "level",
        polarity: "high",
      }),
      expect.objectContaining({
        kind: "msi",
        id: 2,
        pcidev: { bus: 0, device: 0x1f, function: 3 },
        handle: 0,
        vector: 40,
      }),
    ]);
    expect(driver?.ioports[0]).toMatchObject({ id: 3, addr: 0x3f8n, size: 8n, setvarAddr: "com1" });
    expect(system.memoryRegions[1]).toMatchObject({
      size: 0x1000n,
      prefill: { kind: "bootinfo", type: "x86_tsc_freq" },
    });
    expect(system.ioAddressSpaces[0]).toMatchObject({
      name: "nic",
      peripheralId: { bus: 0, device: 3, function: 0 },
      domainId: 1,
    });
  });

  it("rejects the same file on AArch64 at the first x86-only element", () => {
    const err = errorOf(() => load("x86_devices.system", { config: AARCH64_CONFIG }));
    expect(err.code).toBe("irq-arch-mismatch");
    expect(err.location?.line).toBe(10);
  });
});

describe("legacy dialect (reference §1.6)", () => {
  it("is rejected in strict mode", () => {
    const err = errorOf(() => load("legacy_dialect.system"));
    expect(err.message).toBe(
      "Error: invalid attribute 'pp' on element 'protection_domain': legacy_dialect.system:5:5",
    );
  });

  it("turns a PD-level pp into pp on the other end of its channels, without the priority rule", () => {
    const { system } = load("legacy_dialect.system", { dialect: "legacy" });
    expect(system.channels[0]?.ends.map((e) => [e.pd, e.pp])).toEqual([
      ["vmm", true],
      ["server", false],
    ]);
  });

  it("synthesises the single vCPU of a VM that has an id and no vcpu, and accepts id 62", () => {
    const { system } = load("legacy_dialect.system", { dialect: "legacy" });
    const vm = system.protectionDomains[1]?.virtualMachine;
    expect(vm?.vcpus.map((v) => [v.id, v.priority, v.budget, v.period])).toEqual([
      [3, 40, 100, 400],
    ]);
    expect(system.channels[0]?.ends[0]?.id).toBe(62);
  });

  it("defaults the stack to 4 KiB as tools before 2.1.0 did", () => {
    const { system } = load("legacy_dialect.system", { dialect: "legacy" });
    expect(system.protectionDomains[0]?.stackSize).toBe(0x1000);
  });
});

describe("loadSystemFile", () => {
  it("reports a file it cannot read as an SdfError", () => {
    const err = errorOf(() => loadSystemFile(`${validDir}does-not-exist.system`));
    expect(err.code).toBe("file-unreadable");
    expect(err.message).toContain("does-not-exist.system");
  });

  it("sizes a prefill file larger than Node can buffer (3 GiB, sparse) from its metadata", () => {
    const dir = mkdtempSync(join(tmpdir(), "vmmux-sdf-"));
    try {
      writeFileSync(join(dir, "big.bin"), "");
      truncateSync(join(dir, "big.bin"), 3 * 2 ** 30);
      expect(searchPathPrefill([dir])("big.bin")).toEqual({
        kind: "found",
        resolvedPath: join(dir, "big.bin"),
        length: 3 * 2 ** 30,
      });
      expect(searchPathPrefill([tmpdir()])(dir)).toMatchObject({ kind: "unreadable" });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("looks prefill files up on the search path in order, the first hit winning", () => {
    const { system } = load("hierarchy_domains.system", { searchPath: [validDir, prefillDir] });
    const blob = system.memoryRegions.find((m) => m.name === "blob")?.prefill;
    expect(blob).toMatchObject({ kind: "file", resolvedPath: `${prefillDir}small.bin` });
  });
});

describe("parseSystemDescription on text", () => {
  const minimal = (pd: string) =>
    `<system><protection_domain name="a" ${pd}><program_image path="a.elf"/></protection_domain></system>`;

  it("reports a missing prefill file when no resolver is given", () => {
    const err = errorOf(() =>
      parseSystemDescription(
        `<system><memory_region name="m" prefill_path="x.bin"/>${minimal("").slice(8)}`,
      ),
    );
    expect(err.code).toBe("prefill-not-found");
  });

  it("uses the given file name in locations and defaults to the AArch64 config", () => {
    const err = errorOf(() => parseSystemDescription(minimal('cpu="1"'), { fileName: "x.system" }));
    expect(err.message).toBe(
      "Error: cpu core must be less than 1, got 1 on element 'protection_domain': x.system:1:9",
    );
  });

  it("accepts comments anywhere and ignores text inside child elements", () => {
    const text =
      '<!-- c --><system><!-- c --><protection_domain name="a">words<!-- c --><program_image path="a.elf"/></protection_domain></system>';
    expect(parseSystemDescription(text).system.protectionDomains).toHaveLength(1);
  });

  it("accepts an empty perms string as a mapping with no access", () => {
    const { system } = parseSystemDescription(
      `<system><memory_region name="m" size="0x1000"/><protection_domain name="a"><program_image path="a.elf"/><map mr="m" vaddr="0x1000" perms=""/></protection_domain></system>`,
    );
    expect(system.protectionDomains[0]?.maps[0]?.perms).toEqual({
      read: false,
      write: false,
      execute: false,
    });
  });

  it.each([
    [
      "text after a comment, reported on itself",
      "<system><!-- c -->hello<x/></system>",
      "'' @ system.system:1:19",
    ],
    [
      "text merged with CDATA, reported on system",
      "<system><![CDATA[ ]]>x<x/></system>",
      "'system' @ system.system:1:1",
    ],
    [
      "text after a processing instruction",
      "<system><?pi x?>tail<x/></system>",
      "'' @ system.system:1:17",
    ],
  ])("rejects stray text inside system: %s", (_, text, where) => {
    const err = errorOf(() => parseSystemDescription(text));
    expect(err.message).toBe(`Error: unexpected text found in element ${where}`);
  });

  it("locates elements in files with CRLF line ends", () => {
    const err = errorOf(() =>
      parseSystemDescription(
        '<system>\r\n  <protection_domain name="a">\r\n    <program_image path="a.elf"/>\r\n  </protection_domain>\r\n  <memory_region name="m" bad="1"/>\r\n</system>',
      ),
    );
    expect(err.location).toEqual({ file: "system.system", line: 5, column: 3 });
  });

  it("counts columns in characters, not bytes", () => {
    const err = errorOf(() =>
      parseSystemDescription(
        `<system><!--é€𝄞--><protection_domain name="a" bad="1"><program_image path="a.elf"/></protection_domain></system>`,
      ),
    );
    expect(err.location).toEqual({ file: "system.system", line: 1, column: 19 });
  });
});

// Hostile SDF text (a user's file is untrusted input): huge attributes, very long lines and
// deep nesting end in one `SdfError` without quadratic work or a stack overflow, and numbers
// fail with the text Rust's integer parser gives (reference §1.1, value types N and D).

const PD = '<protection_domain name="a"><program_image path="a.elf"/></protection_domain>';

/** A root PD with `depth` valid child PDs, each inside the one before. */
function nestedPds(depth: number): string {
  let open = "";
  for (let i = 0; i < depth; i++) {
    open += `<protection_domain name="p${i}" id="1"><program_image path="a.elf"/>`;
  }
  const root = PD.replace("</protection_domain>", "");
  return `<system>${root}${open}${"</protection_domain>".repeat(depth + 1)}</system>`;
}

describe("numbers fail where Rust's from_str_radix fails", () => {
  it("reports overflow at the digit that overflows, before a later invalid digit", () => {
    expect(parseRustInt("99999999999999999999x", 10, false)).toEqual({
      ok: false,
      reason: "number too large to fit in target type",
    });
    expect(parseToolNumber("0x1_0000_0000_0000_0000g")).toEqual({
      ok: false,
      reason: "number too large to fit in target type",
    });
    expect(parseRustInt("1x99999999999999999999", 10, false)).toEqual({
      ok: false,
      reason: "invalid digit found in string",
    });
  });

  it("keeps the i64 and u64 bounds exact on both sides", () => {
    expect(parseRustInt("-9223372036854775808", 10, true)).toEqual({
      ok: true,
      value: -(1n << 63n),
    });
    expect(parseRustInt("-9223372036854775809", 10, true)).toEqual({
      ok: false,
      reason: "number too small to fit in target type",
    });
    expect(parseRustInt("9223372036854775808", 10, true)).toEqual({
      ok: false,
      reason: "number too large to fit in target type",
    });
    expect(parseRustInt("18446744073709551615", 10, false)).toEqual({
      ok: true,
      value: (1n << 64n) - 1n,
    });
  });

  it("rejects a 1 MB numeric attribute as too large", () => {
    const err = errorOf(() =>
      parseSystemDescription(
        `<system><memory_region name="m" size="0x${"1".repeat(1_000_000)}"/>${PD}</system>`,
      ),
    );
    expect(err.code).toBe("number-invalid");
    expect(err.attribute).toBe("size");
    expect(err.message).toContain("number too large to fit in target type");
    expect(err.message).toContain("... (1000002 characters)");
    expect(err.message.length).toBeLessThan(300);
  });
});

describe("positions in long and deep documents", () => {
  it("locates the last of 20,000 elements on one line", () => {
    const mr = '<memory_region name="m" size="0x1000"/>';
    const err = errorOf(() =>
      parseSystemDescription(`<system>${PD}${mr.repeat(20_000)}<bad/></system>`),
    );
    expect(err.code).toBe("system-invalid-element");
    expect(err.location).toEqual({
      file: "system.system",
      line: 1,
      column: "<system>".length + PD.length + mr.length * 20_000 + 1,
    });
  });

  it("reports the missing id of 20,000 nested protection domains on one line", () => {
    const open = '<protection_domain name="p" priority="1">';
    const text = `<system>${open.repeat(20_000)}${"</protection_domain>".repeat(20_000)}</system>`;
    const err = errorOf(() => parseSystemDescription(text));
    expect(err.code).toBe("missing-attribute");
    expect(err.location?.column).toBe("<system>".length + open.length + 1);
  });

  it("fails 5,000 nested valid protection domains with an SdfError, not a stack overflow", () => {
    const err = errorOf(() => parseSystemDescription(nestedPds(5_000)));
    expect(err.code).toBe("pd-nesting-too-deep");
    expect(err.element).toBe("protection_domain");
    expect(err.message).toMatch(/nested more than 256 deep .*system\.system:1:\d+$/);
  });

  it("keeps the tool's G4 error for nesting below the depth guard", () => {
    const err = errorOf(() => parseSystemDescription(nestedPds(100)));
    expect(err.code).toBe("too-many-protection-domains");
  });

  it("reports an unknown element under 20,000 nested ones", () => {
    const text = `<system>${PD}${"<x>".repeat(20_000)}${"</x>".repeat(20_000)}</system>`;
    const err = errorOf(() => parseSystemDescription(text));
    expect(err.code).toBe("system-invalid-element");
    expect(err.element).toBe("x");
  });
});
