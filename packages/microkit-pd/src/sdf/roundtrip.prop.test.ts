/**
 * Properties of the SDF reader and writer.
 *
 * 1. Round trip (reference §1.3 defaults, G16, G17): a valid description written as XML by
 *    `serialiseSystem`, which leaves out every attribute at its default, parses back to the
 *    same description, page sizes included, with one warning per unmapped region. Fails if the
 *    writer or the reader disagree about any default.
 * 2. Numbers (§1.1 type N): any u64 written in decimal or `0x` hex with `_` separators anywhere
 *    parses back exactly.
 *
 * Each property is also run against a planted defect (`testing/serialiser-planted.ts`,
 * `testing/numbers-planted.ts`) and must fail there, so it is known to be able to fail.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseToolNumberViaDouble } from "../testing/numbers-planted.js";
import { plantedSerialiser } from "../testing/serialiser-planted.js";
import { type IntParseResult, parseToolNumber } from "./numbers.js";
import { parseSystemDescription } from "./parse.js";
import { serialiseSystem } from "./serialise.js";
import type {
  Channel,
  Domain,
  DomainSchedule,
  Irq,
  MemoryMap,
  MemoryRegion,
  Permissions,
  ProtectionDomain,
  SourceLocation,
  SystemDescription,
  Vcpu,
  VirtualMachine,
} from "./types.js";
import { flattenProtectionDomains } from "./types.js";

const numRuns = Number(process.env.VMMUX_PROP_RUNS ?? 100);
const seed = 0x5df;
const FILE = "roundtrip.system";
const loc: SourceLocation = { file: FILE, line: 0, column: 0 };

const PERMS: readonly string[] = ["", "r", "rw", "rx", "rwx", "x", "wx"];
function perms(text: string): Permissions {
  return { read: text.includes("r"), write: text.includes("w"), execute: text.includes("x") };
}

const schedArb = fc
  .record({ budget: fc.integer({ min: 1, max: 5000 }), extra: fc.integer({ min: 0, max: 5000 }) })
  .map(({ budget, extra }) => ({ budget, period: budget + (extra < 2500 ? 0 : extra) }));

interface Shape {
  mrs: { pages: number; large: boolean; phys: boolean; explicit: boolean }[];
  pds: {
    priority: number;
    sched: { budget: number; period: number };
    passive: boolean;
    stackPages: number;
    fpu: boolean;
    maps: { mr: number; perms: string; cached: boolean }[];
    irqs: { trigger: "level" | "edge" }[];
    children: number;
    vm: { priority: number; sched: { budget: number; period: number }; vcpus: number } | null;
  }[];
  channels: { a: number; b: number; pp: "none" | "a" | "b"; notifyA: boolean; notifyB: boolean }[];
  domains: number;
}

const shapeArb: fc.Arbitrary<Shape> = fc.record({
  mrs: fc.array(
    fc.record({
      pages: fc.integer({ min: 1, max: 4 }),
      large: fc.boolean(),
      phys: fc.boolean(),
      explicit: fc.boolean(),
    }),
    { maxLength: 4 },
  ),
  pds: fc.array(
    fc.record({
      priority: fc.integer({ min: 0, max: 254 }),
      sched: schedArb,
      passive: fc.boolean(),
      stackPages: fc.integer({ min: 1, max: 4 }),
      fpu: fc.boolean(),
      maps: fc.array(
        fc.record({
          mr: fc.nat(),
          perms: fc.constantFrom(...PERMS),
          cached: fc.boolean(),
        }),
        { maxLength: 3 },
      ),
      irqs: fc.array(fc.record({ trigger: fc.constantFrom("level" as const, "edge" as const) }), {
        maxLength: 2,
      }),
      children: fc.integer({ min: 0, max: 2 }),
      vm: fc.option(
        fc.record({
          priority: fc.integer({ min: 0, max: 255 }),
          sched: schedArb,
          vcpus: fc.integer({ min: 1, max: 3 }),
        }),
      ),
    }),
    { minLength: 1, maxLength: 4 },
  ),
  channels: fc.array(
    fc.record({
      a: fc.nat(),
      b: fc.nat(),
      pp: fc.constantFrom("none" as const, "a" as const, "b" as const),
      notifyA: fc.boolean(),
      notifyB: fc.boolean(),
    }),
    { maxLength: 5 },
  ),
  domains: fc.integer({ min: 0, max: 3 }),
});

/** Builds a description that is valid by construction (every §1.5 rule respected). */
function build(shape: Shape): SystemDescription {
  // Every address below is 16 MiB-aligned, so a region whose size is a multiple of 2 MiB ends
  // with 2 MiB pages whether or not the file says so (G17), and any other keeps 4 KiB.
  const mrs: MemoryRegion[] = shape.mrs.map((m, i) => {
    const pageSize = m.large ? 0x20_0000n : 0x1000n;
    const size = BigInt(m.pages) * pageSize;
    return {
      name: `mr${i}`,
      size,
      pageSize,
      pageSizeExplicit: m.explicit,
      ...(m.phys ? { physAddr: 0x1_0000_0000n + BigInt(i) * 0x100_0000n } : {}),
      location: loc,
    };
  });
  const domains: Domain[] = Array.from({ length: shape.domains }, (_, i) => ({
    name: `dom${i}`,
    id: i,
    location: loc,
  }));
  const schedule: DomainSchedule | undefined =
    domains.length === 0
      ? undefined
      : {
          domains,
          schedule: domains.map((d, i) => ({
            kind: "entry" as const,
            domain: d.name,
            duration: 100 * (i + 1),
            unit: i % 2 === 0 ? ("us" as const) : ("ticks" as const),
            location: loc,
          })),
          startIndex: 0,
          location: loc,
        };

  let irqNumber = 32;
  const usedIds = new Map<string, number>();
  const nextId = (pd: string): number | undefined => {
    const id = usedIds.get(pd) ?? 0;
    if (id > 61) return undefined;
    usedIds.set(pd, id + 1);
    return id;
  };
  const all: ProtectionDomain[] = [];
  const makePd = (
    name: string,
    s: Shape["pds"][number],
    child: { parent: string; id: number } | undefined,
    index: number,
  ): ProtectionDomain => {
    const maps: MemoryMap[] = [];
    const mapped = new Set<number>();
    for (const [j, m] of s.maps.entries()) {
      if (mrs.length === 0) break;
      const mr = m.mr % mrs.length;
      if (mapped.has(mr)) continue;
      mapped.add(mr);
      maps.push({
        mr: `mr${mr}`,
        vaddr: 0x1000_0000n + BigInt(j) * 0x100_0000n,
        perms: perms(m.perms === "w" ? "rw" : m.perms),
        cached: m.cached,
        location: loc,
      });
    }
    const irqs: Irq[] = [];
    for (const irq of s.irqs) {
      const id = nextId(name);
      if (id === undefined) break;
      irqs.push({ kind: "arm", id, irq: irqNumber++, trigger: irq.trigger, location: loc });
    }
    let vm: VirtualMachine | undefined;
    if (s.vm !== null) {
      const vcpus: Vcpu[] = Array.from({ length: s.vm.vcpus }, (_, id) => ({
        id,
        cpu: 0,
        priority: s.vm?.priority as number,
        budget: s.vm?.sched.budget as number,
        period: s.vm?.sched.period as number,
        location: loc,
      }));
      vm = {
        name: `vm_${name}`,
        priority: s.vm.priority,
        budget: s.vm.sched.budget,
        period: s.vm.sched.period,
        vcpus,
        maps: [],
        location: loc,
      };
    }
    const pd: ProtectionDomain = {
      name,
      priority: s.priority,
      budget: s.sched.budget,
      period: s.sched.period,
      passive: s.passive,
      stackSize: s.stackPages * 0x1000,
      cpu: 0,
      smc: false,
      fpu: s.fpu,
      ...(domains.length > 0 ? { domain: `dom${index % domains.length}` } : {}),
      ...(child !== undefined ? { id: child.id, parent: child.parent } : {}),
      programImage: { path: `${name}.elf`, location: loc },
      maps,
      irqs,
      setvars: [],
      ioports: [],
      caps: [],
      ...(vm !== undefined ? { virtualMachine: vm } : {}),
      children: [],
      location: loc,
    };
    all.push(pd);
    return pd;
  };

  const roots = shape.pds.map((s, i) => {
    const root = makePd(`pd${i}`, s, undefined, i);
    // Child ids start above the vCPU ids so they never clash (G1).
    const children = Array.from({ length: s.children }, (_, c) =>
      makePd(`pd${i}_c${c}`, { ...s, children: 0, vm: null }, { parent: root.name, id: 10 + c }, c),
    );
    return { ...root, children };
  });
  const flat = roots.flatMap((r) => [r, ...r.children]);

  const channels: Channel[] = [];
  for (const c of shape.channels) {
    const a = flat[c.a % flat.length] as ProtectionDomain;
    const b = flat[c.b % flat.length] as ProtectionDomain;
    if (a.name === b.name) continue;
    const idA = nextId(a.name);
    const idB = nextId(b.name);
    if (idA === undefined || idB === undefined) continue;
    // A PPC must go to a strictly higher priority (G10).
    const ppA = c.pp === "a" && b.priority > a.priority;
    const ppB = c.pp === "b" && a.priority > b.priority;
    channels.push({
      ends: [
        { pd: a.name, id: idA, pp: ppA, notify: c.notifyA, location: loc },
        { pd: b.name, id: idB, pp: ppB, notify: c.notifyB, location: loc },
      ],
      location: loc,
    });
  }

  return {
    fileName: FILE,
    protectionDomains: roots,
    memoryRegions: mrs,
    channels,
    ...(schedule !== undefined ? { domainSchedule: schedule } : {}),
    ioAddressSpaces: [],
  };
}

