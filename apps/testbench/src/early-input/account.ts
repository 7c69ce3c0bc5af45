/**
 * Every typed byte accounted for by name (issue 13 item 5): per guest, the bytes the keyboard
 * typed to it (virt_rx's table replayed, sddf-serial §6.2) equal the bytes its tty got plus
 * those still on their way and those dropped, each at a named place. The `input` oracle fails
 * when the sum does not close; the report prints the same account, early bytes (typed before
 * the guest's console was up) apart.
 */
import { ORIGIN_KEYBOARD, tagOrigin, tagSeq } from "@vmmux/sddf-queues";
import { expectedRouting } from "../oracles/routing.js";
import { type Verdict, verdict } from "../oracles/verdict.js";
import type { GuestRun, RunResult } from "../run.js";
import type { InputFates } from "./fates.js";

/** A place a typed byte can stop at, other than the guest's tty. */
export interface InputPlace {
  /** Stable name, as the loss points of sddf-serial §10 are named. */
  readonly name: string;
  readonly bytes: number;
  /** What the place is, in words. */
  readonly what: string;
  /** The guest itself threw the bytes away (its driver or tty), not the VMM or the serial path. */
  readonly byGuest: boolean;
  /** Bytes that still wait there (not lost). */
  readonly waiting: boolean;
}

export interface GuestInputAccount {
  readonly name: string;
  /** Keyboard bytes virt_rx was to route to this guest. */
  readonly typed: number;
  /** Of those, typed before the guest's console was up (all, when it never came up). */
  readonly early: number;
  readonly consoleReadyAt: number | null;
  /** Bytes the guest's tty received (its driver handed them on). */
  readonly delivered: number;
  readonly earlyDelivered: number;
  /** Held by the hardened device before the guest could take them (delivered later or below). */
  readonly heldFirst: number;
  readonly places: readonly InputPlace[];
  /** typed − delivered − every place; the run's system-wide places must cover what is left. */
  readonly unaccounted: number;
}

export interface InputAccount {
  readonly guests: readonly GuestInputAccount[];
  /** Places no guest owns: virt_rx's R5 drops and bytes still before virt_rx. */
  readonly system: readonly InputPlace[];
}

const place = (
  name: string,
  bytes: number,
  what: string,
  byGuest = false,
  waiting = false,
): InputPlace => ({ name, bytes, what, byGuest, waiting });

/** The places of a `vm` guest's console path (`fates.ts`), in path order. */
function fatePlaces(f: InputFates): InputPlace[] {
  return [
    place(
      "R8_deviceNotReadyDiscarded",
      f.deviceDiscardedNotReady,
      "the VMM's console discarded them, receive queue not ready (libvmm; reference virtio.md §4.9 step 1, line 575, and L14, line 622)",
    ),
    place(
      "R8_devicePreReadyOverflow",
      f.deviceOverflow,
      "the hardened console's pre-ready hold was full (bound hit, counted)",
    ),
    place(
      "deviceHeldAtEnd",
      f.deviceHeldAtEnd,
      "still held by the hardened console for the guest",
      false,
      true,
    ),
    place(
      "guestDriverFlushedInAddPort",
      f.driverFlushedBeforePort,
      "the guest's virtio_console driver flushed them: returned while add_port ran, before the port was listed (flush_bufs; reference virtio.md §5.2, line 679)",
      true,
    ),
    place(
      "guestDriverClosedPort",
      f.driverDiscardedClosedPort,
      "the guest's driver discarded them: nobody had the port open (discard_port_data)",
      true,
    ),
    place(
      "inGuestRxBuffers",
      f.inGuestBuffers,
      "in the guest's receive buffers, not yet read by its driver",
      false,
      true,
    ),
    place(
      "guestTtyFlushedOnOpen",
      f.ttyFlushedOnOpen,
      "the guest's tty flushed them: typed before a process opened it",
      true,
    ),
  ];
}

function fatesOf(g: GuestRun): InputFates | null | undefined {
  return g.inputFates;
}

