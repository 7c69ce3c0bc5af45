/** `<cspace>` with `cap_tcb`, `cap_sc` and `cap_vspace` (reference §1.3, check #18). */
import type { SdfReader } from "./reader.js";
import type { CapShare } from "./types.js";
import { elementChildren, type XmlElement } from "./xml.js";

const CAP_MAP_MAX_SLOT = 128n;

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
