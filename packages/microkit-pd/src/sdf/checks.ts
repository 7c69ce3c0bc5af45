/**
 * The global checks after the walk, in the tool's order (reference §1.5 G1, G3–G18), and the
 * assembly of the final `SystemDescription` (page sizes upgraded, warnings collected).
 */
import { pdMapLimit, vmMapLimit } from "./config.js";
import type { SdfErrorCode, SdfRule } from "./errors.js";
import type { DomainState, InternalChannel, InternalMr, InternalPd } from "./internal.js";
import { hex } from "./numbers.js";
import type { SdfReader } from "./reader.js";
import { formatPciAddress } from "./regions.js";
import type {
  CapShare,
  Channel,
  IoAddressSpace,
  IoPort,
  MemoryRegion,
  ParsedSystem,
  ProtectionDomain,
  SdfWarning,
  SourceLocation,
} from "./types.js";

const MAX_PDS = 63;
const MONITOR_PD_NAME = "monitor";

/** G1 and the pre-order flattening of §1.4. */
export function flattenTree(r: SdfReader, roots: InternalPd[]): InternalPd[] {
  const out: InternalPd[] = [];
  const visit = (pd: InternalPd): void => {
    out.push(pd);
    const ids: number[] = [];
    for (const child of pd.children) {
      const id = child.value.id as number;
      if (ids.includes(id)) {
        r.fail({
          code: "child-id-duplicate",
          rule: "G1",
          message: `Error: duplicate id: ${id} in protection domain: '${pd.value.name}' @ ${r.loc(child.value)}`,
          location: child.value.location,
          element: "protection_domain",
          attribute: "id",
        });
      }
      if (pd.value.virtualMachine?.vcpus.some((v) => v.id === id)) {
        r.fail({
          code: "child-id-vcpu-clash",
          rule: "G1",
          message: `Error: duplicate id: ${id} clashes with virtual machine vcpu id in protection domain: '${pd.value.name}' @ ${r.loc(child.value)}`,
          location: child.value.location,
          element: "protection_domain",
          attribute: "id",
        });
      }
      ids.push(id);
    }
    for (const child of pd.children) {
      child.parent = pd.value.name;
      visit(child);
    }
  };
  for (const root of roots) visit(root);
  return out;
}

function pdError(
  r: SdfReader,
  code: SdfErrorCode,
  rule: SdfRule,
  text: string,
  pd: InternalPd,
): never {
  return r.fail({
    code,
    rule,
    message: `Error: ${text} in protection domain: '${pd.value.name}' @ ${r.loc(pd.value)}`,
    location: pd.value.location,
    element: "protection_domain",
  });
}

/**
 * G3–G18 after the walk and the channels, in the tool's order, then the final value: child PDs
 * nested under their parents, page sizes upgraded (G17), unused regions as warnings (G16).
 */
