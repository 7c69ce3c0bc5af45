/**
 * UART line errors under a saturated wire (issue 11 item 3). A keystroke may carry a line
 * condition (`line: "framing" | "parity" | "break"`, `Keyboard.send`): the PL011 stores the
 * character with FE or PE, or a 0x00 with BE for a break (pl011 reference §6.3; PE only while
 * the receiver checks parity, i.e. the `reference` profile's 8O1). An RX FIFO that overflows
 * loses the incoming character (R1) and flags the next one stored with OE. The driver delivers
 * every flagged character and counts it (R4, sddf-serial §10).
 *
 * Here: what a scenario injected, which keyboard bytes the UART lost (from the device's
 * `rx-overrun` / `rx-lost` records in the kernel's event stream), and the run as virt_rx saw it,
 * those bytes removed, so routing can be judged byte by byte past an overrun.
 */
import type { RuntimeEvent } from "@vmmux/microkit-pd";
import { ORIGIN_KEYBOARD, provenanceTag, tagOrigin, tagSeq } from "@vmmux/sddf-queues";
import type { RunResult } from "../run.js";
import type { KeyStroke } from "../scenario.js";

const encoder = new TextEncoder();

/** Bytes a keyboard typed with each line condition. */
export interface InjectedLineErrors {
  readonly framing: number;
  readonly parity: number;
  readonly break: number;
}

/** How many bytes the strokes send with each line condition (a break stands for one byte). */
export function injectedLineErrors(strokes: readonly KeyStroke[]): InjectedLineErrors {
  const n = { framing: 0, parity: 0, break: 0 };
  for (const s of strokes) if (s.line !== undefined) n[s.line] += encoder.encode(s.text).length;
  return n;
}

/** Collects the provenance sequence numbers of keyboard bytes the UART lost, from kernel events. */
export class KeyLossWatch {
  readonly lost: number[] = [];

  check(e: RuntimeEvent): void {
    // The device's records of a character its receiver lost: R1 (overrun), R2 (receiver off).
    if (e.type !== "device" || !(e.name.endsWith(".rx-overrun") || e.name.endsWith(".rx-lost")))
      return;
    const tag = e.args?.tag;
    if (typeof tag === "number" && tagOrigin(tag) === ORIGIN_KEYBOARD) this.lost.push(tagSeq(tag));
  }
}

/**
 * The run as virt_rx saw its input: the keyboard without the bytes the UART lost, every
 * keyboard tag renumbered to its place in that keyboard, and no R1/R2 loss left to explain.
 * Routing judged on it checks each surviving byte; `undefined` when the losses are not all
 * known by tag (no event log, or a count that does not match R1 + R2).
 */
export function withoutLostKeys(run: RunResult): RunResult | undefined {
  const lost = run.keyboardLost;
  const { R1_rxFifoOverrun: r1, R2_rxDisabledOrFlushed: r2 } = run.loss.uart;
  if (lost == null || lost.length !== r1 + r2) return undefined;
  const gone = new Set(lost);
  const renumbered = new Map<number, number>();
  const keyboard: RunResult["keyboard"][number][] = [];
  for (const [seq, key] of run.keyboard.entries()) {
    if (gone.has(seq)) continue;
    renumbered.set(seq, keyboard.length);
    keyboard.push({ ...key, tag: provenanceTag(ORIGIN_KEYBOARD, keyboard.length) });
  }
  const retag = <B extends { readonly tag: number }>(b: B): B => {
    if (tagOrigin(b.tag) !== ORIGIN_KEYBOARD) return b;
    const seq = renumbered.get(tagSeq(b.tag));
    return seq === undefined ? b : { ...b, tag: provenanceTag(ORIGIN_KEYBOARD, seq) };
  };
  // The wire is the run's: copied as the run holds it (its lazy `wire` and the store that
  // `wireView` reads), where a spread would read `run.wire` and materialise every record.
  const seen = Object.defineProperties({}, Object.getOwnPropertyDescriptors(run)) as RunResult;
  return Object.assign(seen, {
    keyboard,
    keyboardLost: [],
    loss: {
      ...run.loss,
      uart: { ...run.loss.uart, R1_rxFifoOverrun: 0, R2_rxDisabledOrFlushed: 0 },
    },
    guests: run.guests.map((g) => ({
      ...g,
      received: g.received.map(retag),
      rxPending: g.rxPending.map(retag),
    })),
  });
}
