/**
 * A peer PD that corrupts a shared sDDF index (sddf-serial §2.3) is contained by the console:
 * counted in `peerErrors`, never thrown, and forgotten once the peer's index is sane again,
 * whether the queue handles throw or break.
 */
import { describe, expect, it } from "vitest";
import { ConsoleRig, runGuest } from "./testing/rig.js";

/** virt_rx writes `value` into the shared `tail` of port 0's RX queue; returns the undo. */
function corruptTail(rig: ConsoleRig, value: number): () => void {
  const view = new DataView(rig.serial[0]!.rxRegion.buffer);
  const before = view.getUint32(0, true);
  view.setUint32(0, value, true);
  return () => view.setUint32(0, before, true);
}

describe("console: corrupt peer indices", () => {
  for (const policy of ["throw", "break"] as const) {
    it(`counts a corrupt RX tail from virt_rx and recovers when it is sane (${policy})`, () => {
      const rig = new ConsoleRig({ profile: "hardened", onCorruptIndex: policy });
      runGuest(rig.driver.probe());
      const restore = corruptTail(rig, 0x8000_0000);
      expect(() => rig.device.serialRxSignalled(0)).not.toThrow();
      expect(rig.device.peerErrors).toBe(1);
      expect(rig.device.lastPeerError).toMatch(/tail/);
      restore();
      rig.typeInput(new TextEncoder().encode("ok"), 3);
      expect(rig.device.peerErrors).toBe(1);
      expect(rig.device.counters(0).rxBytes).toBe(2);
    });
  }
});
