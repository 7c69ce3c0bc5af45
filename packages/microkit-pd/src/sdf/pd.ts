/**
 * `<protection_domain>` and what it contains: `program_image`, `map`, `setvar`, child PDs,
 * `virtual_machine` with `vcpu`s, and `cspace` (reference §1.3; checks #1–#11, #16–#22).
 */
import { pdMapLimit, vmMapLimit } from "./config.js";
import type { SdfRule } from "./errors.js";
import { type DomainState, type InternalPd, type InternalSetvar, RW } from "./internal.js";
import { parseIoport, parseIrq } from "./irq.js";
import { hex } from "./numbers.js";
import type { SdfReader } from "./reader.js";
import type {
  CapShare,
  IoPort,
  Irq,
  MemoryMap,
  ProgramImage,
  Setvar,
  Vcpu,
  VirtualMachine,
} from "./types.js";
import { attr, elementChildren, type XmlElement } from "./xml.js";

const BUDGET_DEFAULT = 1000n;
const STACK_DEFAULT = 0x2000n;
const STACK_DEFAULT_LEGACY = 0x1000n;
const STACK_MIN = 0x1000n;
const STACK_MAX = 0x100_0000n;
const PD_MAX_PRIORITY = 254n;
const CAP_MAP_MAX_SLOT = 128n;

/**
 * One `<protection_domain>`, root or child, in the tool's order of checks: attributes, then
 * scheduling, SMC, cpu, domain, stack and priority, then the children in document order.
 * `domains` is what `<domains>` declared so far: a PD before it sees none (§1.1).
 */