export function globalChecks(
  r: SdfReader,
  roots: InternalPd[],
  pds: InternalPd[],
  mrs: InternalMr[],
  channels: InternalChannel[],
  ioSpaces: IoAddressSpace[],
  domainState: DomainState,
): ParsedSystem {
  const x86 = r.config.arch === "x86_64";
  const names = new Set(pds.map((p) => p.value.name));

  // G3
  for (const pd of pds) {
    for (const cap of pd.value.caps) {
      if (!names.has(cap.pd)) {
        r.fail({
          code: "cap-pd-unknown",
          rule: "G3",
          message: `Error: unknown PD name '${cap.pd}': ${r.loc(cap)}`,
          location: cap.location,
          element: `cap_${cap.kind}`,
          attribute: "pd",
        });
      }
    }
  }

  // G4
  if (pds.length === 0) {
    r.fail({
      code: "no-protection-domains",
      rule: "G4",
      message: "Error: at least one protection domain must be defined",
    });
  }
  if (pds.length > MAX_PDS) {
    r.fail({
      code: "too-many-protection-domains",
      rule: "G4",
      message: `Error: too many protection domains (${pds.length}) defined. Maximum is ${MAX_PDS}.`,
    });
  }

  // G5
  for (const pd of pds) {
    if (pds.filter((x) => x.value.name === pd.value.name).length > 1) {
      r.fail({
        code: "pd-name-duplicate",
        rule: "G5",
        message: `Error: duplicate protection domain name '${pd.value.name}'.`,
        location: pd.value.location,
        element: "protection_domain",
        attribute: "name",
      });
    }
    if (pd.value.name === MONITOR_PD_NAME) {
      r.fail({
        code: "pd-name-reserved",
        rule: "G5",
        message: "Error: the PD name 'monitor' is reserved for the Microkit Monitor.",
        location: pd.value.location,
        element: "protection_domain",
        attribute: "name",
      });
    }
  }

  // G6
  for (const mr of mrs) {
    if (mrs.filter((x) => x.value.name === mr.value.name).length > 1) {
      r.fail({
        code: "mr-name-duplicate",
        rule: "G6",
        message: `Error: duplicate memory region name '${mr.value.name}'.`,
        location: mr.value.location,
        element: "memory_region",
        attribute: "name",
      });
    }
  }

  // G7
  const vmNames: string[] = [];
  for (const pd of pds) {
    const vm = pd.value.virtualMachine;
    if (vm !== undefined) {
      if (vmNames.includes(vm.name)) {
        r.fail({
          code: "vm-name-duplicate",
          rule: "G7",
          message: `Error: duplicate virtual machine name '${vm.name}'.`,
          location: vm.location,
          element: "virtual_machine",
          attribute: "name",
        });
      }
      vmNames.push(vm.name);
    }
    if (x86 && vm !== undefined && pd.children.length > 0) {
      r.fail({
        code: "x86-vmm-children",
        rule: "G7",
        message: `Error: It is not possible for PD '${pd.value.name}' with a bound vCPU to have children on x86_64: ${r.loc(pd.value)}`,
        location: pd.value.location,
        element: "protection_domain",
      });
    }
  }

  // G8: the uniqueness key is the IRQ number (x86: the vector).
  const irqNumbers: number[] = [];
  for (const pd of pds) {
    for (const irq of pd.value.irqs) {
      const n = irq.kind === "arm" ? irq.irq : irq.vector;
      if (irqNumbers.includes(n)) {
        pdError(r, "irq-duplicate", "G8", `duplicate irq: ${n}`, pd);
      }
      irqNumbers.push(n);
    }
  }

  // G9 and G10, interleaved per channel as the tool does.
  const ids = new Map<InternalPd, number[]>(pds.map((p) => [p, []]));
  for (const pd of pds) {
    const list = ids.get(pd) as number[];
    for (const irq of pd.value.irqs) {
      if (list.includes(irq.id)) {
        pdError(r, "channel-id-duplicate", "G9", `duplicate channel id: ${irq.id}`, pd);
      }
      list.push(irq.id);
    }
  }
  for (const ch of channels) {
    const { a, b } = ch;
    for (const end of [a, b]) {
      if ((ids.get(end.pd) as number[]).includes(end.value.id)) {
        pdError(r, "channel-id-duplicate", "G9", `duplicate channel id: ${end.value.id}`, end.pd);
      }
    }
    const pa = a.pd.value;
    const pb = b.pd.value;
    if (!ch.legacyPp) {
      const ppcError = (caller: typeof pa, callee: typeof pa): never =>
        r.fail({
          code: "ppc-priority",
          rule: "G10",
          message: `Error: PPCs must be to protection domains of strictly higher priorities; channel with PPC exists from pd ${caller.name} (priority: ${caller.priority}) to pd ${callee.name} (priority: ${callee.priority})`,
          location: ch.node.location,
          element: "channel",
        });
      if (a.value.pp && pa.priority >= pb.priority) ppcError(pa, pb);
      else if (b.value.pp && pb.priority >= pa.priority) ppcError(pb, pa);
    }
    if (
      x86 &&
      ((a.value.pp && pb.virtualMachine !== undefined) ||
        (b.value.pp && pa.virtualMachine !== undefined))
    ) {
      const [callee, caller] = a.value.pp ? [pb, pa] : [pa, pb];
      r.fail({
        code: "x86-ppc-to-vmm",
        rule: "G10",
        message: `Error: It is not possible to PPC to PD '${callee.name}' with a bound vCPU from PD '${caller.name}' on x86_64 @ ${r.loc(pa)}`,
        location: ch.node.location,
        element: "channel",
      });
    }
    (ids.get(a.pd) as number[]).push(a.value.id);
    (ids.get(b.pd) as number[]).push(b.value.id);
  }

  // G11
  for (const pd of pds) {
    const seen: number[] = [];
    for (const port of pd.value.ioports) {
      if (seen.includes(port.id)) {
        pdError(r, "ioport-id-duplicate", "G11", `duplicate I/O port id: ${port.id}`, pd);
      }
      seen.push(port.id);
    }
  }
  const seenPorts: { pd: string; port: IoPort }[] = [];
  for (const pd of pds) {
    for (const port of pd.value.ioports) {
      for (const other of seenPorts) {
        const [s1, e1] = [port.addr, port.addr + port.size];
        const [s2, e2] = [other.port.addr, other.port.addr + other.port.size];
        if (s1 < e2 && s2 < e1) {
          r.fail({
            code: "ioport-overlap",
            rule: "G11",
            message: `Error: I/O port id: ${port.id}, half-open range: [${hex(s1)}, ${hex(e1)}) in protection domain: '${pd.value.name}' @ ${r.loc(port)} overlaps with I/O port id: ${other.port.id}, half-open range: [${hex(s2)}, ${hex(e2)}) in protection domain: '${other.pd}' @ ${r.loc(other.port)}`,
            location: port.location,
            element: "ioport",
          });
        }
      }
      seenPorts.push({ pd: pd.value.name, port });
    }
  }

  // G12
  for (const pd of pds) {
    checkMaps(
      r,
      mrs,
      pd.value.maps.map((m) => ({ mr: m.mr, addr: m.vaddr, location: m.location })),
      "map",
      `protection domain '${pd.value.name}'`,
      pdMapLimit(r.config, BigInt(pd.value.stackSize)),
    );
    const vm = pd.value.virtualMachine;
    if (vm !== undefined) {
      checkMaps(
        r,
        mrs,
        vm.maps.map((m) => ({ mr: m.mr, addr: m.vaddr, location: m.location })),
        "map",
        `virtual machine '${vm.name}'`,
        vmMapLimit(r.config),
      );
    }
  }

  // G13
  const iomaps = ioSpaces.flatMap((s) => s.iomaps.map((m) => ({ space: s, map: m })));
  const largePage = r.config.pageSizes[1];
  if (
    iomaps.some(({ map }) =>
      mrs.some((mr) => mr.value.name === map.mr && mr.value.pageSize === largePage),
    )
  ) {
    r.fail({
      code: "iommu-large-page",
      rule: "G13",
      message: "Error: currently seL4 does not have large page support for the IOMMU",
    });
  }
  for (const space of ioSpaces) {
    checkMaps(
      r,
      mrs,
      space.iomaps.map((m) => ({ mr: m.mr, addr: m.iovaddr, location: m.location })),
      "iomap",
      `PCI device ${formatPciAddress(space.peripheralId)}`,
      r.config.maxIova + 1n,
    );
  }

  // G14
  for (const pd of pds) {
    const bySlot = new Map<number, CapShare[]>();
    for (const cap of pd.value.caps) {
      bySlot.set(cap.slot, [...(bySlot.get(cap.slot) ?? []), cap]);
    }
    for (const [slot, caps] of bySlot) {
      if (caps.length > 1) {
        const typeName = { tcb: "Tcb", sc: "Sc", vspace: "VSpace" } as const;
        const lines = caps
          .map((c) => `\n  type ${typeName[c.kind]} from '${c.pd}' at '${r.loc(c)}'`)
          .join("");
        r.fail({
          code: "cap-slot-overlap",
          rule: "G14",
          message: `Error: overlapping user caps in slot ${slot} of protection domain '${pd.value.name}':${lines}`,
          location: (caps[1] as CapShare).location,
          element: `cap_${(caps[1] as CapShare).kind}`,
          attribute: "slot",
        });
      }
    }
  }

  // G15
  const fixed: { name: string; start: bigint; end: bigint }[] = [];
  for (const { value: mr } of mrs) {
    if (mr.physAddr === undefined) continue;
    const start = mr.physAddr;
    const end = start + mr.size;
    for (const other of fixed) {
      if (!(start >= other.end || end <= other.start)) {
        r.fail({
          code: "mr-paddr-overlap",
          rule: "G15",
          message: `Error: memory region '${mr.name}' physical address range [${hex(start)}..${hex(end)}) overlaps with another memory region '${other.name}' [${hex(other.start)}..${hex(other.end)}) @ ${r.loc(mr)}`,
          location: mr.location,
          element: "memory_region",
          attribute: "phys_addr",
        });
      }
    }
    fixed.push({ name: mr.name, start, end });
  }

  // G16
  const allMaps = pds.flatMap((pd) => [...pd.value.maps, ...(pd.value.virtualMachine?.maps ?? [])]);
  const warnings: SdfWarning[] = [];
  for (const { value: mr } of mrs) {
    if (!allMaps.some((m) => m.mr === mr.name)) {
      warnings.push({
        code: "unused-memory-region",
        message: `WARNING: unused memory region '${mr.name}'`,
        location: mr.location,
      });
    }
  }

  // G17: upgrade to the largest page size every address and the size are aligned to.
  const finalMrs: MemoryRegion[] = mrs.map(({ value: mr }) => {
    if (mr.pageSizeExplicit || iomaps.some(({ map }) => map.mr === mr.name)) return mr;
    const optimal = [...r.config.pageSizes].reverse().find((p) => mr.size % p === 0n);
    if (optimal === undefined || optimal === mr.pageSize) return mr;
    const addrs = allMaps.filter((m) => m.mr === mr.name).map((m) => m.vaddr);
    if (mr.physAddr !== undefined) addrs.push(mr.physAddr);
    let pageSize = mr.pageSize;
    for (const larger of [...r.config.pageSizes].reverse()) {
      if (larger <= mr.pageSize) continue;
      if (addrs.every((a) => a % larger === 0n)) pageSize = larger;
    }
    return pageSize === mr.pageSize ? mr : { ...mr, pageSize };
  });

  // G18
  const paddrRegions = new Set<string>();
  for (const pd of pds) {
    for (const setvar of pd.setvars) {
      if (setvar.kind === "paddr" && setvar.mr !== undefined) paddrRegions.add(setvar.mr);
      if (setvar.kind === "prefill-size") {
        for (const mr of mrs) {
          if (mr.value.name === setvar.mr && !mr.hasPrefillBytes) {
            r.fail({
              code: "setvar-prefill-size-without-prefill",
              rule: "G18",
              message: `Error: 'setvar_prefill_size' used for MR without a \`prefill_path\` @ '${mr.value.name}' ${r.loc(mr.value)}`,
              location: mr.value.location,
              element: "memory_region",
            });
          }
        }
      }
    }
  }
  if (x86) {
    for (const { value: mr } of mrs) {
      if (paddrRegions.has(mr.name) && mr.physAddr === undefined) {
        r.fail({
          code: "x86-setvar-paddr-unallocated",
          rule: "G18",
          message: `Error: setvar with 'region_paddr' for MR without a specified paddr is unsupported on x86-64 @ '${mr.name}' ${r.loc(mr)}`,
          location: mr.location,
          element: "memory_region",
        });
      }
    }
  }

  // §1.3 `setvar`: a `region_paddr` naming no region passes `sdf.rs`; the tool then panics
  // while patching the symbol, so the model reports it here.
  for (const pd of pds) {
    for (const setvar of pd.value.setvars) {
      if (!mrs.some((mr) => mr.value.name === setvar.regionPaddr)) {
        r.fail({
          code: "setvar-region-unknown",
          rule: "post-parse",
          message: `Error: setvar on symbol '${setvar.symbol}' names memory region '${setvar.regionPaddr}', which does not exist (the microkit tool panics here) on element 'setvar': ${r.loc(setvar)}`,
          location: setvar.location,
          element: "setvar",
          attribute: "region_paddr",
          toolPanics: true,
        });
      }
    }
  }

  const build = (pd: InternalPd): ProtectionDomain => ({
    ...pd.value,
    ...(pd.parent !== undefined ? { parent: pd.parent } : {}),
    children: pd.children.map(build),
  });
  const channelValues: Channel[] = channels.map((ch) => ({
    ends: [ch.a.value, ch.b.value],
    location: ch.node.location,
  }));
  return {
    system: {
      fileName: r.file,
      protectionDomains: roots.map(build),
      memoryRegions: finalMrs,
      channels: channelValues,
      ...(domainState.schedule !== undefined ? { domainSchedule: domainState.schedule } : {}),
      ioAddressSpaces: ioSpaces,
    },
    warnings,
  };
}

