/** Microkit system description files: parsing, validation, loading, summary, serialisation. */

export type { Arch, PlatformConfig, PlatformName } from "./config.js";
export {
  AARCH64_CONFIG,
  AARCH64_SMC_CONFIG,
  AARCH64_SMP_CONFIG,
  PLATFORM_CONFIGS,
  X86_64_CONFIG,
} from "./config.js";
export type { SdfErrorCode, SdfErrorDetails, SdfRule } from "./errors.js";
export { locatedMessage, SdfError } from "./errors.js";
export type { JsonValue } from "./json.js";
export { systemToJson } from "./json.js";
export type { LoadOptions } from "./load.js";
export { loadSystemFile, searchPathPrefill } from "./load.js";
export type { ParseOptions, PrefillLookup, PrefillResolver, SdfDialect } from "./parse.js";
export { parseSystemDescription } from "./parse.js";
export type { SerialiseOptions } from "./serialise.js";
export { serialiseSystem } from "./serialise.js";
export { summariseSystem } from "./summary.js";
export type {
  ArmIrq,
  BootInfoPrefill,
  CapShare,
  Channel,
  ChannelEnd,
  Domain,
  DomainSchedule,
  IoAddressSpace,
  IoapicIrq,
  IoMap,
  IoPort,
  Irq,
  IrqTrigger,
  MemoryMap,
  MemoryRegion,
  MemoryRegionPrefill,
  MsiIrq,
  ParsedSystem,
  PciAddress,
  ProgramImage,
  ProtectionDomain,
  ScheduleEntry,
  SdfWarning,
  Setvar,
  SourceLocation,
  SystemDescription,
  Vcpu,
  VirtualMachine,
} from "./types.js";
export { flattenProtectionDomains } from "./types.js";
export { MAX_SYSTEM_FILE_CHARS, MAX_XML_DEPTH, MAX_XML_NODES, MAX_XML_RUN } from "./xml.js";
