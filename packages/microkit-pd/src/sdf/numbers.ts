/**
 * Number parsing with the exact acceptance rules and error texts of the microkit tool
 * (reference §1.1 value types): the tool uses Rust's integer parsers, whose messages the
 * reference quotes (`invalid digit found in string`, ...).
 */

/** Why Rust's integer parse rejected a string (its `ParseIntError` text). */
export type IntParseFailure =
  | "cannot parse integer from empty string"
  | "invalid digit found in string"
  | "number too large to fit in target type"
  | "number too small to fit in target type";

export type IntParseResult =
  | { readonly ok: true; readonly value: bigint }
  | { readonly ok: false; readonly reason: IntParseFailure };

const U64_MAX = (1n << 64n) - 1n;
const I64_MAX = (1n << 63n) - 1n;
const I64_MIN = -(1n << 63n);

function digitValue(ch: string): number {
  const c = ch.charCodeAt(0);
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 122) return c - 87;
  if (c >= 65 && c <= 90) return c - 55;
  return 99;
}

/** Rust `from_str_radix` for `u64` (`signed = false`) or `i64`: an optional sign, then digits. */
export function parseRustInt(text: string, radix: 10 | 16, signed: boolean): IntParseResult {
  if (text.length === 0) return { ok: false, reason: "cannot parse integer from empty string" };
  let negative = false;
  let digits = text;
  if (text[0] === "+" || (signed && text[0] === "-")) {
    negative = text[0] === "-";
    digits = text.slice(1);
    if (digits.length === 0) return { ok: false, reason: "invalid digit found in string" };
  }
  // Rust checks digit by digit: a digit is validated, then the overflow of the running value
  // is reported at once, so `99999999999999999999x` is "too large", not "invalid digit".
  // Stopping there also keeps a 10 MB attribute from growing a 10 MB bigint.
  const limit = !signed ? U64_MAX : negative ? -I64_MIN : I64_MAX;
  const overflow: IntParseFailure = negative
    ? "number too small to fit in target type"
    : "number too large to fit in target type";
  let magnitude = 0n;
  const big = BigInt(radix);
  for (const ch of digits) {
    const d = digitValue(ch);
    if (d >= radix) return { ok: false, reason: "invalid digit found in string" };
    magnitude = magnitude * big + BigInt(d);
    if (magnitude > limit) return { ok: false, reason: overflow };
  }
  return { ok: true, value: negative ? -magnitude : magnitude };
}

/**
 * The tool's number type **N**: every `_` removed, then a leading lowercase `0x` selects
 * hexadecimal, otherwise decimal; unsigned 64-bit.
 */
export function parseToolNumber(text: string): IntParseResult {
  const stripped = text.replaceAll("_", "");
  return stripped.startsWith("0x")
    ? parseRustInt(stripped.slice(2), 16, false)
    : parseRustInt(stripped, 10, false);
}

/** Rust's `{:#x}`. */
export function hex(value: bigint | number): string {
  const v = BigInt(value);
  return v < 0n ? `-0x${(-v).toString(16)}` : `0x${v.toString(16)}`;
}
