/**
 * A `SystemDescription` back to SDF XML (strict dialect). Attributes equal to their §1.3
 * default are left out, so the output is what a person would write; parsing the output
 * gives back an equal description (locations aside).
 */
import type { PlatformConfig } from "./config.js";
import { AARCH64_CONFIG } from "./config.js";
import { hex } from "./numbers.js";
import { formatPciAddress } from "./parse.js";
import type {
  Irq,
  MemoryMap,
  Permissions,
  ProtectionDomain,
  SystemDescription,
  VirtualMachine,
} from "./types.js";

/** Deliberate defects, only for showing that the round-trip property catches them. */
/**
 * Which attributes the serialiser writes out and which it leaves to the tool's defaults
 * (reference microkit §1: `period` defaults to `budget`, a channel end's `notify` to true).
 * A caller may substitute its own rules, e.g. to write every attribute explicitly.
 */
export interface DefaultAttributes {
  /** The `period` attribute to write, or undefined to leave it to the default. */
  period(s: { readonly budget: number; readonly period: number }): number | undefined;
  /** The `notify` attribute of a channel end, or undefined to leave it to the default. */
  notify(notify: boolean): string | undefined;
}

/** The tool's own defaults: an attribute equal to its default is left out. */
export const TOOL_DEFAULT_ATTRIBUTES: DefaultAttributes = {
  period: (s) => (s.period === s.budget ? undefined : s.period),
  notify: (notify) => (notify ? undefined : "false"),
};

export interface SerialiseOptions {
  /** Decides which VM attributes exist (AArch64 only: priority, budget, period). */
  readonly config?: PlatformConfig;
  /** Which attributes are left to the tool's defaults; default {@link TOOL_DEFAULT_ATTRIBUTES}. */
  readonly defaults?: DefaultAttributes;
}

type Attrs = [string, string | number | bigint | boolean | undefined][];

/**
 * XML attribute-value normalisation (XML 1.0 §3.3.3) turns a literal tab, newline or
 * carriage return into a space on reading, so they are written as character references.
 */
function escapeAttribute(value: string): string {
  return value
    .replaceAll("&", "&amp;")
    .replaceAll("<", "&lt;")
    .replaceAll('"', "&quot;")
    .replaceAll(">", "&gt;")
    .replaceAll("\t", "&#9;")
    .replaceAll("\n", "&#10;")
    .replaceAll("\r", "&#13;");
}

function tag(name: string, attrs: Attrs, indent: string, children: string[] = []): string {
  const text = attrs
    .filter((a): a is [string, string | number | bigint | boolean] => a[1] !== undefined)
    .map(([k, v]) => ` ${k}="${escapeAttribute(String(v))}"`)
    .join("");
  if (children.length === 0) return `${indent}<${name}${text} />`;
  return `${indent}<${name}${text}>\n${children.join("\n")}\n${indent}</${name}>`;
}

function perms(p: Permissions): string {
  return `${p.read ? "r" : ""}${p.write ? "w" : ""}${p.execute ? "x" : ""}`;
}

function isRw(p: Permissions): boolean {
  return p.read && p.write && !p.execute;
}

function map(m: MemoryMap, indent: string): string {
  return tag(
    "map",
    [
      ["mr", m.mr],
      ["vaddr", hex(m.vaddr)],
      ["perms", isRw(m.perms) ? undefined : perms(m.perms)],
      ["cached", m.cached ? undefined : "false"],
      ["setvar_vaddr", m.setvarVaddr],
      ["setvar_size", m.setvarSize],
      ["setvar_prefill_size", m.setvarPrefillSize],
    ],
    indent,
  );
}

function irq(i: Irq, indent: string): string {
  switch (i.kind) {
    case "arm":
      return tag(
        "irq",
        [
          ["irq", i.irq],
          ["id", i.id],
          ["trigger", i.trigger === "level" ? undefined : i.trigger],
          ["setvar_id", i.setvarId],
        ],
        indent,
      );
    case "ioapic":
      return tag(
        "irq",
        [
          ["id", i.id],
          ["ioapic", i.ioapic === 0 ? undefined : i.ioapic],
          ["pin", i.pin],
          ["vector", i.vector],
          ["trigger", i.trigger === "level" ? undefined : i.trigger],
          ["polarity", i.polarity === "high" ? undefined : i.polarity],
          ["setvar_id", i.setvarId],
        ],
        indent,
      );
    case "msi":
      return tag(
        "irq",
        [
          ["id", i.id],
          ["pcidev", formatPciAddress(i.pcidev)],
          ["handle", i.handle],
          ["vector", i.vector],
          ["setvar_id", i.setvarId],
        ],
        indent,
      );
  }
}

function schedAttrs(
  s: { priority: number; budget: number; period: number },
  defaults: DefaultAttributes,
): Attrs {
  return [
    ["priority", s.priority === 0 ? undefined : s.priority],
    ["budget", s.budget === 1000 ? undefined : s.budget],
    ["period", defaults.period(s)],
  ];
}

function virtualMachine(
  vm: VirtualMachine,
  pd: ProtectionDomain,
  config: PlatformConfig,
  indent: string,
  defaults: DefaultAttributes,
): string {
  const inner = `${indent}    `;
  return tag(
    "virtual_machine",
    [["name", vm.name], ...(config.arch === "aarch64" ? schedAttrs(vm, defaults) : [])],
    indent,
    [
      ...vm.vcpus.map((v) =>
        tag(
          "vcpu",
          [
            ["id", v.id],
            ["cpu", v.cpu === pd.cpu ? undefined : v.cpu],
          ],
          inner,
        ),
      ),
      ...vm.maps.map((m) => map(m, inner)),
    ],
  );
}

