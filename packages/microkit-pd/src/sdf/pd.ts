/**
 * `<protection_domain>` and what it contains: `program_image`, `map`, `setvar`, child PDs,
 * `virtual_machine` with `vcpu`s, and `cspace` (reference §1.3; checks #1–#11, #16–#22).
 */
import { pdMapLimit } from "./config.js";
import { parseCspace } from "./cspace.js";
import type { DomainState, InternalPd, InternalSetvar } from "./internal.js";
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
  VirtualMachine,
} from "./types.js";
import { parseVirtualMachine, readBudgetPeriod, readCpu, readMap } from "./vm.js";
import { attr, elementChildren, type XmlElement } from "./xml.js";

const STACK_DEFAULT = 0x2000n;
const STACK_DEFAULT_LEGACY = 0x1000n;
const STACK_MIN = 0x1000n;
const STACK_MAX = 0x100_0000n;
const PD_MAX_PRIORITY = 254n;

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
