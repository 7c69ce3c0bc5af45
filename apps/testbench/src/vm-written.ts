/**
 * What a model VM guest wrote, as the oracles read it: its boots' transcripts end to end (for
 * the wire judge, as they grow) and its tags made lazily. Kept apart from the guest's build so
 * that no closure a run's result keeps names the guest's VM (and with it the whole system).
 */
import type { LinuxGuest } from "@vmmux/vmm";
import type { WrittenView } from "./stream/wire-judge.js";

/**
 * `enqueuedTags` (made on first read) and `enqueuedTagChunks` over `written`. Made here, not in
 * `linuxGuest`: a closure made there would keep its VM, so a run's result would keep the whole
 * system (a real guest's RAM with it) for as long as it lives.
 */
export function writtenTags(written: ReturnType<typeof LinuxGuest.joined>): PropertyDescriptorMap {
  return {
    enqueuedTags: { get: () => written.tags, enumerable: true, configurable: true },
    enqueuedTagChunks: {
      value: () => written.tagChunks(),
      enumerable: true,
      writable: true,
      configurable: true,
    },
  };
}

/** The boots' written transcripts end to end, as they grow. */
export function bootsWritten(all: readonly LinuxGuest[]): WrittenView {
  /** The boot holding position `i`, and where its transcript starts. */
  const locate = (i: number) => {
    let from = 0;
    for (const g of all) {
      const n = g.writtenLog.length;
      if (i < from + n) return { log: g.writtenLog, at: i - from };
      from += n;
    }
    throw new RangeError(`position ${i} is past the transcript`);
  };
  return {
    get length() {
      let n = 0;
      for (const g of all) n += g.writtenLog.length;
      return n;
    },
    byteAt: (i) => {
      if (all.length === 1) return all[0]!.writtenLog.byteAt(i);
      const { log, at } = locate(i);
      return log.byteAt(at);
    },
    tagAt: (i) => {
      if (all.length === 1) return all[0]!.writtenLog.tagAt(i);
      const { log, at } = locate(i);
      return log.tagAt(at);
    },
  };
}
