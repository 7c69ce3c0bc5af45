/**
 * One `GuestMemory` per guest RAM region, shared by the VMM (device side) and the guest
 * (driver side). Both reach the same Microkit memory region through their own mapping; the
 * provenance shadow (DESIGN.md "Provenance") lives in the `GuestMemory`, so both must get the
 * same instance for the tags a guest writes to be the tags the device reads.
 */
import type { MappedRegion } from "@vmmux/microkit-pd";
import { GuestMemory } from "@vmmux/virtio-core";
import { VmmError } from "./errors.js";

const registry = new WeakMap<ArrayBufferLike, Map<number, GuestMemory>>();

/** The guest-physical view of `region` at `guestBase`, the same object for every caller. */
export function sharedGuestMemory(
  region: Pick<MappedRegion, "buffer" | "byteOffset" | "size" | "name">,
  guestBase: number,
): GuestMemory {
  let byOffset = registry.get(region.buffer);
  if (byOffset === undefined) {
    byOffset = new Map();
    registry.set(region.buffer, byOffset);
  }
  const existing = byOffset.get(region.byteOffset);
  if (existing !== undefined) {
    const r = existing.regions[0];
    if (r?.base !== guestBase || r.size !== region.size)
      throw new VmmError(
        "VMM_BAD_CONFIG",
        `guest ram '${region.name}': already mapped at 0x${r?.base.toString(16)}, not 0x${guestBase.toString(16)}`,
      );
    return existing;
  }
  let memory: GuestMemory;
  try {
    memory = new GuestMemory({
      regions: [
        {
          base: guestBase,
          size: region.size,
          buffer: new Uint8Array(region.buffer, region.byteOffset, region.size),
        },
      ],
      provenance: true,
    });
  } catch (error) {
    throw new VmmError(
      "VMM_BAD_CONFIG",
      `guest ram '${region.name}': ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  byOffset.set(region.byteOffset, memory);
  return memory;
}
