/**
 * The run's keyboard (issue 13 item 1): the scenario's explicit strokes merged with the typing
 * of every guest whose input mode is `trace` (its trace's `"i"` events), with switch sequences
 * inserted by {@link mergeTyping} so each byte reaches the guest that typed it at or after its
 * recorded time.
 */
import type { SwitchMachineOptions } from "@vmmux/sddf-serial";
import type { KeyStroke, Scenario, ScenarioGuest } from "./scenario.js";
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
  return merge(typists, scenario.keyboard, options);
}