export function parseProtectionDomain(
  r: SdfReader,
  node: XmlElement,
  isChild: boolean,
  domains: DomainState,
): InternalPd {
  const allowed = [
    "name",
    "priority",
    "budget",
    "period",
    "passive",
    "stack_size",
    "smc",
    "cpu",
    "domain",
    "fpu",
  ];
  if (isChild) allowed.push("id", "setvar_id");
  if (r.legacy) allowed.push("pp");
  r.checkAttributes(node, allowed);

  const name = r.lookup(node, "name");
  let id: bigint | undefined;
  let setvarId: string | undefined;
  if (isChild) {
    id = r.number(node, "id", r.lookup(node, "id"));
    setvarId = attr(node, "setvar_id");
  }

  const { budget, period } = readBudgetPeriod(r, node);
  const passive = r.bool(node, "passive", false);
  const stackRaw = attr(node, "stack_size");
  const stackSize =
    stackRaw !== undefined
      ? r.number(node, "stack_size", stackRaw)
      : r.legacy
        ? STACK_DEFAULT_LEGACY
        : STACK_DEFAULT;

  const smc = r.bool(node, "smc", false);
  if (smc) {
    if (r.config.armSmc === undefined) {
      r.fail({
        code: "smc-unavailable",
        rule: "#6",
        message: "ARM SMC forwarding support is not available for this architecture",
        location: node.location,
        element: node.name,
        attribute: "smc",
      });
    }
    if (!r.config.armSmc) {
      r.valueError(
        node,
        "smc-not-enabled",
        "#6",
        "Using SMC support without ARM SMC forwarding support enabled in the kernel for this platform",
        "smc",
      );
    }
  }

  const cpu = readCpu(r, node, node, attr(node, "cpu") ?? "0");

  let domain: string | undefined;
  if (domains.domains.length > 0) {
    const d = r.lookup(node, "domain");
    if (!domains.domains.some((x) => x.name === d)) {
      r.valueError(
        node,
        "domain-undeclared",
        "#8",
        `domain '${d}' not declared in <domains>:`,
        "domain",
      );
    }
    domain = d;
  } else {
    const d = attr(node, "domain");
    if (d !== undefined) {
      r.valueError(
        node,
        "domain-without-schedule",
        "#8",
        `Specifying a domain '${d}' without declaring a domain schedule is not allowed:`,
        "domain",
      );
    }
  }

  if (stackSize < STACK_MIN || stackSize > STACK_MAX) {
    r.valueError(
      node,
      "stack-size-range",
      "#9",
      `stack size must be between ${hex(STACK_MIN)} bytes and ${hex(STACK_MAX)} bytes`,
      "stack_size",
    );
  }
  const smallPage = r.config.pageSizes[0];
  if (stackSize % smallPage !== 0n) {
    r.valueError(
      node,
      "stack-size-alignment",
      "#9",
      `stack size must be aligned to the smallest page size, ${smallPage} bytes`,
      "stack_size",
    );
  }

  const priorityRaw = attr(node, "priority");
  const priority = priorityRaw !== undefined ? r.number(node, "priority", priorityRaw) : 0n;
  if (priority > PD_MAX_PRIORITY) {
    r.valueError(
      node,
      "priority-range",
      "#10",
      `priority must be between 0 and ${PD_MAX_PRIORITY}`,
      "priority",
    );
  }
  const fpu = r.bool(node, "fpu", true);
  const legacyPp = r.legacy ? r.bool(node, "pp", false) : false;

  const maps: MemoryMap[] = [];
  const irqs: Irq[] = [];
  const ioports: IoPort[] = [];
  const setvarElements: Setvar[] = [];
  const setvars: InternalSetvar[] = [];
  const children: InternalPd[] = [];
  const caps: CapShare[] = [];
  let programImage: ProgramImage | undefined;
  let virtualMachine: VirtualMachine | undefined;
  let haveCspace = false;
  const sched = { priority: Number(priority), budget: Number(budget), period: Number(period) };

  for (const child of elementChildren(node)) {
    switch (child.name) {
      case "program_image": {
        r.checkAttributes(child, ["path", "path_for_symbols"]);
        if (programImage !== undefined) {
          r.valueError(
            node,
            "program-image-repeated",
            "#11",
            "program_image must only be specified once",
          );
        }
        const path = r.lookup(child, "path");
        const pathForSymbols = attr(child, "path_for_symbols");
        programImage = {
          path,
          ...(pathForSymbols !== undefined ? { pathForSymbols } : {}),
          location: child.location,
        };
        break;
      }
      case "map": {
        const map = readMap(r, child, true, pdMapLimit(r.config, stackSize));
        if (map.setvarVaddr !== undefined) {
          r.addSetvar(setvars, { symbol: map.setvarVaddr, kind: "vaddr" }, child);
        }
        if (map.setvarSize !== undefined) {
          r.addSetvar(setvars, { symbol: map.setvarSize, kind: "size", mr: map.mr }, child);
        }
        if (map.setvarPrefillSize !== undefined) {
          r.addSetvar(
            setvars,
            { symbol: map.setvarPrefillSize, kind: "prefill-size", mr: map.mr },
            child,
          );
        }
        maps.push(map);
        break;
      }
      case "irq":
        irqs.push(parseIrq(r, child, setvars));
        break;
      case "ioport":
        ioports.push(parseIoport(r, node, child, setvars));
        break;
      case "setvar": {
        r.checkAttributes(child, ["symbol", "region_paddr"]);
        const symbol = r.lookup(child, "symbol");
        const regionPaddr = r.lookup(child, "region_paddr");
        r.addSetvar(setvars, { symbol, kind: "paddr", mr: regionPaddr }, child);
        setvarElements.push({ symbol, regionPaddr, location: child.location });
        break;
      }
      case "protection_domain": {
        r.enterChildPd(child);
        const childPd = parseProtectionDomain(r, child, true, domains);
        r.leaveChildPd();
        if (childPd.value.setvarId !== undefined) {
          r.addSetvar(setvars, { symbol: childPd.value.setvarId, kind: "id" }, child);
        }
        children.push(childPd);
        break;
      }
      case "virtual_machine":
        if (!r.config.hypervisor) {
          r.valueError(
            node,
            "vm-without-hypervisor",
            "#17",
            "seL4 has not been built as a hypervisor, virtual machines are disabled",
          );
        }
        if (virtualMachine !== undefined) {
          r.valueError(node, "vm-repeated", "#17", "virtual_machine must only be specified once");
        }
        virtualMachine = parseVirtualMachine(r, child, Number(cpu), sched);
        break;
      case "cspace":
        if (haveCspace) {
          r.valueError(node, "cspace-repeated", "#18", "cspace must only be specified once");
        }
        haveCspace = true;
        caps.push(...parseCspace(r, child));
        break;
      default:
        r.fail({
          code: "pd-invalid-element",
          rule: "#19",
          message: `Invalid XML element '${child.name}': ${r.loc(child)}`,
          location: child.location,
          element: child.name,
        });
    }
  }

  if (programImage === undefined) {
    r.fail({
      code: "program-image-missing",
      rule: "#20",
      message: `Error: missing 'program_image' element on protection_domain: '${name}'`,
      location: node.location,
      element: node.name,
    });
  }

  return {
    node,
    legacyPp,
    setvars,
    children,
    value: {
      name,
      priority: sched.priority,
      budget: sched.budget,
      period: sched.period,
      passive,
      stackSize: Number(stackSize),
      cpu: Number(cpu),
      smc,
      fpu,
      ...(domain !== undefined ? { domain } : {}),
      ...(id !== undefined ? { id: Number(id) } : {}),
      ...(setvarId !== undefined ? { setvarId } : {}),
      programImage,
      maps,
      irqs,
      setvars: setvarElements,
      ioports,
      caps,
      ...(virtualMachine !== undefined ? { virtualMachine } : {}),
      location: node.location,
    },
  };
}

