/**
 * A planted defect for the number-parsing property: parsing through a JavaScript `number`
 * (as `Number.parseInt` would) silently loses precision above 2^53, so a 64-bit physical
 * address such as `0xffff_ffff_ffff_f000` comes back wrong.
 */
import type { IntParseResult } from "../sdf/numbers.js";

export function parseToolNumberViaDouble(text: string): IntParseResult {
  const stripped = text.replaceAll("_", "");
  const hex = stripped.startsWith("0x");
  const digits = hex ? stripped.slice(2) : stripped;
  if (digits === "") return { ok: false, reason: "cannot parse integer from empty string" };
  if (!(hex ? /^[0-9a-fA-F]+$/ : /^[0-9]+$/).test(digits)) {
    return { ok: false, reason: "invalid digit found in string" };
  }
  const value = Number.parseInt(digits, hex ? 16 : 10);
  if (value > 2 ** 64 - 1) return { ok: false, reason: "number too large to fit in target type" };
  return { ok: true, value: BigInt(value) };
}
