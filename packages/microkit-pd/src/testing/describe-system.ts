/**
 * Build a `SystemDescription` in code, with the SDF defaults of reference §1.3 applied, for tests
 * that want a runnable system without writing XML. No validation beyond what the runtime checks.
 */
import type { Permissions } from "../program.js";
import type {
  Channel,
  ChannelEnd,
  Irq,
  MemoryMap,
  MemoryRegion,
  ProtectionDomain,
  SourceLocation,
  SystemDescription,
  VirtualMachine,
} from "../sdf/types.js";

export interface PdSpec {
  readonly name: string;
  readonly priority?: number;
  /** µs, default 1000. */
  readonly budget?: number;
  /** µs, default = budget. */
  readonly period?: number;
  readonly passive?: boolean;
  /** `program_image` path; default `<name>.elf`. */
  readonly image?: string;
  /** Child PDs only. */
  readonly id?: number;
  /** Name of a domain of {@link SystemSpec.domains}. */
  readonly domain?: string;
  readonly irqs?: readonly {
    readonly id: number;
    readonly irq: number;
    readonly trigger?: "level" | "edge";
  }[];
  readonly maps?: readonly MapSpec[];
  readonly children?: readonly PdSpec[];
  readonly vm?: VmSpec;
}

export interface MapSpec {
  readonly mr: string;
  /** Default `rw`. */
  readonly perms?: string;
  readonly vaddr?: number;
}

export interface VmSpec {
  readonly name: string;
  readonly priority?: number;
  readonly budget?: number;
  readonly period?: number;
  /** vCPU ids; default [0]. */
  readonly vcpus?: readonly number[];
  readonly maps?: readonly MapSpec[];
}

export interface EndSpec {
  readonly pd: string;
  readonly id: number;
  readonly pp?: boolean;
  readonly notify?: boolean;
}

export interface RegionSpec {
  readonly name: string;
  /** Bytes; default 0x1000. */
  readonly size?: number;
  readonly physAddr?: number;
}

/** A domain schedule: domain names (ids in order) and entries run in turn, durations in µs. */
export interface DomainsSpec {
  readonly domains: readonly string[];
  readonly schedule: readonly { readonly domain: string; readonly us: number }[];
  readonly startIndex?: number;
}

export interface SystemSpec {
  readonly pds: readonly PdSpec[];
  readonly domains?: DomainsSpec;
  readonly channels?: readonly (readonly [EndSpec, EndSpec])[];
  readonly regions?: readonly RegionSpec[];
}

const here: SourceLocation = { file: "<code>", line: 1, column: 1 };

function perms(text: string | undefined): Permissions {
  const value = text ?? "rw";
  return { read: value.includes("r"), write: value.includes("w"), execute: value.includes("x") };
}

function mapOf(spec: MapSpec, index: number): MemoryMap {
  return {
    mr: spec.mr,
    vaddr: BigInt(spec.vaddr ?? 0x2000_0000 + index * 0x10_0000),
    perms: perms(spec.perms),
    cached: true,
    location: here,
  };
}

function vmOf(spec: VmSpec): VirtualMachine {
  const budget = spec.budget ?? 1000;
  const period = spec.period ?? budget;
  const priority = spec.priority ?? 0;
  return {
    name: spec.name,
    priority,
    budget,
    period,
    vcpus: (spec.vcpus ?? [0]).map((id) => ({
      id,
      cpu: 0,
      priority,
      budget,
      period,
      location: here,
    })),
    maps: (spec.maps ?? []).map(mapOf),
    location: here,
  };
}

function pdOf(spec: PdSpec, parent: string | undefined): ProtectionDomain {
  const budget = spec.budget ?? 1000;
  const irqs: Irq[] = (spec.irqs ?? []).map((irq) => ({
    kind: "arm",
    id: irq.id,
    irq: irq.irq,
    trigger: irq.trigger ?? "level",
    location: here,
  }));
  return {
    name: spec.name,
    priority: spec.priority ?? 0,
    budget,
    period: spec.period ?? budget,
    passive: spec.passive ?? false,
    stackSize: 0x2000,
    cpu: 0,
    smc: false,
    fpu: true,
    ...(spec.id === undefined ? {} : { id: spec.id }),
    ...(spec.domain === undefined ? {} : { domain: spec.domain }),
    ...(parent === undefined ? {} : { parent }),
    programImage: { path: spec.image ?? `${spec.name}.elf`, location: here },
    maps: (spec.maps ?? []).map(mapOf),
    irqs,
    setvars: [],
    ioports: [],
    caps: [],
    ...(spec.vm ? { virtualMachine: vmOf(spec.vm) } : {}),
    children: (spec.children ?? []).map((child) => pdOf(child, spec.name)),
    location: here,
  };
}

function endOf(spec: EndSpec): ChannelEnd {
  return {
    pd: spec.pd,
    id: spec.id,
    pp: spec.pp ?? false,
    notify: spec.notify ?? true,
    location: here,
  };
}

/** A description of the given PDs, channels and regions with every default applied. */
export function describeSystem(spec: SystemSpec): SystemDescription {
  const regions: MemoryRegion[] = (spec.regions ?? []).map((region) => ({
    name: region.name,
    size: BigInt(region.size ?? 0x1000),
    pageSize: 0x1000n,
    pageSizeExplicit: false,
    ...(region.physAddr === undefined ? {} : { physAddr: BigInt(region.physAddr) }),
    location: here,
  }));
  const channels: Channel[] = (spec.channels ?? []).map(([a, b]) => ({
    ends: [endOf(a), endOf(b)],
    location: here,
  }));
  const domains = spec.domains;
  return {
    fileName: "<code>",
    protectionDomains: spec.pds.map((pd) => pdOf(pd, undefined)),
    memoryRegions: regions,
    channels,
    ...(domains
      ? {
          domainSchedule: {
            domains: domains.domains.map((name, id) => ({ name, id, location: here })),
            schedule: domains.schedule.map((entry) => ({
              kind: "entry" as const,
              domain: entry.domain,
              duration: entry.us,
              unit: "us" as const,
              location: here,
            })),
            startIndex: domains.startIndex ?? 0,
            location: here,
          },
        }
      : {}),
    ioAddressSpaces: [],
  };
}
