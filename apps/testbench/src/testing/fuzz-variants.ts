/**
 * The deliberately broken variants `pnpm fuzz --broken` runs, so a campaign is shown to fail:
 * a transport that drops a notification (virtio-core's `DroppedNotifyTransport`) and a console
 * that sends device-writable transmit buffers (virtio-console's `sendsWritableBuffers`), and a VMM
 * that never answers a guest's access to unmapped memory (vmm's `unansweredUnmappedVmm`).
 */
import type { ConsoleDefectSwitches } from "@vmmux/virtio-console";
import { PLANTED_BUGS } from "@vmmux/virtio-console/testing";
import { DroppedNotifyTransport, type TransportFactory } from "@vmmux/virtio-core/testing";
import { unansweredUnmappedVmm } from "@vmmux/vmm/testing";
import type { RunVariants } from "../run.js";

/** The transport a campaign runs with under `variant`, or undefined for the real one. */
export function brokenTransport(variant: string | undefined): TransportFactory | undefined {
  return variant === "dropped-notify" ? (o) => new DroppedNotifyTransport(o) : undefined;
}

/** The console defects a campaign runs with under `variant` (none for the real console). */
export function brokenConsoleDefects(variant: string | undefined): Partial<ConsoleDefectSwitches> {
  return variant === "writable-buffers" ? PLANTED_BUGS.sendsWritableBuffers : {};
}

/** The system parts a campaign runs with under `variant` (undefined for the real system). */
export function brokenSystemVariants(variant: string | undefined): RunVariants | undefined {
  return variant === "unanswered-unmapped" ? { vmm: unansweredUnmappedVmm } : undefined;
}