/** `budget` default 1000 µs, `period` default = budget, budget ≤ period (#4). */
function readBudgetPeriod(r: SdfReader, node: XmlElement): { budget: bigint; period: bigint } {
  const b = attr(node, "budget");
  const budget = b !== undefined ? r.number(node, "budget", b) : BUDGET_DEFAULT;
  const p = attr(node, "period");
  const period = p !== undefined ? r.number(node, "period", p) : budget;
  if (budget > period) {
    r.valueError(
      node,
      "budget-exceeds-period",
      "#4",
      `budget (${budget}) must be less than, or equal to, period (${period})`,
      "budget",
    );
  }
  return { budget, period };
}

/** `cpu` (#7); the tool parses it as N and panics above 255. */
function readCpu(
  r: SdfReader,
  node: XmlElement,
  errorNode: XmlElement,
  raw: string,
  rule: SdfRule = "#7",
): bigint {
  const cpu = r.number(node, "cpu", raw, errorNode);
  if (cpu > 255n) {
    r.fail({
      code: "cpu-out-of-range",
      rule,
      message: `Error: cpu core must be between 0 and 255 (the microkit tool panics here), got ${cpu} on element '${node.name}': ${r.loc(node)}`,
      location: node.location,
      element: node.name,
      attribute: "cpu",
      toolPanics: true,
    });
  }
  if (cpu >= BigInt(r.config.numCores)) {
    r.valueError(
      node,
      "cpu-out-of-range",
      rule,
      `cpu core must be less than ${r.config.numCores}, got ${cpu}`,
      "cpu",
    );
  }
  return cpu;
}

/** `<map>` (#1–#3); `limit` is the first address that may not be mapped. */
function readMap(r: SdfReader, node: XmlElement, allowSetvar: boolean, limit: bigint): MemoryMap {
  const allowed = ["mr", "vaddr", "perms", "cached"];
  if (allowSetvar) allowed.push("setvar_vaddr", "setvar_size", "setvar_prefill_size");
  r.checkAttributes(node, allowed);
  const mr = r.lookup(node, "mr");
  const vaddr = r.number(node, "vaddr", r.lookup(node, "vaddr"));
  if (vaddr >= limit) {
    r.valueError(
      node,
      "map-vaddr-too-large",
      "#2",
      `vaddr (${hex(vaddr)}) must be less than ${hex(limit)}`,
      "vaddr",
    );
  }
  let perms = RW;
  const rawPerms = attr(node, "perms");
  if (rawPerms !== undefined) {
    if (!/^[rwx]*$/.test(rawPerms)) {
      r.valueError(
        node,
        "map-perms-invalid",
        "#3",
        "perms must only be a combination of 'r', 'w', and 'x'",
        "perms",
      );
    }
    perms = {
      read: rawPerms.includes("r"),
      write: rawPerms.includes("w"),
      execute: rawPerms.includes("x"),
    };
  }
  if (perms.write && !perms.read && !perms.execute) {
    r.valueError(
      node,
      "map-perms-write-only",
      "#3",
      "perms must not be 'w', write-only mappings are not allowed",
      "perms",
    );
  }
  const cached = r.bool(node, "cached", true, "#3");
  const setvarVaddr = attr(node, "setvar_vaddr");
  const setvarSize = attr(node, "setvar_size");
  const setvarPrefillSize = attr(node, "setvar_prefill_size");
  return {
    mr,
    vaddr,
    perms,
    cached,
    ...(setvarVaddr !== undefined ? { setvarVaddr } : {}),
    ...(setvarSize !== undefined ? { setvarSize } : {}),
    ...(setvarPrefillSize !== undefined ? { setvarPrefillSize } : {}),
    location: node.location,
  };
}

