/**
 * The global checks on memory after G3–G11 (reference §1.5 G12–G18, in the tool's order),
 * the post-parse `setvar region_paddr` check, and the assembly of the final
 * `SystemDescription`: child PDs nested under their parents, page sizes upgraded (G17),
 * unused regions as warnings (G16).
 */
import { pdMapLimit, vmMapLimit } from "./config.js";
import type { SdfRule } from "./errors.js";
import type { DomainState, InternalChannel, InternalMr, InternalPd } from "./internal.js";
import { hex } from "./numbers.js";
import type { SdfReader } from "./reader.js";
import { formatPciAddress } from "./regions.js";
import type {
  CapShare,
  Channel,
  IoAddressSpace,
  MemoryRegion,
  ParsedSystem,
  ProtectionDomain,
  SdfWarning,
  SourceLocation,
} from "./types.js";

/** G12–G18 and the final value; see the module comment. */
export function memoryChecks(
  r: SdfReader,
  roots: InternalPd[],
  pds: InternalPd[],
  mrs: InternalMr[],
  channels: InternalChannel[],
  ioSpaces: IoAddressSpace[],
  domainState: DomainState,
): ParsedSystem {
  const x86 = r.config.arch === "x86_64";
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
  const largeIomap = iomaps.find(({ map }) =>
    mrs.some((mr) => mr.value.name === map.mr && mr.value.pageSize === largePage),
  );
  if (largeIomap !== undefined) {
    r.fail({
      code: "iommu-large-page",
      rule: "G13",
      message: "Error: currently seL4 does not have large page support for the IOMMU",
      location: largeIomap.map.location,
      element: "iomap",
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
