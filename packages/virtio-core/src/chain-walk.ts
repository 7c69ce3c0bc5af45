/**
 * The walk of one descriptor chain from its head (VirtIO 1.2 §2.7.5, §2.7.5.3, §2.7.4.2;
 * reference virtio §1.8–§1.10): every descriptor read once into a snapshot, every rule
 * checked, every step bounded by a time-to-live. Where libvmm differs (reference §4.6) the
 * queue's `QueueRules` decide; this module has no profile branches of its own.
 */
import { type BufferSegment, makeChain } from "./chain.js";
import {
  DESCRIPTOR_SIZE,
  VIRTQ_DESC_F_INDIRECT,
  VIRTQ_DESC_F_NEXT,
  VIRTQ_DESC_F_WRITE,
} from "./constants.js";
import { ChainError } from "./errors.js";
import type { DefectFinding } from "./profile.js";
import type { QueueGeometry } from "./virtqueue.js";
import type { PopResult, QueueFault, QueueRules, RuleContext } from "./virtqueue-rules.js";

/** What the walk needs from its queue. */
export interface WalkContext extends RuleContext {
  readonly geometry: QueueGeometry;
  /** VIRTIO_F_INDIRECT_DESC negotiated. */
  readonly indirect: boolean;
  readonly rules: QueueRules;
  /** A ring area or descriptor outside RAM (L2 crash or queue error). */
  outsideRam(what: string, addr: number): QueueFault;
}

/** Walk the chain from `head`; `findings` already holds the pop's earlier findings. */
export function walkChain(ctx: WalkContext, head: number, findings: DefectFinding[]): PopResult {
  const { memory, rules } = ctx;
  const g = ctx.geometry;
  const n = g.size;
  const segments: BufferSegment[] = [];
  if (!memory.contains(g.descAddr, DESCRIPTOR_SIZE * n)) {
    return ctx.outsideRam("descriptor area", g.descAddr);
  }
  if (head >= n) return rules.headOutOfRange(ctx, head, n, findings);
  let table = g.descAddr;
  let tableSize = n;
  let index = head;
  // Time-to-live: a loop or an over-long chain ends after N descriptors (§2.7.5.2).
  let ttl = rules.chainTtl(n);
  let inIndirect = false;
  let seenWritable = false;
  let total = 0;
  let count = 0;
  for (;;) {
    if (ttl-- === 0) {
      const error = new ChainError(
        "chain-too-long",
        `chain from head ${head} is longer than ${inIndirect ? "its indirect table" : `queue size ${n}`} (loop?)`,
      );
      return rules.badChain(ctx, head, error, findings);
    }
    const at = table + DESCRIPTOR_SIZE * index;
    if (!memory.contains(at, DESCRIPTOR_SIZE)) return ctx.outsideRam("descriptor", at);
    const addr = memory.read64AsNumber(at);
    const len = memory.read32(at + 8);
    const flags = memory.read16(at + 12);
    const next = memory.read16(at + 14);
    count++;
    if ((flags & VIRTQ_DESC_F_INDIRECT) !== 0 && rules.followIndirect(ctx, index, findings)) {
      const error = checkIndirect(ctx, index, inIndirect, flags, len, addr);
      if (error !== undefined) return ctx.fail(error);
      inIndirect = true;
      table = addr!;
      tableSize = len / DESCRIPTOR_SIZE;
      index = 0;
      ttl = tableSize;
      continue;
    }
    const writable = (flags & VIRTQ_DESC_F_WRITE) !== 0;
    if (writable) {
      seenWritable = true;
    } else if (seenWritable) {
      const message = `readable descriptor ${index} follows a writable one in chain ${head}`;
      const fault = rules.readableAfterWritable(ctx, message, findings);
      if (fault !== undefined) return fault;
    }
    const inRam = addr !== undefined && memory.contains(addr, len);
    if (!inRam) {
      const message = `descriptor ${index} buffer 0x${(addr ?? Number.NaN).toString(16)}+${len} is outside guest ram`;
      const fault = rules.bufferOutsideRam(ctx, message, findings);
      if (fault !== undefined) return fault;
    }
    total += len;
    const overflow = rules.lengthOverflow(ctx, head, total);
    if (overflow !== undefined) return overflow;
    segments.push({ addr: addr ?? Number.MAX_SAFE_INTEGER, len, writable, inRam });
    if ((flags & VIRTQ_DESC_F_NEXT) === 0) break;
    if (next >= tableSize) {
      const error = new ChainError(
        "next-index-out-of-range",
        `descriptor ${index} next ${next} is not below ${inIndirect ? "indirect table size" : "queue size"} ${tableSize}`,
      );
      return rules.badChain(ctx, head, error, findings);
    }
    index = next;
  }
  return { kind: "chain", chain: makeChain(head, segments, count, false, findings) };
}

/** The rules an INDIRECT descriptor must meet (§2.7.5.3.1). */
function checkIndirect(
  ctx: WalkContext,
  index: number,
  inIndirect: boolean,
  flags: number,
  len: number,
  addr: number | undefined,
): ChainError | undefined {
  if (!ctx.indirect) {
    return new ChainError(
      "indirect-not-negotiated",
      `descriptor ${index} is INDIRECT but VIRTIO_F_INDIRECT_DESC was not negotiated`,
    );
  }
  if (inIndirect) {
    return new ChainError("indirect-nested", `indirect table entry ${index} is itself INDIRECT`);
  }
  if ((flags & VIRTQ_DESC_F_NEXT) !== 0) {
    return new ChainError("indirect-with-next", `descriptor ${index} has both INDIRECT and NEXT`);
  }
  if (len === 0 || len % DESCRIPTOR_SIZE !== 0) {
    return new ChainError(
      "indirect-table-size",
      `descriptor ${index} indirect table length ${len} is not a non-zero multiple of 16`,
    );
  }
  const size = ctx.geometry.size;
  if (len / DESCRIPTOR_SIZE > size) {
    return new ChainError(
      "chain-too-long",
      `descriptor ${index} indirect table of ${len / DESCRIPTOR_SIZE} entries exceeds queue size ${size}`,
    );
  }
  if (addr === undefined || addr % DESCRIPTOR_SIZE !== 0 || !ctx.memory.contains(addr, len)) {
    return new ChainError(
      "descriptor-outside-ram",
      `descriptor ${index} indirect table 0x${(addr ?? Number.NaN).toString(16)}+${len} is misaligned or outside guest ram`,
    );
  }
  return undefined;
}