/** The tool's `check_maps` (G12, G13): region exists, alignment, overflow, limit, overlap. */
function checkMaps(
  r: SdfReader,
  mrs: InternalMr[],
  maps: { mr: string; addr: bigint; location: SourceLocation }[],
  element: "map" | "iomap",
  space: string,
  limit: bigint,
): void {
  const addrName = element === "map" ? "vaddr" : "iovaddr";
  const rangeName = element === "map" ? "virtual address range" : "io address range";
  const rule: SdfRule = element === "map" ? "G12" : "G13";
  const checked: { mr: string; start: bigint; end: bigint }[] = [];
  for (const map of maps) {
    const at = `@ ${r.loc(map)}`;
    const base = { rule, location: map.location, element } as const;
    const mr = mrs.find((m) => m.value.name === map.mr)?.value;
    if (mr === undefined) {
      r.fail({
        ...base,
        code: "map-mr-unknown",
        message: `Error: invalid memory region name '${map.mr}' on '${element}' ${at}`,
        attribute: "mr",
      });
    }
    if (map.addr % mr.pageSize !== 0n) {
      r.fail({
        ...base,
        code: "map-unaligned",
        message: `Error: invalid ${addrName} alignment on '${element}' ${at}`,
        attribute: addrName,
      });
    }
    const start = map.addr;
    const end = start + mr.size;
    if (end > (1n << 64n) - 1n) {
      r.fail({
        ...base,
        code: "map-overflow",
        message: `Error: ${element} for '${map.mr}' has address range that overflows ${at}`,
        attribute: addrName,
      });
    }
    if (end > limit) {
      r.fail({
        ...base,
        code: "map-out-of-range",
        message: `Error: ${element} for '${map.mr}' has ${rangeName} [${hex(start)}..${hex(end)}) which exceeds valid address space [0x0..${hex(limit)}) ${at}`,
        attribute: addrName,
      });
    }
    for (const other of checked) {
      if (!(start >= other.end || end <= other.start)) {
        r.fail({
          ...base,
          code: "map-overlap",
          message: `Error: map for '${map.mr}' has ${rangeName} [${hex(start)}..${hex(end)}) which overlaps with map for '${other.mr}' [${hex(other.start)}..${hex(other.end)}) in ${space} ${at}`,
          attribute: addrName,
        });
      }
    }
    checked.push({ mr: map.mr, start, end });
  }
}