/** `<virtual_machine>` (#17, #21, #22, §1.6 legacy `id`). */
export function parseVirtualMachine(
  r: SdfReader,
  node: XmlElement,
  pdCpu: number,
  pdSched: { priority: number; budget: number; period: number },
): VirtualMachine {
  const aarch64 = r.config.arch === "aarch64";
  const allowed = aarch64 ? ["name", "budget", "period", "priority"] : ["name"];
  if (r.legacy) allowed.push("id");
  r.checkAttributes(node, allowed);
  const name = r.lookup(node, "name");
  let sched = pdSched;
  if (aarch64) {
    const { budget, period } = readBudgetPeriod(r, node);
    const p = attr(node, "priority");
    const priority = p !== undefined ? r.number(node, "priority", p) : 0n;
    // The tool does not range-check a VM priority; it truncates it to 8 bits (§1.3).
    sched = {
      priority: Number(priority & 0xffn),
      budget: Number(budget),
      period: Number(period),
    };
  }

  const vcpus: Vcpu[] = [];
  const maps: MemoryMap[] = [];
  for (const child of elementChildren(node)) {
    if (child.name === "vcpu") {
      r.checkAttributes(child, ["id", "setvar_id", "cpu"]);
      const id = r.decimal(child, "id", r.lookup(child, "id"), false);
      if (id > r.maxId) {
        r.valueError(child, "id-range", "#21", `id must be < ${r.maxId + 1n}`, "id");
      }
      if (vcpus.some((v) => BigInt(v.id) === id)) {
        r.fail({
          code: "vcpu-duplicate",
          rule: "#21",
          message: `Error: duplicate vcpu id ${id} in virtual machine '${name}' @ ${r.loc(child)}`,
          location: child.location,
          element: child.name,
          attribute: "id",
        });
      }
      // Tool quirk (§1.3): a vCPU's `setvar_id` is read from the VM element, so it has no effect.
      const cpuRaw = attr(child, "cpu");
      const cpu = cpuRaw !== undefined ? Number(readCpu(r, child, node, cpuRaw, "#21")) : pdCpu;
      vcpus.push({ id: Number(id), cpu, ...sched, location: child.location });
    } else if (child.name === "map") {
      maps.push(readMap(r, child, false, vmMapLimit(r.config)));
    } else {
      r.fail({
        code: "vm-invalid-element",
        rule: "#22",
        message: `Error: invalid XML element '${child.name}': ${r.loc(node)}`,
        location: child.location,
        element: child.name,
      });
    }
  }
  const legacyId = r.legacy ? attr(node, "id") : undefined;
  if (vcpus.length === 0 && legacyId !== undefined) {
    // §1.6: a pre-1.4 VM with `id` and no `<vcpu>` had one vCPU with that id.
    const id = r.decimal(node, "id", legacyId, false);
    if (id > r.maxId) {
      r.valueError(node, "id-range", "#21", `id must be < ${r.maxId + 1n}`, "id");
    }
    vcpus.push({ id: Number(id), cpu: pdCpu, ...sched, location: node.location });
  }
  if (vcpus.length === 0) {
    r.fail({
      code: "vcpu-missing",
      rule: "#22",
      message: `Error: missing 'vcpu' element on virtual_machine: '${name}'`,
      location: node.location,
      element: node.name,
    });
  }
  return { name, ...sched, vcpus, maps, location: node.location };
}

/** `<cspace>` (#18). */
export function parseCspace(r: SdfReader, node: XmlElement): CapShare[] {
  r.checkAttributes(node, []);
  const caps: CapShare[] = [];
  for (const child of elementChildren(node)) {
    const kind =
      child.name === "cap_tcb"
        ? "tcb"
        : child.name === "cap_sc"
          ? "sc"
          : child.name === "cap_vspace"
            ? "vspace"
            : undefined;
    if (kind === undefined) {
      const at = r.loc(child);
      const isCap = child.name.startsWith("cap_");
      r.fail({
        code: isCap ? "cap-type-unsupported" : "cspace-element-unsupported",
        rule: "#18",
        message: isCap
          ? `Cap type: '${child.name.slice(4)}' is not supported at '${at}'`
          : `Element '${child.name}' is not supported in a <cspace> element at '${at}'`,
        location: child.location,
        element: child.name,
      });
    }
    r.checkAttributes(child, ["slot", "pd"]);
    const pd = r.lookup(child, "pd");
    const slot = r.number(child, "slot", r.lookup(child, "slot"));
    if (slot === 0n) {
      r.valueError(
        child,
        "cap-slot-reserved",
        "#18",
        "The destination slot 0 has been reserved for Microkit CNode",
        "slot",
      );
    }
    if (slot >= CAP_MAP_MAX_SLOT) {
      r.valueError(
        child,
        "cap-slot-range",
        "#18",
        `There are only ${CAP_MAP_MAX_SLOT} destination cspace slots available.`,
        "slot",
      );
    }
    caps.push({ kind, slot: Number(slot), pd, location: child.location });
  }
  return caps;
}