function protectionDomain(
  pd: ProtectionDomain,
  config: PlatformConfig,
  indent: string,
  defaults: DefaultAttributes,
): string {
  const inner = `${indent}    `;
  const children: string[] = [
    tag(
      "program_image",
      [
        ["path", pd.programImage.path],
        ["path_for_symbols", pd.programImage.pathForSymbols],
      ],
      inner,
    ),
    ...pd.maps.map((m) => map(m, inner)),
    ...pd.irqs.map((i) => irq(i, inner)),
    ...pd.setvars.map((s) =>
      tag(
        "setvar",
        [
          ["symbol", s.symbol],
          ["region_paddr", s.regionPaddr],
        ],
        inner,
      ),
    ),
    ...pd.ioports.map((p) =>
      tag(
        "ioport",
        [
          ["id", p.id],
          ["addr", hex(p.addr)],
          ["size", p.size],
          ["setvar_id", p.setvarId],
          ["setvar_addr", p.setvarAddr],
        ],
        inner,
      ),
    ),
  ];
  if (pd.caps.length > 0) {
    children.push(
      tag(
        "cspace",
        [],
        inner,
        pd.caps.map((c) =>
          tag(
            `cap_${c.kind}`,
            [
              ["slot", c.slot],
              ["pd", c.pd],
            ],
            `${inner}    `,
          ),
        ),
      ),
    );
  }
  if (pd.virtualMachine !== undefined) {
    children.push(virtualMachine(pd.virtualMachine, pd, config, inner, defaults));
  }
  for (const child of pd.children) children.push(protectionDomain(child, config, inner, defaults));
  return tag(
    "protection_domain",
    [
      ["name", pd.name],
      ...schedAttrs(pd, defaults),
      ["passive", pd.passive ? "true" : undefined],
      ["stack_size", pd.stackSize === 0x2000 ? undefined : hex(pd.stackSize)],
      ["cpu", pd.cpu === 0 ? undefined : pd.cpu],
      ["smc", pd.smc ? "true" : undefined],
      ["fpu", pd.fpu ? undefined : "false"],
      ["domain", pd.domain],
      ["id", pd.id],
      ["setvar_id", pd.setvarId],
    ],
    indent,
    children,
  );
}

/** SDF XML for `system`. */
export function serialiseSystem(system: SystemDescription, options: SerialiseOptions = {}): string {
  const defaults = options.defaults ?? TOOL_DEFAULT_ATTRIBUTES;
  const config = options.config ?? AARCH64_CONFIG;
  const ind = "    ";
  const parts: string[] = [];
  for (const mr of system.memoryRegions) {
    const prefill = mr.prefill;
    parts.push(
      tag(
        "memory_region",
        [
          ["name", mr.name],
          ["size", prefill?.kind === "bootinfo" ? undefined : hex(mr.size)],
          ["page_size", mr.pageSizeExplicit ? hex(mr.pageSize) : undefined],
          ["phys_addr", mr.physAddr !== undefined ? hex(mr.physAddr) : undefined],
          ["prefill_path", prefill?.kind === "file" ? prefill.path : undefined],
          ["prefill_bootinfo", prefill?.kind === "bootinfo" ? prefill.type : undefined],
        ],
        ind,
      ),
    );
  }
  const schedule = system.domainSchedule;
  if (schedule !== undefined) {
    parts.push(
      tag("domains", [], ind, [
        ...schedule.domains.map((d) =>
          tag(
            "domain",
            [
              ["name", d.name],
              ["id", d.id],
            ],
            `${ind}    `,
          ),
        ),
        tag(
          "domain_schedule",
          [
            ["start_index", schedule.startIndex === 0 ? undefined : schedule.startIndex],
            ["index_shift", schedule.indexShift],
          ],
          `${ind}    `,
          schedule.schedule.map((e) =>
            e.kind === "end-marker"
              ? tag("schedule_end_marker", [], `${ind}        `)
              : tag(
                  "schedule_entry",
                  [
                    ["domain", e.domain],
                    ["duration", `${e.duration} ${e.unit}`],
                  ],
                  `${ind}        `,
                ),
          ),
        ),
      ]),
    );
  }
  for (const pd of system.protectionDomains)
    parts.push(protectionDomain(pd, config, ind, defaults));
  for (const ch of system.channels) {
    parts.push(
      tag(
        "channel",
        [],
        ind,
        ch.ends.map((e) =>
          tag(
            "end",
            [
              ["pd", e.pd],
              ["id", e.id],
              ["pp", e.pp ? "true" : undefined],
              ["notify", defaults.notify(e.notify)],
              ["setvar_id", e.setvarId],
            ],
            `${ind}    `,
          ),
        ),
      ),
    );
  }
  for (const space of system.ioAddressSpaces) {
    parts.push(
      tag(
        "io_address_space",
        [
          ["name", space.name],
          ["peripheral_id", formatPciAddress(space.peripheralId)],
          ["domain_id", config.arch === "x86_64" ? space.domainId : undefined],
        ],
        ind,
        space.iomaps.map((m) =>
          tag(
            "iomap",
            [
              ["mr", m.mr],
              ["iovaddr", hex(m.iovaddr)],
              ["perms", m.perms.read && m.perms.write ? undefined : perms(m.perms)],
            ],
            `${ind}    `,
          ),
        ),
      ),
    );
  }
  return `<?xml version="1.0" encoding="UTF-8"?>\n<system>\n${parts.join("\n")}\n</system>\n`;
}
