/**
 * A short human summary of a parsed system, for `vmmux sdf`: PDs with their scheduling
 * parameters, VMs, channels, IRQs and memory regions.
 */
import { hex } from "./numbers.js";
import {
  flattenProtectionDomains,
  type ProtectionDomain,
  type SdfWarning,
  type SystemDescription,
} from "./types.js";

function permsText(p: { read: boolean; write: boolean; execute: boolean }): string {
  return `${p.read ? "r" : ""}${p.write ? "w" : ""}${p.execute ? "x" : ""}` || "-";
}

function mapText(m: { perms: Parameters<typeof permsText>[0]; cached: boolean }): string {
  return m.cached ? permsText(m.perms) : `${permsText(m.perms)} uncached`;
}

function sizeText(bytes: bigint): string {
  if (bytes % 0x10_0000n === 0n) return `${bytes / 0x10_0000n} MiB`;
  if (bytes % 0x400n === 0n) return `${bytes / 0x400n} KiB`;
  return `${bytes} B`;
}

function pdLine(pd: ProtectionDomain, depth: number): string {
  const sched =
    pd.budget === pd.period
      ? `budget ${pd.budget} µs (round robin)`
      : `budget ${pd.budget}/${pd.period} µs`;
  const extra = [
    pd.passive ? "passive" : undefined,
    pd.id !== undefined ? `child id ${pd.id} of ${pd.parent}` : undefined,
    pd.domain !== undefined ? `domain ${pd.domain}` : undefined,
    pd.cpu !== 0 ? `cpu ${pd.cpu}` : undefined,
  ].filter((x) => x !== undefined);
  const tail = extra.length > 0 ? `, ${extra.join(", ")}` : "";
  return `${"  ".repeat(depth + 1)}${pd.name}: priority ${pd.priority}, ${sched}${tail}`;
}

/** Multi-line plain text; `warnings` are appended when given. */
export function summariseSystem(
  system: SystemDescription,
  warnings: readonly SdfWarning[] = [],
): string {
  const out: string[] = [];
  const pds = flattenProtectionDomains(system);
  out.push(`${system.fileName}: ${pds.length} protection domain(s)`);
  const depthOf = (pd: ProtectionDomain): number => {
    let depth = 0;
    let parent = pd.parent;
    while (parent !== undefined) {
      depth++;
      parent = pds.find((p) => p.name === parent)?.parent;
    }
    return depth;
  };
  for (const pd of pds) out.push(pdLine(pd, depthOf(pd)));

  const vms = pds.flatMap((pd) => (pd.virtualMachine ? [{ pd, vm: pd.virtualMachine }] : []));
  if (vms.length > 0) {
    out.push("virtual machines:");
    for (const { pd, vm } of vms) {
      const sched =
        vm.budget === vm.period ? `budget ${vm.budget} µs` : `budget ${vm.budget}/${vm.period} µs`;
      out.push(
        `  ${vm.name} (VMM ${pd.name}): ${vm.vcpus.length} vCPU(s) [${vm.vcpus.map((v) => v.id).join(", ")}], priority ${vm.priority}, ${sched}`,
      );
    }
  }

  if (system.channels.length > 0) {
    out.push("channels:");
    for (const ch of system.channels) {
      const [a, b] = ch.ends;
      const arrow = a.pp
        ? " =ppc=> "
        : b.pp
          ? " <=ppc= "
          : a.notify && b.notify
            ? " <-> "
            : a.notify
              ? " -> "
              : b.notify
                ? " <- "
                : " -x- ";
      out.push(`  ${a.pd}[${a.id}]${arrow}${b.pd}[${b.id}]`);
    }
  }

  const irqs = pds.flatMap((pd) => pd.irqs.map((irq) => ({ pd, irq })));
  if (irqs.length > 0) {
    out.push("IRQs:");
    for (const { pd, irq } of irqs) {
      const what =
        irq.kind === "arm"
          ? `irq ${irq.irq} (${irq.trigger})`
          : irq.kind === "ioapic"
            ? `ioapic ${irq.ioapic} pin ${irq.pin} vector ${irq.vector} (${irq.trigger})`
            : `msi vector ${irq.vector}`;
      out.push(`  ${what} -> ${pd.name} channel ${irq.id}`);
    }
  }

  if (system.memoryRegions.length > 0) {
    out.push("memory regions:");
    for (const mr of system.memoryRegions) {
      const maps = pds.flatMap((pd) => [
        ...pd.maps
          .filter((m) => m.mr === mr.name)
          .map((m) => `${pd.name}@${hex(m.vaddr)} ${mapText(m)}`),
        ...(pd.virtualMachine?.maps ?? [])
          .filter((m) => m.mr === mr.name)
          .map((m) => `${pd.virtualMachine?.name}@${hex(m.vaddr)} ${mapText(m)}`),
      ]);
      const phys = mr.physAddr !== undefined ? ` at ${hex(mr.physAddr)}` : "";
      out.push(
        `  ${mr.name}: ${sizeText(mr.size)}${phys}, pages ${sizeText(mr.pageSize)}${maps.length > 0 ? `, mapped by ${maps.join(", ")}` : ""}`,
      );
    }
  }

  if (system.domainSchedule !== undefined) {
    const s = system.domainSchedule;
    out.push(
      `domains: ${s.domains.map((d) => `${d.name}=${d.id}`).join(", ")}; schedule of ${s.schedule.length} entries from index ${s.startIndex}`,
    );
  }
  for (const w of warnings) out.push(w.message);
  return out.join("\n");
}
