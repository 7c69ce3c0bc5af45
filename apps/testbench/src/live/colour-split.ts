/**
 * Splits a live terminal's byte stream by virt_tx's colour framing (sddf-serial §5.2): text
 * between client k's colour-start code and the reset code is client k's. Used by the live
 * tests to say which guest printed what on the shared terminal; with colour off everything
 * lands in `other`.
 */
import { COLOUR_BEGIN_LEN, COLOUR_END, colourStart } from "@vmmux/sddf-serial";

export interface ColourSplit {
  /** Text per client index. */
  readonly clients: string[];
  /** Text outside any colour frame (virt_tx's begin string, our own messages). */
  readonly other: string;
}

export function splitByColour(terminal: string, clients: number): ColourSplit {
  const starts = Array.from({ length: clients }, (_, k) => String.fromCharCode(...colourStart(k)));
  const end = String.fromCharCode(...COLOUR_END);
  const texts = Array.from({ length: clients }, () => "");
  let other = "";
  let current = -1;
  for (let i = 0; i < terminal.length; ) {
    if (terminal.startsWith(end, i)) {
      current = -1;
      i += end.length;
      continue;
    }
    const k = starts.findIndex((s) => terminal.startsWith(s, i));
    if (k >= 0) {
      current = k;
      i += COLOUR_BEGIN_LEN;
      continue;
    }
    const ch = terminal.charAt(i);
    if (current >= 0) texts[current] = `${texts[current]}${ch}`;
    else other += ch;
    i++;
  }
  return { clients: texts, other };
}
