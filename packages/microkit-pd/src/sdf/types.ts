/**
 * The parsed Microkit system description: a plain, immutable value that the runtime builds a
 * `System` from and that a linter can use on its own (microkit reference §1.2–§1.4).
 *
 * Names follow the SDF attributes in camelCase. Every default of §1.3 is already applied, so
 * a consumer never needs to know them. Addresses and sizes are `bigint` because the tool
 * parses them as unsigned 64-bit numbers; priorities, times in µs, ids and counts are `number`.
 */
import type { Permissions } from "../program.js";

export type { Permissions };

/** Where a node starts in its file: 1-based line and column, as the tool prints `<file>:<row>:<col>`. */
export interface SourceLocation {
  readonly file: string;
  readonly line: number;
  readonly column: number;
}

/** `<program_image path=… path_for_symbols=…>`. */
export interface ProgramImage {
  readonly path: string;
  readonly pathForSymbols?: string;
  readonly location: SourceLocation;
}

/** `<map>` in a PD (virtual address) or in a virtual machine (guest-physical address). */
export interface MemoryMap {
  /** Name of the mapped `memory_region`. */
  readonly mr: string;
  readonly vaddr: bigint;
  /** Default `rw`. The empty string is accepted by the tool as "no access" (§1.1 quirk). */
  readonly perms: Permissions;
  /** Default `true`. */
  readonly cached: boolean;
  /** PD maps only: ELF symbol that receives `vaddr`. */
  readonly setvarVaddr?: string;
  /** PD maps only: ELF symbol that receives the region size. */
  readonly setvarSize?: string;
  /** PD maps only: ELF symbol that receives the prefill length (the MR must have `prefill_path`). */
  readonly setvarPrefillSize?: string;
  readonly location: SourceLocation;
}

export type IrqTrigger = "level" | "edge";

/** ARM / RISC-V interrupt: `irq` is the hardware number, unique system-wide. */
export interface ArmIrq {
  readonly kind: "arm";
  /** The PD's channel id for this interrupt (0..61, shared with channel ends). */
  readonly id: number;
  readonly irq: number;
  /** Default `level`. */
  readonly trigger: IrqTrigger;
  readonly setvarId?: string;
  readonly location: SourceLocation;
}

/** x86 I/O APIC interrupt; `vector` is the system-wide uniqueness key. */
export interface IoapicIrq {
  readonly kind: "ioapic";
  readonly id: number;
  readonly ioapic: number;
  readonly pin: number;
  readonly vector: number;
  readonly trigger: IrqTrigger;
  readonly polarity: "high" | "low";
  readonly setvarId?: string;
  readonly location: SourceLocation;
}

/** A PCI address `bus:device.function`. */
export interface PciAddress {
  readonly bus: number;
  readonly device: number;
  readonly function: number;
}

/** x86 MSI interrupt. */
export interface MsiIrq {
  readonly kind: "msi";
  readonly id: number;
  readonly pcidev: PciAddress;
  readonly handle: number;
  readonly vector: number;
  readonly setvarId?: string;
  readonly location: SourceLocation;
}

export type Irq = ArmIrq | IoapicIrq | MsiIrq;

/** `<setvar symbol=… region_paddr=…>`: the symbol receives the MR's physical address. */
export interface Setvar {
  readonly symbol: string;
  readonly regionPaddr: string;
  readonly location: SourceLocation;
}

/** x86 `<ioport>`. */
export interface IoPort {
  readonly id: number;
  readonly addr: bigint;
  readonly size: bigint;
  readonly setvarId?: string;
  readonly setvarAddr?: string;
  readonly location: SourceLocation;
}

/** One capability shared through `<cspace>`: `cap_tcb`, `cap_sc` or `cap_vspace`. */
export interface CapShare {
  readonly kind: "tcb" | "sc" | "vspace";
  /** Destination slot, 1..127. */
  readonly slot: number;
  /** The PD whose object is shared. */
  readonly pd: string;
  readonly location: SourceLocation;
}

/** `<vcpu>`: its own thread at the VM's priority, budget and period (§1.4). */
export interface Vcpu {
  /** 0..61, unique in the VM; the VMM's fault badge for this vCPU. */
  readonly id: number;
  /** Default: the owning PD's `cpu`. */
  readonly cpu: number;
  /** Copied from the virtual machine for convenience. */
  readonly priority: number;
  readonly budget: number;
  readonly period: number;
  readonly location: SourceLocation;
}

/**
 * `<virtual_machine>` inside a PD (the VMM). On x86-64 only `name` is accepted and the VM
 * shares the VMM's thread, so `priority`, `budget` and `period` are the VMM's.
 */
export interface VirtualMachine {
  readonly name: string;
  /** Default 0; the tool does not range-check it and truncates it to 8 bits. */
  readonly priority: number;
  /** µs, default 1000. */
  readonly budget: number;
  /** µs, default = budget. */
  readonly period: number;
  readonly vcpus: readonly Vcpu[];
  readonly maps: readonly MemoryMap[];
  readonly location: SourceLocation;
}

