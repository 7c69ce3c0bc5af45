/** `<memory_region>` and `<io_address_space>` (reference §1.3; checks #23–#26, #31). */
import type { PlatformConfig } from "./config.js";
import { type InternalMr, RW } from "./internal.js";
import { hex, parseRustInt } from "./numbers.js";
import type { SdfReader } from "./reader.js";
import type {
  BootInfoPrefill,
  IoAddressSpace,
  IoMap,
  MemoryRegionPrefill,
  PciAddress,
} from "./types.js";
import { attr, elementChildren, type XmlElement } from "./xml.js";

const BOOTINFO_TYPES: readonly BootInfoPrefill[] = [
  "x86_vbe",
  "x86_mbmmap",
  "x86_acpi_rsdp",
  "x86_framebuffer",
  "x86_tsc_freq",
  "fdt",
];

/** `<memory_region>` (#23–#26). */
export function parseMemoryRegion(r: SdfReader, node: XmlElement): InternalMr {
  r.checkAttributes(node, [
    "name",
    "size",
    "page_size",
    "phys_addr",
    "prefill_path",
    "prefill_bootinfo",
  ]);
  const name = r.lookup(node, "name");
  const pageRaw = attr(node, "page_size");
  const pageSize =
    pageRaw !== undefined ? r.number(node, "page_size", pageRaw) : r.config.pageSizes[0];
  if (!r.config.pageSizes.includes(pageSize)) {
    r.valueError(
      node,
      "page-size-unsupported",
      "#23",
      `page size ${hex(pageSize)} not supported`,
      "page_size",
    );
  }

  let prefill: MemoryRegionPrefill | undefined;
  let prefillLength: number | undefined;
  const path = attr(node, "prefill_path");
  if (path !== undefined) {
    const found = r.prefill(path);
    if (found.kind === "missing") {
      r.valueError(
        node,
        "prefill-not-found",
        "#24",
        `unable to find prefill file: '${path}'`,
        "prefill_path",
      );
    }
    if (found.kind === "unreadable") {
      r.valueError(
        node,
        "prefill-unreadable",
        "#24",
        `failed to read file '${path}' at prefill_path`,
        "prefill_path",
      );
    }
    if (found.length === 0) {
      r.valueError(node, "prefill-empty", "#24", `prefill file '${path}' is empty`, "prefill_path");
    }
    prefillLength = found.length;
    prefill = { kind: "file", path, resolvedPath: found.resolvedPath, length: found.length };
  }
  const bootinfo = attr(node, "prefill_bootinfo");
  if (bootinfo !== undefined) {
    if (!(BOOTINFO_TYPES as readonly string[]).includes(bootinfo)) {
      r.valueError(
        node,
        "bootinfo-unsupported",
        "#24",
        `BootInfoMap type: '${bootinfo}' is not supported`,
        "prefill_bootinfo",
      );
    }
    if (prefill !== undefined) {
      r.valueError(
        node,
        "prefill-conflict",
        "#24",
        "prefill_path and prefill_bootinfo cannot be both specified",
        "prefill_bootinfo",
      );
    }
    prefill = { kind: "bootinfo", type: bootinfo as BootInfoPrefill };
  }

  let size: bigint;
  const sizeRaw = attr(node, "size");
  if (sizeRaw !== undefined) {
    size = r.number(node, "size", sizeRaw);
    if (size % pageSize !== 0n) {
      r.valueError(
        node,
        "size-not-page-multiple",
        "#25",
        "size is not a multiple of the page size",
        "size",
      );
    }
    if (prefillLength !== undefined && BigInt(prefillLength) > size) {
      r.valueError(
        node,
        "prefill-exceeds-size",
        "#25",
        `size of prefill file exceeds memory region size: ${prefillLength.toString(16)} > ${size.toString(16)}`,
        "size",
      );
    }
  } else if (prefill?.kind === "bootinfo") {
    size = pageSize;
  } else if (prefillLength !== undefined) {
    size = ((BigInt(prefillLength) + pageSize - 1n) / pageSize) * pageSize;
  } else {
    return r.valueError(
      node,
      "size-missing",
      "#25",
      "size must be specified if memory region is not prefilled",
      "size",
    );
  }

  const physRaw = attr(node, "phys_addr");
  const physAddr = physRaw !== undefined ? r.number(node, "phys_addr", physRaw) : undefined;
  if (physAddr !== undefined && physAddr % pageSize !== 0n) {
    r.valueError(
      node,
      "phys-addr-unaligned",
      "#26",
      "phys_addr is not aligned to the page size",
      "phys_addr",
    );
  }
  return {
    hasPrefillBytes: prefillLength !== undefined,
    value: {
      name,
      size,
      pageSize,
      pageSizeExplicit: pageRaw !== undefined,
      ...(physAddr !== undefined ? { physAddr } : {}),
      ...(prefill !== undefined ? { prefill } : {}),
      location: node.location,
    },
  };
}

