/**
 * The parts of a `<protection_domain>` shared with `<virtual_machine>`: scheduling
 * parameters (#4), `cpu` (#7, #21) and `map` (#1–#3), and the `<virtual_machine>` element
 * itself with its `vcpu`s (#17, #21, #22, §1.6 legacy `id`).
 */
import { vmMapLimit } from "./config.js";
import type { SdfRule } from "./errors.js";
import { RW } from "./internal.js";
import { hex } from "./numbers.js";
import type { SdfReader } from "./reader.js";
import type { MemoryMap, Vcpu, VirtualMachine } from "./types.js";
import { attr, elementChildren, type XmlElement } from "./xml.js";

const BUDGET_DEFAULT = 1000n;

/** `budget` default 1000 µs, `period` default = budget, budget ≤ period (#4). */
export function readBudgetPeriod(
  r: SdfReader,
  node: XmlElement,
): { budget: bigint; period: bigint } {
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
export function readCpu(
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
export function readMap(
  r: SdfReader,
  node: XmlElement,
  allowSetvar: boolean,
  limit: bigint,
): MemoryMap {
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
