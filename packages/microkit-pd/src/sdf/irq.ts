/** `<irq>` in its three forms and x86 `<ioport>` (reference §1.3; checks #12–#15). */
import type { SdfRule } from "./errors.js";
import type { InternalSetvar } from "./internal.js";
import type { SdfReader } from "./reader.js";
import { parsePciAddress } from "./regions.js";
import type { IoPort, Irq } from "./types.js";
import { attr, type XmlElement } from "./xml.js";

const X86_IRQ_VECTOR_MAX = 107n;

/** A channel-space id (`irq@id` #12, `ioport@id` #15, `end@id` G2): type D signed, 0..61. */
export function readChannelId(r: SdfReader, node: XmlElement, rule: SdfRule): number {
  const id = r.decimal(node, "id", r.lookup(node, "id"), true);
  if (id > r.maxId) {
    r.valueError(node, "id-range", rule, `id must be < ${r.maxId + 1n}`, "id");
  }
  if (id < 0n) r.valueError(node, "id-range", rule, "id must be >= 0", "id");
  return Number(id);
}

function readTrigger(r: SdfReader, node: XmlElement): "level" | "edge" {
  const t = attr(node, "trigger");
  if (t === undefined || t === "level") return "level";
  if (t === "edge") return "edge";
  return r.valueError(
    node,
    "irq-trigger-invalid",
    "#14",
    "trigger must be either 'level' or 'edge'",
    "trigger",
  );
}

function readVector(r: SdfReader, node: XmlElement): number {
  const vector = r.decimal(node, "vector", r.lookup(node, "vector"), true);
  if (vector < 0n || vector > X86_IRQ_VECTOR_MAX) {
    r.valueError(
      node,
      "irq-value-range",
      "#14",
      `vector must be within [0..${X86_IRQ_VECTOR_MAX}]`,
      "vector",
    );
  }
  return Number(vector);
}

/** `<irq>` in its three forms (#12–#14), chosen by `irq`, then `pin`, then `pcidev`. */
export function parseIrq(r: SdfReader, node: XmlElement, setvars: InternalSetvar[]): Irq {
  const id = readChannelId(r, node, "#12");
  const setvarId = attr(node, "setvar_id");
  if (setvarId !== undefined) r.addSetvar(setvars, { symbol: setvarId, kind: "id" }, node);
  const sv = setvarId !== undefined ? { setvarId } : {};
  const x86 = r.config.arch === "x86_64";

  const irqRaw = attr(node, "irq");
  if (irqRaw !== undefined) {
    if (x86) {
      r.valueError(
        node,
        "irq-arch-mismatch",
        "#13",
        "ARM and RISC-V IRQs are not supported on x86",
        "irq",
      );
    }
    r.checkAttributes(node, ["irq", "id", "setvar_id", "trigger"]);
    const irq = r.decimal(node, "irq", irqRaw, false);
    const trigger = readTrigger(r, node);
    return { kind: "arm", id, irq: Number(irq), trigger, ...sv, location: node.location };
  }
  const pinRaw = attr(node, "pin");
  if (pinRaw !== undefined) {
    if (!x86) {
      r.valueError(
        node,
        "irq-arch-mismatch",
        "#13",
        "x86 I/O APIC IRQ isn't supported on ARM and RISC-V",
        "pin",
      );
    }
    r.checkAttributes(node, ["id", "setvar_id", "ioapic", "pin", "trigger", "polarity", "vector"]);
    const ioapicRaw = attr(node, "ioapic");
    const ioapic = ioapicRaw !== undefined ? r.decimal(node, "ioapic", ioapicRaw, true) : 0n;
    if (ioapic < 0n) {
      r.valueError(node, "irq-value-range", "#14", "ioapic must be >= 0", "ioapic");
    }
    const pin = r.decimal(node, "pin", pinRaw, true);
    if (pin < 0n) r.valueError(node, "irq-value-range", "#14", "pin must be >= 0", "pin");
    const trigger = readTrigger(r, node);
    const p = attr(node, "polarity");
    let polarity: "high" | "low" = "high";
    if (p === "low") polarity = "low";
    else if (p !== undefined && p !== "high") {
      r.valueError(
        node,
        "irq-value-range",
        "#14",
        "polarity must be either 'low' or 'high'",
        "polarity",
      );
    }
    const vector = readVector(r, node);
    return {
      kind: "ioapic",
      id,
      ioapic: Number(ioapic),
      pin: Number(pin),
      vector,
      trigger,
      polarity,
      ...sv,
      location: node.location,
    };
  }
  const pcidevRaw = attr(node, "pcidev");
  if (pcidevRaw !== undefined) {
    if (!x86) {
      r.valueError(
        node,
        "irq-arch-mismatch",
        "#13",
        "x86 MSI IRQ isn't supported on ARM and RISC-V",
        "pcidev",
      );
    }
    r.checkAttributes(node, ["id", "setvar_id", "pcidev", "handle", "vector"]);
    const pci = parsePciAddress(pcidevRaw);
    if (typeof pci === "string") {
      r.valueError(node, "pci-address-invalid", "#14", pci, "pcidev");
    }
    const handle = r.decimal(node, "handle", r.lookup(node, "handle"), true);
    if (handle < 0n) {
      r.valueError(node, "irq-value-range", "#14", "handle must be >= 0", "handle");
    }
    const vector = readVector(r, node);
    return {
      kind: "msi",
      id,
      pcidev: pci,
      handle: Number(handle),
      vector,
      ...sv,
      location: node.location,
    };
  }
  if (x86) {
    r.lookup(node, "pin");
  }
  r.lookup(node, "irq");
  throw new Error("unreachable: irq without a form");
}

/** `<ioport>` (#15): x86 only; any other architecture rejects it on the PD. */
export function parseIoport(
  r: SdfReader,
  pd: XmlElement,
  node: XmlElement,
  setvars: InternalSetvar[],
): IoPort {
  if (r.config.arch !== "x86_64") {
    r.valueError(pd, "ioport-unsupported", "#15", "I/O Ports are only available on x86");
  }
  r.checkAttributes(node, ["id", "setvar_id", "setvar_addr", "addr", "size"]);
  const id = readChannelId(r, node, "#15");
  const setvarId = attr(node, "setvar_id");
  if (setvarId !== undefined) r.addSetvar(setvars, { symbol: setvarId, kind: "id" }, node);
  const addr = r.number(node, "addr", r.lookup(node, "addr"));
  const setvarAddr = attr(node, "setvar_addr");
  if (setvarAddr !== undefined) {
    r.addSetvar(setvars, { symbol: setvarAddr, kind: "ioport-addr" }, node);
  }
  const size = r.decimal(node, "size", r.lookup(node, "size"), true);
  if (size <= 0n) r.valueError(node, "ioport-size-invalid", "#15", "size must be > 0", "size");
  return {
    id,
    addr,
    size,
    ...(setvarId !== undefined ? { setvarId } : {}),
    ...(setvarAddr !== undefined ? { setvarAddr } : {}),
    // The tool records the PD's position for I/O ports (used by G11).
    location: pd.location,
  };
}
