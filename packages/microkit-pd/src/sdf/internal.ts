/** Working records of the parser: the public values plus what the global checks need. */
import type {
  ChannelEnd,
  Domain,
  DomainSchedule,
  MemoryRegion,
  Permissions,
  ProtectionDomain,
} from "./types.js";
import type { XmlElement } from "./xml.js";

export type SetvarKind = "vaddr" | "size" | "prefill-size" | "paddr" | "id" | "ioport-addr";

export interface InternalSetvar {
  readonly symbol: string;
  readonly kind: SetvarKind;
  /** The memory region for `size`, `prefill-size` and `paddr`. */
  readonly mr?: string;
}

export interface InternalPd {
  readonly node: XmlElement;
  readonly value: Omit<ProtectionDomain, "children" | "parent">;
  readonly children: InternalPd[];
  readonly setvars: InternalSetvar[];
  /** Legacy dialect: `pp="true"` on the PD ("provides a protected procedure"). */
  readonly legacyPp: boolean;
  parent?: string;
}

export interface InternalMr {
  readonly value: MemoryRegion;
  readonly hasPrefillBytes: boolean;
}

export interface InternalEnd {
  readonly value: ChannelEnd;
  readonly pd: InternalPd;
}

export interface InternalChannel {
  readonly node: XmlElement;
  a: InternalEnd;
  b: InternalEnd;
  /** Ends whose `pp` came from a legacy PD-level `pp` (no priority or bidirectional rule). */
  readonly legacyPp: boolean;
}

export interface DomainState {
  readonly domains: readonly Domain[];
  readonly schedule?: DomainSchedule;
}

export const RW: Permissions = { read: true, write: true, execute: false };