/** The account of `run`'s typed input, per guest. */
export function inputAccount(run: RunResult): InputAccount {
  const { destination } = expectedRouting(run);
  const guests = run.guests.map((g): GuestInputAccount => {
    const fates = fatesOf(g);
    const ready = fates?.consoleReadyAt ?? null;
    const isEarly = (seq: number) => ready === null || run.keyboard[seq]!.at < ready;
    let typed = 0;
    let early = 0;
    destination.forEach((to, seq) => {
      if (to !== g.index) return;
      typed++;
      if (fates != null && isEarly(seq)) early++;
    });
    let delivered = 0;
    let earlyDelivered = 0;
    for (const r of g.received) {
      if (tagOrigin(r.tag) !== ORIGIN_KEYBOARD) continue;
      delivered++;
      if (fates != null && isEarly(tagSeq(r.tag))) earlyDelivered++;
    }
    const pending = g.rxPending.filter((r) => tagOrigin(r.tag) === ORIGIN_KEYBOARD).length;
    const places = [
      place(
        "unreadInClientRxQueue",
        pending,
        "in its sDDF RX queue, not yet taken by its console",
        false,
        true,
      ),
      ...(fates == null ? [] : fatePlaces(fates)),
    ];
    // A tty flush counts bytes the tty had received: they are part of `received`.
    const ttyFlushed = fates?.ttyFlushedOnOpen ?? 0;
    const accounted = delivered - ttyFlushed + places.reduce((n, p) => n + p.bytes, 0);
    return {
      name: g.name,
      typed,
      early,
      consoleReadyAt: ready,
      delivered: delivered - ttyFlushed,
      earlyDelivered,
      heldFirst: fates?.deviceHeld ?? 0,
      places,
      unaccounted: typed - accounted,
    };
  });
  const system = [
    place(
      "R5_clientRxFullDropped",
      run.loss.virtRx.R5,
      "virt_rx dropped them, the client's RX queue was full (sddf-serial §10 R5)",
    ),
    place(
      "beforeVirtRx",
      run.keyboardInFlight,
      "still on the line, in the UART's FIFO or the driver's RX queue",
      false,
      true,
    ),
  ];
  return { guests, system };
}

/** Whether some guest whose console path is counted was typed to before its console was up. */
export function typedEarly(run: RunResult): boolean {
  return inputAccount(run).guests.some((g, k) => g.early > 0 && fatesOf(run.guests[k]!) != null);
}

/**
 * The `input` oracle: per guest, typed = delivered + each named place, exactly; bytes no
 * guest's places hold must be covered by the system-wide places (R5, before virt_rx). A byte
 * found nowhere is a finding naming the guest.
 */
export function inputAccounting(run: RunResult): Verdict {
  const findings: string[] = [];
  const notes: string[] = [];
  const account = inputAccount(run);
  const shared = account.system.reduce((n, p) => n + p.bytes, 0);
  let missing = 0;
  for (const g of account.guests) {
    if (g.unaccounted < 0)
      findings.push(
        `${g.name}: ${-g.unaccounted} more byte(s) counted than were typed to it (counted twice)`,
      );
    else missing += g.unaccounted;
  }
  if (missing > shared) {
    const who = account.guests
      .filter((g) => g.unaccounted > 0)
      .map((g) => `${g.name} ${g.unaccounted}`)
      .join(", ");
    findings.push(
      `${missing - shared} typed byte(s) are in no named place (${who} not accounted for; system-wide: ${shared})`,
    );
  }
  for (const line of inputAccountLines(account)) notes.push(line.trim());
  return verdict("input", findings, notes);
}

/** The account as report lines. */
export function inputAccountLines(account: InputAccount): string[] {
  const out: string[] = [];
  const s = (ns: number | null) => (ns === null ? "never" : `${(ns / 1e9).toFixed(6)} s`);
  for (const g of account.guests) {
    const parts = [`delivered ${g.delivered}`];
    for (const p of g.places) if (p.bytes > 0) parts.push(`${p.name} ${p.bytes}`);
    if (g.unaccounted !== 0) parts.push(`unaccounted ${g.unaccounted}`);
    out.push(`  ${g.name}: typed ${g.typed} = ${parts.join(" + ")}`);
    if (g.early > 0 || g.heldFirst > 0)
      out.push(
        `    ${g.early} typed before its console was up (${s(g.consoleReadyAt)}): ${g.earlyDelivered} reached its tty${g.heldFirst > 0 ? `; the console held ${g.heldFirst} until the guest could take them` : ""}`,
      );
    for (const p of g.places)
      if (p.bytes > 0 && !p.waiting)
        out.push(`    ${p.name}: ${p.what}${p.byGuest ? " (the guest's own discard)" : ""}`);
  }
  const system = account.system.filter((p) => p.bytes > 0);
  if (system.length > 0)
    out.push(`  system: ${system.map((p) => `${p.name} ${p.bytes}`).join(" + ")}`);
  return out;
}
