/**
 * Where a `vm` guest's typed bytes went past its sDDF RX queue (issue 13 item 5), from the
 * counters of the parts that can keep or drop them: the VMM's console device (libvmm discards
 * input while the receive queue is not ready, L14, reference virtio §4.9 step 1; the hardened
 * device holds it, bounded), the guest's virtio_console driver (buffers returned while
 * `add_port` runs are flushed, §5.2 "Window"; a port nobody opened discards, §3.5) and the
 * guest's tty (input typed before a process opened it is flushed).
 */
import type { LinuxGuest, VmmProgram } from "@vmmux/vmm";

/** What became of the input that reached a guest's console device, by named place. */
export interface InputFates {
  /** Virtual ns when the guest's console driver finished its probe (null: never). */
  readonly consoleReadyAt: number | null;
  /** libvmm: dequeued and discarded while the receive queue was not ready (L14, R8). */
  readonly deviceDiscardedNotReady: number;
  /** Hardened: kept before the guest could take it (delivered later unless dropped below). */
  readonly deviceHeld: number;
  /** Hardened: held when the run stopped (never handed to the guest). */
  readonly deviceHeldAtEnd: number;
  /** Hardened: beyond the pre-ready bound, dropped and counted (R8). */
  readonly deviceOverflow: number;
  /** The guest's driver flushed them: returned while `add_port` ran (`flush_bufs`, §5.2). */
  readonly driverFlushedBeforePort: number;
  /** The guest's driver discarded them: nobody had the port open (`discard_port_data`). */
  readonly driverDiscardedClosedPort: number;
  /** Written into the guest's receive buffers, not yet read by its driver at the end. */
  readonly inGuestBuffers: number;
  /** The guest's tty threw them away: they came before a process opened it. */
  readonly ttyFlushedOnOpen: number;
}

/** The fates of a Linux guest model's input on `vmm`'s console (null when nothing is known). */
export function vmInputFates(
  vmm: VmmProgram,
  boots: readonly LinuxGuest[],
  current: LinuxGuest | undefined,
): InputFates | null {
  const device = vmm.device;
  if (device === undefined) return null;
  const c = device.counters(0);
  let received = 0;
  let flushed = 0;
  let discarded = 0;
  for (const g of boots) {
    const d = g.driver?.counters;
    if (d === undefined) continue;
    received += d.bytesReceived;
    flushed += d.bytesFlushedBeforePort;
    discarded += d.bytesDiscardedClosedPort;
  }
  const ready = current?.consoleUpAt;
  return {
    consoleReadyAt: ready === undefined ? null : ready,
    deviceDiscardedNotReady: c.rxDiscardedNotReady,
    deviceHeld: c.rxHeldBeforeReady,
    deviceHeldAtEnd: device.heldInput(0),
    deviceOverflow: c.rxOverflowBeforeReady,
    driverFlushedBeforePort: flushed,
    driverDiscardedClosedPort: discarded,
    inGuestBuffers: Math.max(0, c.rxBytes - received - flushed - discarded),
    // The model guest's tty is open from boot (`Tty`'s default): it flushes nothing.
    ttyFlushedOnOpen: 0,
  };
}
