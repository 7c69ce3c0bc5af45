/**
 * The global checks after the walk, in the tool's order (reference §1.5 G1, G3–G11); G12–G18
 * and the final value are in `checks-memory.ts`.
 */
import { memoryChecks } from "./checks-memory.js";
import type { SdfErrorCode, SdfRule } from "./errors.js";
import type { DomainState, InternalChannel, InternalMr, InternalPd } from "./internal.js";
import { hex } from "./numbers.js";
import type { SdfReader } from "./reader.js";
import type { IoAddressSpace, IoPort, ParsedSystem } from "./types.js";

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
      location: r.rootLocation,
      element: "system",
    });
  }
  if (pds.length > MAX_PDS) {
    r.fail({
      code: "too-many-protection-domains",
      rule: "G4",
      message: `Error: too many protection domains (${pds.length}) defined. Maximum is ${MAX_PDS}.`,
      // The tool prints no location; the first PD past the maximum is where to look.
      location: (pds[MAX_PDS] as InternalPd).value.location,
      element: "protection_domain",
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

  return memoryChecks(r, roots, pds, mrs, channels, ioSpaces, domainState);
}
