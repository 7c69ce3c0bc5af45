/**
 * The SDF parser and validator: walks the document in order exactly as the microkit tool's
 * `sdf.rs` does (reference §1.5), so the first error reported is the one the tool reports,
 * then runs the global checks G1–G18 in the tool's order.
 *
 * Style: `parseSystemDescription` returns `{ system, warnings }` or throws one `SdfError`
 * (the tool also stops at the first error).
 */

import { parseChannel } from "./channels.js";
import { flattenTree, globalChecks } from "./checks.js";
import { parseDomains } from "./domains.js";
import type { DomainState, InternalMr, InternalPd } from "./internal.js";
import type { ParseOptions } from "./options.js";
import { parseProtectionDomain } from "./pd.js";
import { SdfReader } from "./reader.js";
import { parseIoAddressSpace, parseMemoryRegion } from "./regions.js";
import type { IoAddressSpace, ParsedSystem } from "./types.js";
import { elementChildren, parseXml, type XmlElement } from "./xml.js";

export type { ParseOptions, PrefillLookup, PrefillResolver, SdfDialect } from "./options.js";
export { formatPciAddress, parsePciAddress } from "./regions.js";

/**
 * Parses and validates a system description (see the module comment for the contract): the
 * top-level walk of the tool's `parse`, then the channels, then the global checks.
 */
export function parseSystemDescription(text: string, options: ParseOptions = {}): ParsedSystem {
  const r = new SdfReader(options);
  const root = parseXml(text, r.file);
  r.rootLocation = root.location;
  if (root.name !== "system") {
    r.fail({
      code: "root-not-system",
      rule: "xml",
      message: `Error: the root element must be 'system', found '${root.name}' (the microkit tool panics here): ${r.loc(root)}`,
      location: root.location,
      element: root.name,
      toolPanics: true,
    });
  }
  checkNoText(r, root);

  const rootPds: InternalPd[] = [];
  const mrs: InternalMr[] = [];
  const ioSpaces: IoAddressSpace[] = [];
  const channelNodes: XmlElement[] = [];
  let domains: DomainState = { domains: [] };
  const ioNames = new Set<string>();
  const ioDomainIds = new Set<bigint>();
  const ioDevices: string[] = [];

  for (const child of elementChildren(root)) {
    switch (child.name) {
      case "protection_domain":
        rootPds.push(parseProtectionDomain(r, child, false, domains));
        break;
      case "channel":
        channelNodes.push(child);
        break;
      case "memory_region":
        mrs.push(parseMemoryRegion(r, child));
        break;
      case "io_address_space":
        ioSpaces.push(parseIoAddressSpace(r, child, ioNames, ioDomainIds, ioDevices));
        break;
      case "virtual_machine":
        r.fail({
          code: "vm-top-level",
          rule: "#27",
          message: `Error: virtual machine must be a child of a protection domain: ${r.loc(child)}`,
          location: child.location,
          element: child.name,
        });
        break;
      case "domains":
        if (domains.domains.length > 0) {
          r.valueError(child, "domains-repeated", "#28", "domains must only be specified once");
        }
        domains = parseDomains(r, child);
        break;
      default:
        r.fail({
          code: "system-invalid-element",
          rule: "#28",
          message: `Error: invalid XML element '${child.name}': ${r.loc(child)}`,
          location: child.location,
          element: child.name,
        });
    }
  }

  const pds = flattenTree(r, rootPds);
  const channels = channelNodes.map((node) => parseChannel(r, node, pds));
  return globalChecks(r, rootPds, pds, mrs, channels, ioSpaces, domains);
}

/**
 * §1.1: non-whitespace text directly inside `<system>` (the tool's `check_no_text`): the
 * first child, if text, is reported on `system`; any later text run on itself, unnamed.
 */
function checkNoText(r: SdfReader, system: XmlElement): void {
  const first = system.children[0];
  if (first?.kind === "text" && first.text.trim() !== "") {
    r.fail({
      code: "unexpected-text",
      rule: "xml",
      message: `Error: unexpected text found in element 'system' @ ${r.loc(system)}`,
      location: system.location,
      element: "system",
    });
  }
  for (const child of system.children) {
    if (child.kind === "text" && child.text.trim() !== "") {
      r.fail({
        code: "unexpected-text",
        rule: "xml",
        message: `Error: unexpected text found in element '' @ ${r.loc(child)}`,
        location: child.location,
        element: "system",
      });
    }
  }
}
