/**
 * The one error family of the SDF parser. Each variant's `code` is stable; `rule` names the
 * reference row it enforces (microkit reference §1.5 `#1`–`#31`, `G1`–`G18`, or §1.1 for
 * lexical and value-type failures); `message` is the text the microkit tool prints, so a user
 * can match it against the real tool's output (tests compare prefixes, as the tool's do).
 */
import type { SourceLocation } from "./types.js";

export type SdfRule =
  | "xml"
  | "number"
  | "missing-attribute"
  /** Found after `sdf.rs` accepts the file, where the real tool crashes while building. */
  | "post-parse"
  | `#${number}`
  | `G${number}`;

export type SdfErrorCode =
  // §1.1 lexical and value types
  | "xml-malformed"
  | "root-not-system"
  | "unexpected-text"
  | "number-invalid"
  | "decimal-invalid"
  | "missing-attribute"
  | "boolean-invalid"
  // per element, document order
  | "invalid-attribute"
  | "map-vaddr-too-large"
  | "map-perms-invalid"
  | "map-perms-write-only"
  | "budget-exceeds-period"
  | "smc-not-enabled"
  | "smc-unavailable"
  | "cpu-out-of-range"
  | "domain-undeclared"
  | "domain-without-schedule"
  | "stack-size-range"
  | "stack-size-alignment"
  | "priority-range"
  | "program-image-repeated"
  | "id-range"
  | "irq-arch-mismatch"
  | "irq-trigger-invalid"
  | "irq-value-range"
  | "pci-address-invalid"
  | "ioport-size-invalid"
  | "ioport-unsupported"
  | "setvar-duplicate"
  | "vm-without-hypervisor"
  | "vm-repeated"
  | "cspace-repeated"
  | "cap-slot-reserved"
  | "cap-slot-range"
  | "cap-type-unsupported"
  | "cspace-element-unsupported"
  | "pd-invalid-element"
  | "program-image-missing"
  | "vcpu-duplicate"
  | "vm-invalid-element"
  | "vcpu-missing"
  | "page-size-unsupported"
  | "prefill-not-found"
  | "prefill-unreadable"
  | "prefill-empty"
  | "bootinfo-unsupported"
  | "prefill-conflict"
  | "size-not-page-multiple"
  | "prefill-exceeds-size"
  | "size-missing"
  | "phys-addr-unaligned"
  | "vm-top-level"
  | "system-invalid-element"
  | "domains-repeated"
  | "domains-multicore"
  | "domain-name-duplicate"
  | "domain-id-duplicate"
  | "domain-schedule-repeated"
  | "domain-schedule-missing"
  | "domains-invalid-element"
  | "domain-id-range"
  | "domains-too-many"
  | "schedule-invalid-element"
  | "schedule-too-long"
  | "schedule-start-index"
  | "schedule-index-shift"
  | "schedule-domain-unknown"
  | "duration-malformed"
  | "duration-zero"
  | "duration-unit"
  | "iommu-unsupported"
  | "io-space-name-duplicate"
  | "io-domain-id-duplicate"
  | "peripheral-id-invalid"
  | "peripheral-id-duplicate"
  | "iovaddr-too-large"
  | "iomap-perms-invalid"
  // global checks after the walk
  | "child-id-duplicate"
  | "child-id-vcpu-clash"
  | "channel-invalid-element"
  | "channel-end-pd-unknown"
  | "channel-end-count"
  | "ppc-bidirectional"
  | "cap-pd-unknown"
  | "no-protection-domains"
  | "too-many-protection-domains"
  | "pd-nesting-too-deep"
  | "pd-name-duplicate"
  | "pd-name-reserved"
  | "mr-name-duplicate"
  | "vm-name-duplicate"
  | "x86-vmm-children"
  | "irq-duplicate"
  | "channel-id-duplicate"
  | "ppc-priority"
  | "x86-ppc-to-vmm"
  | "ioport-id-duplicate"
  | "ioport-overlap"
  | "map-mr-unknown"
  | "map-unaligned"
  | "map-overflow"
  | "map-out-of-range"
  | "map-overlap"
  | "iommu-large-page"
  | "cap-slot-overlap"
  | "mr-paddr-overlap"
  | "setvar-prefill-size-without-prefill"
  | "x86-setvar-paddr-unallocated"
  // after parsing
  | "setvar-region-unknown"
  // loading and input bounds
  | "file-unreadable"
  | "file-too-large"
  | "xml-too-deep"
  | "xml-too-many-nodes"
  | "xml-run-too-long";

export interface SdfErrorDetails {
  readonly code: SdfErrorCode;
  readonly rule: SdfRule;
  /** The tool's text, location suffix included where the tool prints one. */
  readonly message: string;
  readonly file: string;
  /** Start of the offending node (1-based), when known. */
  readonly location?: SourceLocation;
  /** Tag of the offending element. */
  readonly element?: string;
  /** The attribute at fault, when one is. */
  readonly attribute?: string;
  /**
   * The real tool crashes (Rust panic) on this input instead of reporting it (§1.1 type D,
   * root element, cpu > 255); the model reports an error instead.
   */
  readonly toolPanics?: boolean;
}

/** A system description file the microkit tool would reject. */
export class SdfError extends Error {
  readonly code: SdfErrorCode;
  readonly rule: SdfRule;
  readonly file: string;
  readonly location?: SourceLocation;
  readonly element?: string;
  readonly attribute?: string;
  readonly toolPanics: boolean;

  constructor(details: SdfErrorDetails) {
    super(details.message);
    this.name = "SdfError";
    this.code = details.code;
    this.rule = details.rule;
    this.file = details.file;
    if (details.location !== undefined) this.location = details.location;
    if (details.element !== undefined) this.element = details.element;
    if (details.attribute !== undefined) this.attribute = details.attribute;
    this.toolPanics = details.toolPanics ?? false;
  }
}

/** `<file>:<row>:<col>` as the tool prints it. */
export function formatLocation(location: SourceLocation): string {
  return `${location.file}:${location.line}:${location.column}`;
}

/**
 * The message with a location a person can jump to: the tool's text where it already ends in
 * `file:line:col`, else `file:line:col: ` (or `file: ` when the error is about the whole
 * file) in front of it. The tool prints some errors without one (number parsing, G4).
 */
export function locatedMessage(err: SdfError): string {
  if (err.location === undefined) {
    return err.message.includes(err.file) ? err.message : `${err.file}: ${err.message}`;
  }
  const at = formatLocation(err.location);
  return err.message.includes(at) ? err.message : `${at}: ${err.message}`;
}
