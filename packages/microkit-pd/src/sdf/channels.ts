/** `<channel>` with its two `<end>`s, parsed once every PD is known (reference §1.5 G2). */
import type { InternalChannel, InternalEnd, InternalPd } from "./internal.js";
import { readChannelId } from "./irq.js";
import type { SdfReader } from "./reader.js";
import { attr, elementChildren, type XmlElement } from "./xml.js";

/** G2: a channel, parsed once every PD is known. */
export function parseChannel(r: SdfReader, node: XmlElement, pds: InternalPd[]): InternalChannel {
  r.checkAttributes(node, []);
  const ends = elementChildren(node).map((child) => parseChannelEnd(r, child, pds));
  const [a, b] = ends;
  if (ends.length !== 2 || a === undefined || b === undefined) {
    return r.valueError(
      node,
      "channel-end-count",
      "G2",
      "exactly two end elements must be specified",
    );
  }
  let ea = a;
  let eb = b;
  let legacyPp = false;
  if (r.legacy && (a.pd.legacyPp || b.pd.legacyPp)) {
    // §1.6: a PD with `pp="true"` could be called over every channel to it.
    legacyPp = true;
    if (b.pd.legacyPp) ea = { ...a, value: { ...a.value, pp: true } };
    if (a.pd.legacyPp) eb = { ...b, value: { ...b.value, pp: true } };
  }
  if (!legacyPp && ea.value.pp && eb.value.pp) {
    r.valueError(node, "ppc-bidirectional", "G2", "cannot ppc bidirectionally");
  }
  if (ea.value.setvarId !== undefined) {
    r.addSetvar(ea.pd.setvars, { symbol: ea.value.setvarId, kind: "id" }, node);
  }
  if (eb.value.setvarId !== undefined) {
    r.addSetvar(eb.pd.setvars, { symbol: eb.value.setvarId, kind: "id" }, node);
  }
  return { node, a: ea, b: eb, legacyPp };
}

function parseChannelEnd(r: SdfReader, node: XmlElement, pds: InternalPd[]): InternalEnd {
  if (node.name !== "end") {
    r.fail({
      code: "channel-invalid-element",
      rule: "G2",
      message: `Error: invalid XML element '${node.name}': ${r.loc(node)}`,
      location: node.location,
      element: node.name,
    });
  }
  r.checkAttributes(node, ["pd", "id", "pp", "notify", "setvar_id"]);
  const pdName = r.lookup(node, "pd");
  const id = readChannelId(r, node, "G2");
  const notify = r.bool(node, "notify", true, "G2");
  const pp = r.bool(node, "pp", false, "G2");
  const pd = pds.find((p) => p.value.name === pdName);
  if (pd === undefined) {
    return r.valueError(node, "channel-end-pd-unknown", "G2", `invalid PD name '${pdName}'`, "pd");
  }
  const setvarId = attr(node, "setvar_id");
  return {
    pd,
    value: {
      pd: pdName,
      id,
      pp,
      notify,
      ...(setvarId !== undefined ? { setvarId } : {}),
      location: node.location,
    },
  };
}