/** `<io_address_space>` (#31). */
export function parseIoAddressSpace(
  r: SdfReader,
  node: XmlElement,
  names: Set<string>,
  domainIds: Set<bigint>,
  devices: string[],
): IoAddressSpace {
  if (!r.config.iommu) {
    r.fail({
      code: "iommu-unsupported",
      rule: "#31",
      message: `Error: io address space requires seL4 to be built with IOMMU support: ${r.loc(node)}`,
      location: node.location,
      element: node.name,
    });
  }
  r.checkAttributes(node, ["name", "peripheral_id", "domain_id"]);
  const name = r.lookup(node, "name");
  if (names.has(name)) {
    r.valueError(node, "io-space-name-duplicate", "#31", `duplicate name '${name}'`, "name");
  }
  names.add(name);
  let domainId = 0n;
  if (r.config.arch === "x86_64") {
    domainId = r.number(node, "domain_id", r.lookup(node, "domain_id"));
    if (domainIds.has(domainId)) {
      r.valueError(
        node,
        "io-domain-id-duplicate",
        "#31",
        "reusing a domain id is forbidden",
        "domain_id",
      );
    }
    domainIds.add(domainId);
  }
  const idRaw = r.lookup(node, "peripheral_id");
  const peripheral =
    r.config.arch === "x86_64"
      ? parsePciAddress(idRaw)
      : `IOMMU device identifiers are not supported on ${archDisplay(r.config.arch)}`;
  if (typeof peripheral === "string") {
    r.valueError(
      node,
      "peripheral-id-invalid",
      "#31",
      `failed to parse device peripheral_id '${idRaw}': ${peripheral}`,
      "peripheral_id",
    );
  }
  const key = formatPciAddress(peripheral);
  if (devices.includes(key)) {
    r.valueError(
      node,
      "peripheral-id-duplicate",
      "#31",
      `duplicate device peripheral_id 'PCI device ${key}'`,
      "peripheral_id",
    );
  }
  devices.push(key);

  const iomaps: IoMap[] = [];
  for (const child of elementChildren(node)) {
    if (child.name !== "iomap") {
      r.fail({
        code: "system-invalid-element",
        rule: "#31",
        message: `Error: invalid XML element '${child.name}': ${r.loc(child)}`,
        location: child.location,
        element: child.name,
      });
    }
    r.checkAttributes(child, ["mr", "iovaddr", "perms"]);
    const mr = r.lookup(child, "mr");
    const iovaddr = r.number(child, "iovaddr", r.lookup(child, "iovaddr"));
    if (iovaddr > r.config.maxIova) {
      r.valueError(
        child,
        "iovaddr-too-large",
        "#31",
        `iovaddr (${hex(iovaddr)}) must be less than ${hex(r.config.maxIova + 1n)}`,
        "iovaddr",
      );
    }
    let perms = RW;
    const p = attr(child, "perms");
    if (p !== undefined) {
      if (!/^[rw]+$/.test(p)) {
        r.valueError(
          child,
          "iomap-perms-invalid",
          "#31",
          "perms for io mapped memory must only be a combination of 'r' and 'w'",
          "perms",
        );
      }
      perms = { read: p.includes("r"), write: p.includes("w"), execute: false };
    }
    iomaps.push({ mr, iovaddr, perms, location: child.location });
  }
  return {
    name,
    peripheralId: peripheral,
    domainId: Number(domainId),
    iomaps,
    location: node.location,
  };
}

function archDisplay(arch: PlatformConfig["arch"]): string {
  return arch === "aarch64" ? "AArch64" : arch === "riscv64" ? "RISC-V (64-bit)" : "x86-64";
}

/**
 * `bus:device.function`, each part hexadecimal (Rust `i64::from_str_radix(_, 16)` after
 * trimming). Returns the tool's reason text on failure.
 */
export function parsePciAddress(text: string): PciAddress | string {
  const colon = text.indexOf(":");
  if (colon < 0) return "expected PCI address in bus:device.function form";
  const rest = text.slice(colon + 1);
  const dot = rest.indexOf(".");
  if (dot < 0) return "expected PCI address in bus:device.function form";
  const part = (s: string, what: string, max: number): number | string => {
    const r = parseRustInt(s.trim(), 16, true);
    if (!r.ok) return `failed to parse PCI ${what}`;
    if (r.value < 0n || r.value > BigInt(max)) return `PCI ${what} must be within [0..${max}]`;
    return Number(r.value);
  };
  const bus = part(text.slice(0, colon), "bus", 255);
  if (typeof bus === "string") return bus;
  const device = part(rest.slice(0, dot), "device", 31);
  if (typeof device === "string") return device;
  const fn = part(rest.slice(dot + 1), "function", 7);
  if (typeof fn === "string") return fn;
  return { bus, device, function: fn };
}

/** `bb:dd.f` as the tool prints a PCI address. */
export function formatPciAddress(p: PciAddress): string {
  return `${p.bus.toString(16).padStart(2, "0")}:${p.device.toString(16).padStart(2, "0")}.${p.function.toString(16)}`;
}
