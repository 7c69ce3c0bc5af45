/**
 * Descriptor chains as the device sees them (VirtIO 1.2 §2.7.4, §2.7.5): a snapshot of the
 * chain's buffers taken by reading each descriptor once, so a driver that rewrites
 * descriptors in flight cannot change what the device uses (reference virtio §1.8).
 */
import type { GuestMemory } from "./guest-memory.js";
import type { DefectFinding } from "./profile.js";

/** One buffer of a chain. */
export interface BufferSegment {
  /** Guest-physical address. */
  readonly addr: number;
  readonly len: number;
  /** Device-writable (`VIRTQ_DESC_F_WRITE`); otherwise device-readable. */
  readonly writable: boolean;
  /** False only under the `uncheckedGuestAddresses` defect: touching it crashes libvmm (L2). */
  readonly inRam: boolean;
}

/** A chain popped from the available ring. */
export interface DescriptorChain {
  /** Head descriptor index: the id to return with `addUsed`. */
  readonly head: number;
  /** Every buffer in chain order. */
  readonly segments: readonly BufferSegment[];
  /** The device-readable buffers, in order. */
  readonly readable: readonly BufferSegment[];
  /** The device-writable buffers, in order. */
  readonly writable: readonly BufferSegment[];
  readonly readableLength: number;
  readonly writableLength: number;
  /** Sum of every buffer's length (libvmm's `payload_len`). */
  readonly totalLength: number;
  /** Descriptors visited, indirect table entries included. */
  readonly descriptorCount: number;
  /** True when libvmm would call this chain bad (payload 0); only under `badChainConsumed`. */
  readonly bad: boolean;
  /** Spec deviations accepted under the `reference` profile while walking this chain. */
  readonly findings: readonly DefectFinding[];
}

/** Build the derived fields of a chain. */
export function makeChain(
  head: number,
  segments: BufferSegment[],
  descriptorCount: number,
  bad: boolean,
  findings: DefectFinding[],
): DescriptorChain {
  const readable = segments.filter((s) => !s.writable);
  const writable = segments.filter((s) => s.writable);
  const sum = (list: readonly BufferSegment[]) => list.reduce((n, s) => n + s.len, 0);
  return {
    head,
    segments,
    readable,
    writable,
    readableLength: sum(readable),
    writableLength: sum(writable),
    totalLength: sum(segments),
    descriptorCount,
    bad,
    findings,
  };
}

/**
 * Walk `count` logical bytes of `segments` from logical byte `offset`: `visit(segment, byte
 * offset inside it, bytes there, bytes visited before)` per touched segment, in chain order.
 * `visit` returns false to stop early. Returns the bytes visited. The one offset/length walk
 * behind every copy into or out of a chain.
 */
export function forEachSegmentSpan(
  segments: readonly BufferSegment[],
  offset: number,
  count: number,
  visit: (segment: BufferSegment, skip: number, n: number, done: number) => boolean | undefined,
): number {
  let skip = offset;
  let done = 0;
  for (const s of segments) {
    if (done >= count) break;
    if (skip >= s.len) {
      skip -= s.len;
      continue;
    }
    const n = Math.min(s.len - skip, count - done);
    if (visit(s, skip, n, done) === false) break;
    done += n;
    skip = 0;
  }
  return done;
}

/**
 * Copy up to `dst.length` bytes from `segments`, starting at logical byte `offset`, into
 * `dst` (tags into `dstTags`). Returns the count copied. Pass `chain.readable` for a
 * spec-correct device (§2.7.5.1: never read writable buffers except for debugging).
 * Throws `GuestMemoryError` only for a segment outside RAM, which a hardened queue never
 * hands out.
 */
export function copyFromSegments(
  memory: GuestMemory,
  segments: readonly BufferSegment[],
  offset: number,
  dst: Uint8Array,
  dstTags?: Uint32Array,
): number {
  return forEachSegmentSpan(segments, offset, dst.length, (s, skip, n, done) => {
    memory.readInto(s.addr + skip, dst.subarray(done, done + n), dstTags?.subarray(done, done + n));
    return true;
  });
}

/**
 * Copy `src` into `segments` from logical byte `offset` (tags from `tags`). Returns the
 * count written. Pass `chain.writable` (§2.7.5.1: never write readable buffers).
 */
export function copyToSegments(
  memory: GuestMemory,
  segments: readonly BufferSegment[],
  offset: number,
  src: Uint8Array,
  tags?: Uint32Array | number,
): number {
  return forEachSegmentSpan(segments, offset, src.length, (s, skip, n, done) => {
    memory.write(
      s.addr + skip,
      src.subarray(done, done + n),
      typeof tags === "number" || tags === undefined ? tags : tags.subarray(done, done + n),
    );
    return true;
  });
}