/** Locations are where the writer put things, not part of the description. */
function comparable(system: SystemDescription): unknown {
  return JSON.parse(
    JSON.stringify(system, (key, value: unknown) => {
      if (key === "location") return undefined;
      return typeof value === "bigint" ? `0x${value.toString(16)}` : value;
    }),
  );
}

function roundTrip(write: (s: SystemDescription) => string) {
  return fc.property(shapeArb, (shape) => {
    const original = build(shape);
    const { system, warnings } = parseSystemDescription(write(original), { fileName: FILE });
    expect(comparable(system)).toEqual(comparable(original));
    const mapped = new Set(
      flattenProtectionDomains(original).flatMap((pd) => pd.maps.map((m) => m.mr)),
    );
    expect(warnings.map((w) => w.message)).toEqual(
      original.memoryRegions
        .filter((mr) => !mapped.has(mr.name))
        .map((mr) => `WARNING: unused memory region '${mr.name}'`),
    );
  });
}

describe("SDF round trip (property)", () => {
  it("a valid description written as XML parses back equal", () => {
    fc.assert(roundTrip(serialiseSystem), { numRuns, seed });
  });

  it.each(["notify-default-false", "period-dropped"] as const)(
    "catches the planted serialiser bug %s",
    (bug) => {
      const result = fc.check(roundTrip(plantedSerialiser(bug)), { numRuns: 200, seed });
      expect(result.failed).toBe(true);
    },
  );
});

