/**
 * The deliberately broken variants `pnpm fuzz --broken` runs, so a campaign is shown to fail:
 * a transport that drops a notification (virtio-core's `DroppedNotifyTransport`) and a console
 * that sends device-writable transmit buffers (virtio-console's `sendsWritableBuffers`).
 */
import type { ConsoleDefectSwitches } from "@vmmux/virtio-console";
import { PLANTED_BUGS } from "@vmmux/virtio-console/testing";
import { DroppedNotifyTransport, type TransportFactory } from "@vmmux/virtio-core/testing";

/** The transport a campaign runs with under `variant`, or undefined for the real one. */
export function brokenTransport(variant: string | undefined): TransportFactory | undefined {
  return variant === "dropped-notify" ? (o) => new DroppedNotifyTransport(o) : undefined;
}

/** The console defects a campaign runs with under `variant` (none for the real console). */
export function brokenConsoleDefects(variant: string | undefined): Partial<ConsoleDefectSwitches> {
  return variant === "writable-buffers" ? PLANTED_BUGS.sendsWritableBuffers : {};
}
