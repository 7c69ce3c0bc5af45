/**
 * The `vmmFeatures.multiport` knob: every VMM's hardened console offers
 * VIRTIO_CONSOLE_F_MULTIPORT with its one port (reference virtio §3.5), so Linux runs the
 * control handshake and opens the port with PORT_OPEN; libvmm (`reference`) offers VERSION_1
 * only (§4.4), whatever is asked.
 */
import type { VmmConfig } from "@vmmux/vmm";
import type { Knobs } from "../scenario.js";

/** `settings` with the knob's `multiport` added to its console features, when the knob is given. */
export function withMultiport<T extends Pick<VmmConfig, "features">>(settings: T, knobs: Knobs): T {
  const multiport = knobs.vmmFeatures?.multiport;
  if (multiport === undefined) return settings;
  return { ...settings, features: { ...settings.features, multiport } };
}