/** Writes `value` as the tool accepts it: decimal or `0x` hex, with `_` inserted anywhere. */
const numberTextArb = fc
  .record({
    value: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
    hex: fc.boolean(),
    underscores: fc.array(fc.nat(), { maxLength: 4 }),
  })
  .map(({ value, hex, underscores }) => {
    let digits = hex ? value.toString(16) : value.toString();
    for (const u of underscores) {
      const at = u % (digits.length + 1);
      digits = `${digits.slice(0, at)}_${digits.slice(at)}`;
    }
    return { value, text: hex ? `0x${digits}` : digits };
  });

function numbersProperty(parse: (text: string) => IntParseResult) {
  return fc.property(numberTextArb, ({ value, text }) => {
    expect(parse(text)).toEqual({ ok: true, value });
  });
}

describe("SDF round trip of awkward text", () => {
  it("writes markup characters, tabs and line breaks in names and paths so they read back equal", () => {
    const name = "a&b<c\"d'e>f\tg\nh\ri";
    const text = `<system><protection_domain name="${name
      .replaceAll("&", "&amp;")
      .replaceAll("<", "&lt;")
      .replaceAll('"', "&quot;")
      .replaceAll("\t", "&#9;")
      .replaceAll("\n", "&#10;")
      .replaceAll("\r", "&#13;")}"><program_image path="x.elf"/></protection_domain></system>`;
    const { system } = parseSystemDescription(text);
    expect(system.protectionDomains[0]?.name).toBe(name);
    const back = parseSystemDescription(serialiseSystem(system)).system;
    expect(back.protectionDomains[0]?.name).toBe(name);
  });
});

describe("tool numbers (property)", () => {
  it("any u64 in decimal or hex with underscores parses back exactly", () => {
    fc.assert(numbersProperty(parseToolNumber), { numRuns: numRuns * 5, seed });
  });

  it("catches the planted bug of parsing through a double", () => {
    const result = fc.check(numbersProperty(parseToolNumberViaDouble), { numRuns: 500, seed });
    expect(result.failed).toBe(true);
  });
});
