/** A guest trace looped into a long session (a scenario guest's `repeat`). */
import type { Asciicast, AsciicastEvent } from "../asciicast.js";

/**
 * `cast` played `repeat.times` times at `repeat.speed`: each copy starts `repeat.gap` seconds
 * after the previous copy's last event (the events share their strings, so a long loop costs
 * one small record per event).
 */
export function looped(
  cast: Asciicast,
  repeat: { readonly times: number; readonly gap: number; readonly speed: number } | undefined,
): Asciicast {
  if (repeat === undefined || cast.events.length === 0) return cast;
  if (repeat.times === 1 && repeat.speed === 1) return cast;
  const period = cast.events.at(-1)!.time / repeat.speed + repeat.gap;
  const events: AsciicastEvent[] = [];
  for (let k = 0; k < repeat.times; k++)
    for (const e of cast.events) events.push({ ...e, time: e.time / repeat.speed + k * period });
  return { ...cast, events };
}