/** `<protection_domain>`, root or child (nested). */
export interface ProtectionDomain {
  readonly name: string;
  /** 0..254, default 0. */
  readonly priority: number;
  /** µs, default 1000. */
  readonly budget: number;
  /** µs, default = budget. */
  readonly period: number;
  /** Default false. */
  readonly passive: boolean;
  /** Bytes, default 0x2000 (0x1000 in the legacy dialect). */
  readonly stackSize: number;
  /** Default 0. */
  readonly cpu: number;
  /** Default false. */
  readonly smc: boolean;
  /** Default true. */
  readonly fpu: boolean;
  /** Name of a declared `<domain>`, when the system has a domain schedule. */
  readonly domain?: string;
  /** Child PDs only: the identifier the parent sees. */
  readonly id?: number;
  /** Child PDs only: parent ELF symbol that receives `id`. */
  readonly setvarId?: string;
  /** Name of the parent PD, for child PDs. */
  readonly parent?: string;
  readonly programImage: ProgramImage;
  readonly maps: readonly MemoryMap[];
  readonly irqs: readonly Irq[];
  readonly setvars: readonly Setvar[];
  readonly ioports: readonly IoPort[];
  readonly caps: readonly CapShare[];
  readonly virtualMachine?: VirtualMachine;
  readonly children: readonly ProtectionDomain[];
  readonly location: SourceLocation;
}

export type BootInfoPrefill =
  | "x86_vbe"
  | "x86_mbmmap"
  | "x86_acpi_rsdp"
  | "x86_framebuffer"
  | "x86_tsc_freq"
  | "fdt";

/** Initial contents of a memory region. */
export type MemoryRegionPrefill =
  | {
      readonly kind: "file";
      /** `prefill_path` as written. */
      readonly path: string;
      /** Where the file was found on the search path. */
      readonly resolvedPath: string;
      /** File length in bytes. */
      readonly length: number;
    }
  | { readonly kind: "bootinfo"; readonly type: BootInfoPrefill };

/** `<memory_region>`. */
export interface MemoryRegion {
  readonly name: string;
  readonly size: bigint;
  /** Final page size: the explicit one, or 4 KiB upgraded to 2 MiB after parsing (§1.3, G17). */
  readonly pageSize: bigint;
  /** Whether `page_size` was written in the file. */
  readonly pageSizeExplicit: boolean;
  readonly physAddr?: bigint;
  readonly prefill?: MemoryRegionPrefill;
  readonly location: SourceLocation;
}

/** One `<end>` of a channel. */
export interface ChannelEnd {
  readonly pd: string;
  /** This PD's channel id, 0..61 (0..62 in the legacy dialect). */
  readonly id: number;
  /** This end may `microkit_ppcall` the other end. Default false. */
  readonly pp: boolean;
  /** This end may signal the other end. Default true. */
  readonly notify: boolean;
  readonly setvarId?: string;
  readonly location: SourceLocation;
}

/** `<channel>` with exactly two ends. */
export interface Channel {
  readonly ends: readonly [ChannelEnd, ChannelEnd];
  readonly location: SourceLocation;
}

/** `<domain>`; ids omitted in the file are filled with the smallest free id. */
export interface Domain {
  readonly name: string;
  readonly id: number;
  readonly location: SourceLocation;
}

/** `<schedule_entry duration="<n> us|ticks">`, or a `<schedule_end_marker/>` written in the file. */
export type ScheduleEntry =
  | {
      readonly kind: "entry";
      readonly domain: string;
      readonly duration: number;
      readonly unit: "us" | "ticks";
      readonly location: SourceLocation;
    }
  | { readonly kind: "end-marker"; readonly location: SourceLocation };

/** `<domains>` with its `<domain_schedule>` (unicore kernels only). */
export interface DomainSchedule {
  readonly domains: readonly Domain[];
  readonly schedule: readonly ScheduleEntry[];
  /** Default 0. */
  readonly startIndex: number;
  readonly indexShift?: number;
  readonly location: SourceLocation;
}

/** `<iomap>` inside an `io_address_space`. */
export interface IoMap {
  readonly mr: string;
  readonly iovaddr: bigint;
  readonly perms: Permissions;
  readonly location: SourceLocation;
}

/** x86 `<io_address_space>` (IOMMU). */
export interface IoAddressSpace {
  readonly name: string;
  readonly peripheralId: PciAddress;
  readonly domainId: number;
  readonly iomaps: readonly IoMap[];
  readonly location: SourceLocation;
}

/** A whole `.system` file after parsing and validation. */
export interface SystemDescription {
  readonly fileName: string;
  /** Root PDs in document order; child PDs are nested in `children`. */
  readonly protectionDomains: readonly ProtectionDomain[];
  readonly memoryRegions: readonly MemoryRegion[];
  readonly channels: readonly Channel[];
  readonly domainSchedule?: DomainSchedule;
  readonly ioAddressSpaces: readonly IoAddressSpace[];
}

/** A non-fatal finding (the tool prints `WARNING: unused memory region '<mr>'`). */
export interface SdfWarning {
  readonly code: "unused-memory-region";
  readonly message: string;
  readonly location: SourceLocation;
}

/** What a successful parse returns. */
export interface ParsedSystem {
  readonly system: SystemDescription;
  readonly warnings: readonly SdfWarning[];
}

/**
 * Root PDs in document order, each followed by its children depth-first (pre-order): the
 * flattened order the tool uses for fault badges and the 63-PD limit (§1.4).
 */
export function flattenProtectionDomains(system: SystemDescription): ProtectionDomain[] {
  const out: ProtectionDomain[] = [];
  const visit = (pd: ProtectionDomain): void => {
    out.push(pd);
    for (const child of pd.children) visit(child);
  };
  for (const pd of system.protectionDomains) visit(pd);
  return out;
}
