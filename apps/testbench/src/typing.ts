/**
 * One keyboard for several typists (DESIGN.md "Guests": a trace's `"i"` events are that guest's
 * typing, merged into the keyboard with switch sequences). A recorded pair of sessions was typed
 * on two consoles; on the modelled board both share one UART, so each typed byte must first
 * select its guest in virt_rx. The merge keeps every byte at or after its recorded time and in
 * each guest's own order, and inserts the switch sequence (sddf-serial reference §6.3) whenever
 * the next byte is for another guest than the one selected. Explicit keyboard strokes of the
 * scenario are kept as they are; the merge follows the selection they make by running them
 * through virt_rx's own state machine.
 */
import { SwitchMachine, type SwitchMachineOptions } from "@vmmux/sddf-serial";
import type { KeyStroke } from "./scenario.js";

/** One guest's typing: its 0-based client index in virt_rx and its strokes in recorded order. */
export interface Typist {
  readonly client: number;
  /** Names the typist in errors (the guest's name). */
  readonly label: string;
  readonly strokes: readonly KeyStroke[];
}

/** The merged keyboard and what the merge added. */
export interface MergedTyping {
  /** Sorted by time; strokes with equal times go on the wire in this order. */
  readonly strokes: readonly KeyStroke[];
  /** Switch sequences inserted. */
  readonly switches: number;
  /** Switch characters (or legacy `@`/`\`) escaped inside typed text so they reach the guest. */
  readonly escaped: number;
}

/** A merge that cannot keep its promise, with the stroke that breaks it. */
export class TypingMergeError extends Error {
  readonly code = "TYPING_MERGE";
  constructor(message: string) {
    super(message);
    this.name = "TypingMergeError";
  }
}

const LEGACY_SWITCH = "@";
const LEGACY_ESCAPE = "\\";

/** The bytes that select `client` under `options.scheme` (sddf-serial reference §6.3). */
export function switchSequence(client: number, options: SwitchMachineOptions): string {
  if (options.scheme === "sddf") {
    return `${String.fromCharCode(options.switchChar)}${client}${String.fromCharCode(options.terminateNumChar)}`;
  }
  // The legacy mux numbers clients from 1 with one digit: `@1`..`@9`.
  if (client > 8) {
    throw new TypingMergeError(
      `the legacy '@' switch scheme selects clients 1 to 9 only; client ${client + 1} cannot be typed to`,
    );
  }
  return `${LEGACY_SWITCH}${client + 1}`;
}

/**
 * Typed text with the scheme's special characters escaped so the guest receives them:
 * a doubled `switch_char` under sDDF (§6.2), a `\` before `@` or `\` under the legacy mux.
 */
function escapeTyped(
  text: string,
  options: SwitchMachineOptions,
): { text: string; escaped: number } {
  let escaped = 0;
  let out = "";
  const switchChar = String.fromCharCode(options.switchChar);
  for (const ch of text) {
    if (
      options.scheme === "sddf" ? ch === switchChar : ch === LEGACY_SWITCH || ch === LEGACY_ESCAPE
    ) {
      out += options.scheme === "sddf" ? switchChar : LEGACY_ESCAPE;
      escaped++;
    }
    out += ch;
  }
  return { text: out, escaped };
}

interface Pending {
  readonly at: number;
  /** Typist index, or -1 for an explicit stroke. */
  readonly typist: number;
  readonly text: string;
}

/**
 * Merges every typist's strokes and the scenario's explicit strokes into one keyboard.
 * Ties in time keep explicit strokes first, then typists in order, each in its own order.
 */
export function mergeTyping(
  typists: readonly Typist[],
  explicit: readonly KeyStroke[],
  options: SwitchMachineOptions,
): MergedTyping {
  for (const typist of typists) {
    if (
      !Number.isInteger(typist.client) ||
      typist.client < 0 ||
      typist.client >= options.numClients
    ) {
      throw new TypingMergeError(
        `${typist.label} is client ${typist.client}, but virt_rx has ${options.numClients} clients`,
      );
    }
  }
  const pending: Pending[] = [
    ...explicit.map((s) => ({ at: s.at, typist: -1, text: s.text })),
    ...typists.flatMap((t, i) => t.strokes.map((s) => ({ at: s.at, typist: i, text: s.text }))),
  ];
  // Array.prototype.sort is stable: equal times keep the order built above.
  pending.sort((a, b) => a.at - b.at);

  const machine = new SwitchMachine(options);
  const strokes: KeyStroke[] = [];
  let switches = 0;
  let escaped = 0;
  for (const stroke of pending) {
    if (stroke.typist < 0) {
      for (const byte of Buffer.from(stroke.text, "utf8")) machine.step(byte);
      strokes.push({ at: stroke.at, text: stroke.text });
      continue;
    }
    const typist = typists[stroke.typist] as Typist;
    if (machine.midSequence) {
      throw new TypingMergeError(
        `${typist.label} types at ${stroke.at} s while an explicit keyboard stroke has left a switch sequence unfinished`,
      );
    }
    if (machine.currentClient !== typist.client || machine.broadcasting) {
      const sequence = switchSequence(typist.client, options);
      for (const byte of Buffer.from(sequence, "latin1")) machine.step(byte);
      strokes.push({ at: stroke.at, text: sequence });
      switches++;
    }
    const typed = escapeTyped(stroke.text, options);
    escaped += typed.escaped;
    for (const byte of Buffer.from(typed.text, "utf8")) machine.step(byte);
    strokes.push({ at: stroke.at, text: typed.text });
  }
  return { strokes, switches, escaped };
}
