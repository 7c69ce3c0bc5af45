/**
 * The device-side queue's defect switches (reference virtio §4.6, §4.11 L2, L5, L15; §1.6,
 * §1.8–§1.10 for the spec side), each a pair of strategies `queueRulesFor` picks once when
 * a queue is built. `SplitVirtqueue` and the chain walk call only `QueueRules`.
 */
import { chooseBehaviour } from "@vmmux/profiles";
import type { DescriptorChain } from "./chain.js";
import { makeChain } from "./chain.js";
import { USED_ELEMENT_SIZE, VIRTQ_AVAIL_F_NO_INTERRUPT } from "./constants.js";
import { ChainError, QueueConfigError } from "./errors.js";
import type { GuestMemory } from "./guest-memory.js";
import { type DefectFinding, type DefectSwitches, finding } from "./profile.js";
import { needEvent, Wrapping16 } from "./wrapping.js";

/** Why a queue operation did not complete. */
export type QueueFault =
  | { readonly kind: "error"; readonly error: ChainError | QueueConfigError }
  /** libvmm would dereference an unmapped guest address here and the VMM PD would die (L2). */
  | { readonly kind: "crash"; readonly finding: DefectFinding };

export type PopResult =
  | { readonly kind: "empty" }
  | { readonly kind: "chain"; readonly chain: DescriptorChain }
  | QueueFault;

/** What a rule may do to the queue: report a defect, break the queue, crash the VMM. */
export interface RuleContext {
  readonly memory: GuestMemory;
  /** Report a finding; returns it so a chain can carry it. */
  report(f: DefectFinding): DefectFinding;
  /** Break the queue (sticky, first error wins) and return the fault. */
  fail(error: ChainError | QueueConfigError): QueueFault;
  /** libvmm's VMM dies here (L2): the transport stops answering. */
  crash(f: DefectFinding): void;
}

/** The behaviours of one queue, one per defect switch. */
export interface QueueRules {
  /** `availIndexUnchecked` (L15): avail.idx more than N entries ahead (§2.7.13). */
  availJump(
    ctx: RuleContext,
    message: { refused: string; accepted: string },
    findings: DefectFinding[],
  ): QueueFault | undefined;
  /** `headIndexUnchecked` (L5): a head ≥ N in the avail ring. */
  headOutOfRange(ctx: RuleContext, head: number, n: number, findings: DefectFinding[]): PopResult;
  /** `headIndexUnchecked` (L5): a used id ≥ N (or negative). */
  usedHead(ctx: RuleContext, head: number, n: number): QueueFault | undefined;
  /** `badChainConsumed` (L15): the chain walk's time-to-live for a queue of N. */
  chainTtl(n: number): number;
  /** `badChainConsumed`: a chain whose lengths reach 2^32 (§2.7.4.2). */
  lengthOverflow(ctx: RuleContext, head: number, total: number): QueueFault | undefined;
  /** `badChainConsumed`: a loop, an over-long chain or a bad next index. */
  badChain(ctx: RuleContext, head: number, error: ChainError, findings: DefectFinding[]): PopResult;
  /** `indirectAsData` (L15): true to follow an INDIRECT descriptor, false to use it as data. */
  followIndirect(ctx: RuleContext, index: number, findings: DefectFinding[]): boolean;
  /** `orderUnchecked` (L15): a readable descriptor after a writable one (§2.7.4.2). */
  readableAfterWritable(
    ctx: RuleContext,
    message: string,
    findings: DefectFinding[],
  ): QueueFault | undefined;
  /** `uncheckedGuestAddresses` (L2): a buffer not inside guest RAM. */
  bufferOutsideRam(
    ctx: RuleContext,
    message: string,
    findings: DefectFinding[],
  ): QueueFault | undefined;
  /** `uncheckedGuestAddresses` (L2): a ring area not inside guest RAM. */
  areaOutsideRam(ctx: RuleContext, message: string): QueueFault;
  /** `usedIdxFromGuest` (L15): the used.idx the next element goes to. */
  usedIndex(ctx: RuleContext, idxAddr: number, shadow: Wrapping16): Wrapping16;
  /** `noNotificationSuppression` (§4.6): the suppression fields (§2.7.7, §2.7.10). */
  readonly suppression: Suppression;
}

