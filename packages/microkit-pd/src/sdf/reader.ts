/**
 * The parser's state and the tool's value readers and error shapes (reference §1.1, §1.5):
 * `value_error`, `checked_lookup`, `check_attributes`, number types N and D, booleans, and the
 * per-PD setvar symbol check (#16). Every element parser takes one of these.
 */
import { AARCH64_CONFIG, type PlatformConfig } from "./config.js";
import {
  formatLocation,
  SdfError,
  type SdfErrorCode,
  type SdfErrorDetails,
  type SdfRule,
} from "./errors.js";
import type { InternalSetvar } from "./internal.js";
import { type IntParseResult, parseRustInt, parseToolNumber } from "./numbers.js";
import type { ParseOptions, PrefillResolver } from "./options.js";
import type { SourceLocation } from "./types.js";
import { attr, type XmlElement } from "./xml.js";

/** Longest attribute text quoted whole in a message; the tool's texts are never longer. */
const MAX_QUOTED = 64;

/** `raw` for a message: a 10 MB attribute is cut to its start and its length. */
function shown(raw: string): string {
  return raw.length <= MAX_QUOTED
    ? raw
    : `${raw.slice(0, MAX_QUOTED)}... (${raw.length} characters)`;
}

/** Deepest `<protection_domain>` nesting the parser follows (`enterChildPd`). */
export const MAX_PD_NESTING = 256;

/** One parse: the file name, configuration and dialect, and the helpers that fail the parse. */
export class SdfReader {
  readonly file: string;
  readonly config: PlatformConfig;
  readonly legacy: boolean;
  /** Largest channel, IRQ and vCPU id. */
  readonly maxId: bigint;
  readonly prefill: PrefillResolver;
  /** Where `<system>` starts: the location of errors about the whole file. */
  rootLocation: SourceLocation;
  /** Child protection domains open on the parse stack (see `enterChildPd`). */
  private pdDepth = 0;

  constructor(options: ParseOptions) {
    this.file = options.fileName ?? "system.system";
    this.config = options.config ?? AARCH64_CONFIG;
    this.legacy = (options.dialect ?? "strict") === "legacy";
    // §1.6: the Python tool accepted channel/IRQ ids below 63; the Rust tool below 62.
    this.maxId = this.legacy ? 62n : 61n;
    this.prefill = options.prefill ?? (() => ({ kind: "missing" }));
    this.rootLocation = { file: this.file, line: 1, column: 1 };
  }

  /** Stops the parse with one `SdfError` (the tool, too, stops at its first error). */
  fail(details: Omit<SdfErrorDetails, "file">): never {
    throw new SdfError({ ...details, file: this.file });
  }

  /** `<file>:<row>:<col>` of a node. */
  loc(node: { location: SourceLocation }): string {
    return formatLocation(node.location);
  }

  /** The tool's `value_error`: `Error: <msg> on element '<tag>': <file>:<row>:<col>`. */
  valueError(
    node: XmlElement,
    code: SdfErrorCode,
    rule: SdfRule,
    msg: string,
    attribute?: string,
  ): never {
    return this.fail({
      code,
      rule,
      message: `Error: ${msg} on element '${node.name}': ${this.loc(node)}`,
      location: node.location,
      element: node.name,
      ...(attribute !== undefined ? { attribute } : {}),
    });
  }

  /** `#1`: every attribute must be in the element's allowed list (first offender, document order). */
  checkAttributes(node: XmlElement, allowed: readonly string[]): void {
    for (const a of node.attributes) {
      if (!allowed.includes(a.name)) {
        this.valueError(node, "invalid-attribute", "#1", `invalid attribute '${a.name}'`, a.name);
      }
    }
  }

  lookup(node: XmlElement, name: string): string {
    const value = attr(node, name);
    if (value === undefined) {
      this.fail({
        code: "missing-attribute",
        rule: "missing-attribute",
        message: `Error: Missing required attribute '${name}' on element '${node.name}': ${this.loc(node)}`,
        location: node.location,
        element: node.name,
        attribute: name,
      });
    }
    return value;
  }

  /**
   * Type N (§1.1). The tool's message has no location suffix; `errorNode` is the element
   * the tool names, which is not always the one holding the attribute (vCPU `cpu`).
   */
  number(node: XmlElement, name: string, raw: string, errorNode = node): bigint {
    const parsed = parseToolNumber(raw);
    if (!parsed.ok) {
      this.fail({
        code: "number-invalid",
        rule: "number",
        message: `Error: failed to parse integer '${shown(raw)}' on element '${errorNode.name}': ${parsed.reason}`,
        location: node.location,
        element: node.name,
        attribute: name,
      });
    }
    return parsed.value;
  }

  /**
   * Type D (§1.1): Rust's plain decimal parse, which the tool unwraps: bad text makes the
   * real tool panic. The model reports it instead and flags the divergence.
   */
  decimal(node: XmlElement, name: string, raw: string, signed: boolean): bigint {
    const parsed: IntParseResult = parseRustInt(raw, 10, signed);
    if (!parsed.ok) {
      this.fail({
        code: "decimal-invalid",
        rule: "number",
        message: `Error: failed to parse integer '${shown(raw)}' for '${name}' (the microkit tool panics here): ${parsed.reason} on element '${node.name}': ${this.loc(node)}`,
        location: node.location,
        element: node.name,
        attribute: name,
        toolPanics: true,
      });
    }
    return parsed.value;
  }

  /** Type B (§1.1). */
  bool(node: XmlElement, name: string, fallback: boolean, rule: SdfRule = "#5"): boolean {
    const raw = attr(node, name);
    if (raw === undefined) return fallback;
    if (raw === "true") return true;
    if (raw === "false") return false;
    return this.valueError(
      node,
      "boolean-invalid",
      rule,
      `${name} must be 'true' or 'false'`,
      name,
    );
  }

  /** `#16`: a symbol may be patched only once per PD. */
  addSetvar(list: InternalSetvar[], setvar: InternalSetvar, node: XmlElement): void {
    if (list.some((s) => s.symbol === setvar.symbol)) {
      this.valueError(
        node,
        "setvar-duplicate",
        "#16",
        `setvar on symbol '${setvar.symbol}' already exists`,
      );
    }
    list.push(setvar);
  }

  /**
   * Before recursing into a child `<protection_domain>`: a hostile file nesting thousands of
   * them would overflow the stack instead of failing with an `SdfError`. Nesting deeper than
   * 63 already breaks G4 (at most 63 PDs), so a guard far above that, checked in walk order,
   * keeps the tool's first error for every file not built to exhaust the stack.
   */
  enterChildPd(node: XmlElement): void {
    if (this.pdDepth >= MAX_PD_NESTING) {
      this.fail({
        code: "pd-nesting-too-deep",
        rule: "G4",
        message: `Error: protection domains nested more than ${MAX_PD_NESTING} deep (at most 63 may be defined): ${this.loc(node)}`,
        location: node.location,
        element: node.name,
      });
    }
    this.pdDepth++;
  }

  leaveChildPd(): void {
    this.pdDepth--;
  }

  // ---------------------------------------------------------------- the walk
}
