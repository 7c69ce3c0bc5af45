/**
 * The run's keyboard (issue 13 item 1): the scenario's explicit strokes merged with the typing
 * of every guest whose input mode is `trace` (its trace's `"i"` events), with switch sequences
 * inserted by {@link mergeTyping} so each byte reaches the guest that typed it at or after its
 * recorded time. An explicit stroke's `line` condition (framing, parity, break) rides along to
 * the UART's RX line (`Keyboard.send`).
 */
import { ORIGIN_KEYBOARD, provenanceTag } from "@vmmux/sddf-queues";
import type { SwitchMachineOptions } from "@vmmux/sddf-serial";
import type { KeyByte } from "./run.js";
import type { KeyStroke, Scenario, ScenarioGuest } from "./scenario.js";
import type { Keyboard } from "./system/build.js";
import { type MergedTyping, mergeTyping, type Typist } from "./typing.js";

/** The merge a run uses; tests may pass another (`RunVariants.typing`). */
export type TypingMerge = typeof mergeTyping;

/**
 * A `trace` guest's typing: its `"i"` events, shifted by its boot time for a Linux guest (its
 * trace's clock starts after boot), so no byte is typed before the guest's recorded moment.
 */
export function traceTyping(g: ScenarioGuest): KeyStroke[] {
  if (g.replaysTyping !== true) return [];
  const shift = g.kind === "vm" ? g.boot : 0;
  return g.trace.events
    .filter((e) => e.code === "i")
    .map((e) => ({ at: e.time + shift, text: e.data }));
}

/** The keyboard of a run of `scenario` on a virt_rx with `options`; `clients[k]` is guest k's client index. */
export function runKeyboard(
  scenario: Scenario,
  options: SwitchMachineOptions,
  clients: readonly number[],
  merge: TypingMerge = mergeTyping,
): MergedTyping {
  const typists: Typist[] = [];
  for (const [k, g] of scenario.guests.entries()) {
    const strokes = traceTyping(g);
    if (strokes.length > 0) typists.push({ client: clients[k] ?? k, label: g.name, strokes });
  }
  if (typists.length === 0) return { strokes: scenario.keyboard, switches: 0, escaped: 0 };
  const merged = merge(typists, scenario.keyboard, options);
  if (!scenario.keyboard.some((s) => s.line !== undefined)) return merged;
  return { ...merged, strokes: withLines(merged.strokes, scenario.keyboard) };
}

/**
 * The merged keyboard with each explicit stroke's line condition put back: the merge keeps
 * explicit strokes whole, in their order, and first among strokes of equal time, so the k-th
 * stroke equal in time and text to the next explicit one is that stroke.
 */
function withLines(merged: readonly KeyStroke[], explicit: readonly KeyStroke[]): KeyStroke[] {
  let next = 0;
  return merged.map((s) => {
    const e = explicit[next];
    if (e === undefined || e.at !== s.at || e.text !== s.text) return s;
    next++;
    return e.line === undefined ? s : { ...s, line: e.line };
  });
}

const encoder = new TextEncoder();

/**
 * Types `strokes` on the UART's RX line, each at its time with its line condition; returns
 * every byte as the receiver gets it (a break as 0x00, pl011 reference §6.3) with its tag.
 */
export function typeStrokes(strokes: readonly KeyStroke[], keyboard: Keyboard): KeyByte[] {
  const typed: KeyByte[] = [];
  for (const stroke of strokes) {
    const at = Math.round(stroke.at * 1e9);
    const bytes = encoder.encode(stroke.text);
    const first = keyboard.send(bytes, at, stroke.line);
    bytes.forEach((byte, i) => {
      const sent = stroke.line === "break" ? 0 : byte;
      typed.push({ byte: sent, tag: provenanceTag(ORIGIN_KEYBOARD, first + i), at });
    });
  }
  return typed;
}