/** The notification-suppression fields the device reads and writes. */
export interface Suppression {
  /** Publish avail_event (EVENT_IDX) at `at`. */
  writeAvailEvent(memory: GuestMemory, at: number, value: number): void;
  /** Set used.flags (no EVENT_IDX). */
  writeUsedFlags(memory: GuestMemory, usedAddr: number, flags: number): void;
  /** Whether used entries from `old` to `next` warrant a notification. */
  needsInterrupt(
    memory: GuestMemory,
    availAddr: number,
    size: number,
    eventIdx: boolean,
    next: Wrapping16,
    old: Wrapping16,
  ): boolean;
}

/** §2.7.7, §2.7.10: the device honours and maintains every hint. */
const SPEC_SUPPRESSION: Suppression = {
  writeAvailEvent(memory, at, value) {
    if (memory.contains(at, 2)) memory.write16(at, value);
  },
  writeUsedFlags(memory, usedAddr, flags) {
    if (memory.contains(usedAddr, 2)) memory.write16(usedAddr, flags);
  },
  needsInterrupt(memory, availAddr, size, eventIdx, next, old) {
    if (eventIdx) {
      const at = availAddr + 4 + 2 * size;
      if (!memory.contains(at, 2)) return true;
      return needEvent(Wrapping16.of(memory.read16(at)), next, old);
    }
    if (!memory.contains(availAddr, 2)) return true;
    return (memory.read16(availAddr) & VIRTQ_AVAIL_F_NO_INTERRUPT) === 0;
  },
};

/** libvmm (reference §4.6): avail.flags and used_event never read, used.flags never written. */
const NO_SUPPRESSION: Suppression = {
  writeAvailEvent: () => {},
  writeUsedFlags: () => {},
  needsInterrupt: () => true,
};

const U32_LIMIT = 0x1_0000_0000;

/** The rules every switch shares the shape of (suppression is chosen as one object). */
type SwitchedRules = Omit<QueueRules, "suppression">;

const spec: SwitchedRules = {
  availJump: (ctx: RuleContext, m: { refused: string }) =>
    ctx.fail(new ChainError("avail-index-jump", m.refused)),
  headOutOfRange: (ctx: RuleContext, head: number, n: number): PopResult =>
    ctx.fail(
      new ChainError(
        "head-index-out-of-range",
        `avail ring head ${head} is not below queue size ${n}`,
      ),
    ),
  usedHead(ctx: RuleContext, head: number, n: number): QueueFault | undefined {
    if (head < n && head >= 0) return undefined;
    return ctx.fail(
      new ChainError("used-head-out-of-range", `used id ${head} is not below queue size ${n}`),
    );
  },
  /** §2.7.5.2: a chain is never longer than the queue, so N steps end any loop. */
  chainTtl: (n: number) => n,
  lengthOverflow(ctx: RuleContext, head: number, total: number): QueueFault | undefined {
    if (total < U32_LIMIT) return undefined;
    return ctx.fail(
      new ChainError(
        "chain-length-overflow",
        `chain from head ${head} totals ${total} bytes, not below 2^32`,
      ),
    );
  },
  badChain: (ctx: RuleContext, _head: number, error: ChainError): PopResult => ctx.fail(error),
  followIndirect: () => true,
  readableAfterWritable: (ctx: RuleContext, message: string) =>
    ctx.fail(new ChainError("readable-after-writable", message)),
  bufferOutsideRam: (ctx: RuleContext, message: string) =>
    ctx.fail(new ChainError("descriptor-outside-ram", message)),
  /** Reachable only for a queue built without `configure` (unvalidated geometry). */
  areaOutsideRam: (ctx: RuleContext, message: string) =>
    ctx.fail(new QueueConfigError("queue-area-outside-ram", message)),
  /** The device keeps its own shadow of used.idx (§2.7.8). */
  usedIndex: (_ctx: RuleContext, _idxAddr: number, shadow: Wrapping16) => shadow,
};

/** One finding pushed onto the chain being built and reported. */
function noted(ctx: RuleContext, findings: DefectFinding[], f: DefectFinding): undefined {
  findings.push(ctx.report(f));
  return undefined;
}

