/** Routing of typed input (DESIGN.md oracle 2, sddf-serial §6.2). */
import { ORIGIN_KEYBOARD, tagOrigin, tagSeq } from "@vmmux/sddf-queues";
import { withoutLostKeys } from "../faults/line-errors.js";
import type { RunResult } from "../run.js";
import { show, type Verdict, verdict } from "./verdict.js";

/** Where virt_rx must send each keyboard byte (sddf-serial §6.2, scheme `sddf`). */
export function expectedRouting(
  run: Pick<RunResult, "keyboard" | "guests" | "switchChar" | "terminateNumChar">,
): { destination: readonly (number | null)[]; finalClient: number } {
  const isDigit = (c: number) => c >= 0x30 && c <= 0x39;
  const destination: (number | null)[] = [];
  let mode: "normal" | "switched" | "number" = "normal";
  let client = 0;
  let digits = "";
  for (const { byte } of run.keyboard) {
    let to: number | null = null;
    if (mode === "normal") {
      if (byte === run.switchChar) mode = "switched";
      else to = client;
    } else if (mode === "switched") {
      if (isDigit(byte)) {
        digits = String.fromCharCode(byte);
        mode = "number";
      } else {
        if (byte === run.switchChar) to = client;
        mode = "normal";
      }
    } else if (byte === run.terminateNumChar) {
      const n = Number.parseInt(digits, 10);
      if (n < run.guests.length) client = n;
      mode = "normal";
    } else if (isDigit(byte) && digits.length < 4) {
      digits += String.fromCharCode(byte);
    } else {
      mode = "normal";
    }
    destination.push(to);
  }
  return { destination, finalClient: client };
}

/**
 * Routing (oracle 2): each typed byte outside a switch sequence reaches exactly the guest
 * selected at that moment, in order; switch sequences reach no guest; an escaped switch
 * character does. A byte counts as reached when the guest read it or when it waits unread
 * in that guest's RX queue at the end. Missing bytes are allowed only as counted drops (R5 in
 * virt_rx, R8 in a guest console) or as bytes still before virt_rx when the run stopped.
 */
export function routing(run: RunResult): Verdict {
  const findings: string[] = [];
  const notes: string[] = [];
  const lostBefore = run.loss.uart.R1_rxFifoOverrun + run.loss.uart.R2_rxDisabledOrFlushed;
  if (lostBefore > 0) {
    // With every UART loss known by provenance, judge the run as virt_rx saw its input.
    const seen = withoutLostKeys(run);
    if (seen !== undefined) {
      const judged = routing(seen);
      return verdict(
        "routing",
        [...judged.findings],
        [
          `${lostBefore} keyboard byte(s) were lost in the UART (R1/R2), each known by its provenance; judged on the bytes virt_rx received`,
          ...judged.notes,
        ],
      );
    }
    notes.push(
      `${lostBefore} keyboard byte(s) were lost in the UART (R1/R2) before virt_rx saw them; the switch state cannot be predicted, routing not judged`,
    );
    return verdict("routing", findings, notes);
  }
  const { destination } = expectedRouting(run);
  let missing = 0;
  let unreadAtEnd = 0;
  for (const g of run.guests) {
    const expected = run.keyboard.map((_, i) => i).filter((i) => destination[i] === g.index);
    unreadAtEnd += g.rxPending.length;
    let at = 0;
    for (const r of [...g.received, ...g.rxPending]) {
      if (tagOrigin(r.tag) !== ORIGIN_KEYBOARD) {
        findings.push(
          `${g.name} received ${show(r.byte)} with provenance 0x${r.tag.toString(16)}, not from the keyboard`,
        );
        continue;
      }
      const seq = tagSeq(r.tag);
      const key = run.keyboard[seq];
      if (key === undefined || key.byte !== r.byte) {
        findings.push(
          `${g.name} received ${show(r.byte)} as keyboard byte #${seq}, which was typed as ${key === undefined ? "nothing" : show(key.byte)}`,
        );
        continue;
      }
      const found = expected.indexOf(seq, at);
      if (found < 0) {
        const where = destination[seq];
        findings.push(
          `keyboard byte #${seq} (${show(r.byte)}) reached ${g.name} but belonged to ${where === null || where === undefined ? "a switch sequence" : run.guests[where]!.name}${expected.includes(seq) ? " (again or out of order)" : ""}`,
        );
        continue;
      }
      missing += found - at;
      at = found + 1;
    }
    missing += expected.length - at;
  }
  const atR5 = run.loss.virtRx.R5;
  const atR8 = run.guests.reduce((n, g) => n + g.inputDropped, 0);
  const allowed = atR5 + atR8 + run.keyboardInFlight;
  if (missing > allowed) {
    findings.push(
      `${missing} typed byte(s) reached no guest; counted: ${atR5} at R5, ${atR8} at R8, ${run.keyboardInFlight} still before virt_rx`,
    );
  } else if (missing > 0) {
    notes.push(
      `${missing} typed byte(s) reached no guest, as counted: ${atR5} at R5 (client RX queue full), ${atR8} at R8 (dropped by the guest's console or its driver), ${run.keyboardInFlight} still before virt_rx`,
    );
  }
  if (unreadAtEnd > 0)
    notes.push(`${unreadAtEnd} typed byte(s) were still unread in guest RX queues at the end`);
  return verdict("routing", findings, notes);
}