const libvmm: SwitchedRules = {
  /** L15: libvmm's peek never compares avail.idx with its shadow. */
  availJump: (ctx: RuleContext, m: { accepted: string }, findings: DefectFinding[]) =>
    noted(ctx, findings, finding("availIndexUnchecked", "deviation", m.accepted)),
  /** L5: the head is handed out; its chain is bad with no payload. */
  headOutOfRange(ctx: RuleContext, head: number, n: number, findings: DefectFinding[]): PopResult {
    noted(
      ctx,
      findings,
      finding("headIndexUnchecked", "deviation", `avail ring head ${head} >= queue size ${n}`),
    );
    return { kind: "chain", chain: makeChain(head, [], 0, true, findings) };
  },
  usedHead: () => undefined,
  /** L15: `virtio_desc_chain_payload_len` tolerates N + 1 steps. */
  chainTtl: (n: number) => n + 1,
  lengthOverflow: () => undefined,
  /** L15: "bad descriptor chain" is logged and the chain consumed with payload 0. */
  badChain(
    ctx: RuleContext,
    head: number,
    error: ChainError,
    findings: DefectFinding[],
  ): PopResult {
    noted(ctx, findings, finding("badChainConsumed", "deviation", error.message));
    return { kind: "chain", chain: makeChain(head, [], 0, true, findings) };
  },
  /** L15: libvmm offers no INDIRECT_DESC and reads the table as a plain buffer. */
  followIndirect(ctx: RuleContext, index: number, findings: DefectFinding[]): boolean {
    noted(
      ctx,
      findings,
      finding(
        "indirectAsData",
        "deviation",
        `descriptor ${index} INDIRECT treated as a plain buffer`,
      ),
    );
    return false;
  },
  readableAfterWritable: (ctx: RuleContext, message: string, findings: DefectFinding[]) =>
    noted(ctx, findings, finding("orderUnchecked", "deviation", message)),
  /** L2: the buffer is kept (the device's copy then crashes the VMM). */
  bufferOutsideRam: (ctx: RuleContext, message: string, findings: DefectFinding[]) =>
    noted(ctx, findings, finding("uncheckedGuestAddresses", "vmm-crash", message)),
  /** L2: `gpa_to_hva` returns NULL and libvmm dereferences it. */
  areaOutsideRam(ctx: RuleContext, message: string): QueueFault {
    const f = finding("uncheckedGuestAddresses", "vmm-crash", message);
    ctx.crash(f);
    return { kind: "crash", finding: f };
  },
  /** L15: no shadow, so a driver that scribbles on used.idx steers the device. */
  usedIndex(ctx: RuleContext, idxAddr: number, shadow: Wrapping16): Wrapping16 {
    const usedIdx = Wrapping16.of(ctx.memory.read16(idxAddr));
    if (!usedIdx.equals(shadow)) {
      ctx.report(
        finding(
          "usedIdxFromGuest",
          "deviation",
          `used.idx in guest memory is ${usedIdx}, device shadow is ${shadow}`,
        ),
      );
    }
    return usedIdx;
  },
};

/** The rules of a queue with these switches, each behaviour chosen here, once. */
export function queueRulesFor(d: DefectSwitches): QueueRules {
  return {
    availJump: choose(d.availIndexUnchecked, "availJump"),
    headOutOfRange: choose(d.headIndexUnchecked, "headOutOfRange"),
    usedHead: choose(d.headIndexUnchecked, "usedHead"),
    chainTtl: choose(d.badChainConsumed, "chainTtl"),
    lengthOverflow: choose(d.badChainConsumed, "lengthOverflow"),
    badChain: choose(d.badChainConsumed, "badChain"),
    followIndirect: choose(d.indirectAsData, "followIndirect"),
    readableAfterWritable: choose(d.orderUnchecked, "readableAfterWritable"),
    bufferOutsideRam: choose(d.uncheckedGuestAddresses, "bufferOutsideRam"),
    areaOutsideRam: choose(d.uncheckedGuestAddresses, "areaOutsideRam"),
    usedIndex: choose(d.usedIdxFromGuest, "usedIndex"),
    suppression: chooseBehaviour(d.noNotificationSuppression, NO_SUPPRESSION, SPEC_SUPPRESSION),
  };
}

/** libvmm's behaviour for rule `key` when its defect is on, the spec's otherwise. */
function choose<K extends keyof SwitchedRules>(defectOn: boolean, key: K): SwitchedRules[K] {
  return chooseBehaviour(defectOn, libvmm[key], spec[key]);
}

/** Where avail_event lives: right after the used ring (§2.7.8). */
export function availEventAddr(usedAddr: number, size: number): number {
  return usedAddr + 4 + USED_ELEMENT_SIZE * size;
}
