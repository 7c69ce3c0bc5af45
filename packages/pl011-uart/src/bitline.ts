/**
 * A serial line at bit level, for peers whose line settings differ from the UART's
 * (pl011 reference §5, §6.3; TRM "UART operation"): frames as bit sequences on a timeline
 * (idle = 1), and a receiver that waits for a falling edge, validates the start bit and
 * samples every bit mid-cell at its own bit period. This is how a mismatch such as an
 * 8N1 terminal talking to a UART programmed 8O1 turns into parity and framing errors, and
 * back-to-back frames into garbage when the receiver misses the next start edge.
 */
import type { FrameFormat } from "./line.js";

/** One frame on the line: `bits[k]` holds from `start + k·bitNs` to `start + (k+1)·bitNs`. */
export interface LineFrame {
  readonly start: number;
  readonly bitNs: number;
  readonly bits: Uint8Array;
  readonly tag: number;
}

function parityBit(data: number, dataBits: number, parity: FrameFormat["parity"]): number {
  let ones = 0;
  for (let i = 0; i < dataBits; i++) ones += (data >> i) & 1;
  switch (parity) {
    case "odd":
      return ones % 2 === 0 ? 1 : 0;
    case "even":
      return ones % 2;
    case "mark":
      return 1;
    default:
      return 0;
  }
}

/** The bits a transmitter puts on the line for `byte` (start, data LSB first, parity, stop). */
export function encodeFrame(
  byte: number,
  format: FrameFormat,
  error?: "framing" | "parity" | "break",
): Uint8Array {
  const withParity = format.parity !== "none";
  const length = 1 + format.dataBits + (withParity ? 1 : 0) + format.stopBits;
  if (error === "break") return new Uint8Array(2 * length); // held low for two frames
  const bits = new Uint8Array(length);
  let k = 1;
  for (let i = 0; i < format.dataBits; i++) bits[k++] = (byte >> i) & 1;
  if (withParity) {
    const p = parityBit(byte, format.dataBits, format.parity);
    bits[k++] = error === "parity" ? p ^ 1 : p;
  }
  for (let i = 0; i < format.stopBits; i++) bits[k++] = error === "framing" ? 0 : 1;
  return bits;
}

/** What a receiver made of one frame. */
export interface SampledFrame {
  readonly data: number;
  readonly framingError: boolean;
  readonly parityError: boolean;
  readonly breakCondition: boolean;
  /** Time of the stop-bit sample, when the receiver re-arms. */
  readonly stopSample: number;
}

/** The frames of one direction of a serial line, in time order. */
export class BitLine {
  private readonly frames: LineFrame[] = [];
  private head = 0;

  get endTime(): number {
    const last = this.frames[this.frames.length - 1];
    return last ? last.start + last.bits.length * last.bitNs : 0;
  }

  /** Frames that start at or after `time`. */
  framesFrom(time: number): number {
    let n = 0;
    for (let i = this.frames.length - 1; i >= this.head && this.frames[i]!.start >= time; i--) n++;
    return n;
  }

  append(frame: LineFrame): void {
    this.frames.push(frame);
  }

  /** Line level at time `t` (idle high outside frames). */
  level(t: number): number {
    const frame = this.frameAt(t);
    if (!frame) return 1;
    return frame.bits[Math.floor((t - frame.start) / frame.bitNs)]!;
  }

  /** The frame covering `t`, if any. */
  frameAt(t: number): LineFrame | undefined {
    for (let i = this.head; i < this.frames.length; i++) {
      const f = this.frames[i]!;
      if (t < f.start) return undefined;
      if (t < f.start + f.bits.length * f.bitNs) return f;
    }
    return undefined;
  }

  /** The first 1→0 transition at or after `from`, among the frames known now. */
  nextFallingEdge(from: number): { time: number; tag: number } | undefined {
    for (let i = this.head; i < this.frames.length; i++) {
      const f = this.frames[i]!;
      const end = f.start + f.bits.length * f.bitNs;
      if (end <= from) continue;
      for (let k = 0; k < f.bits.length; k++) {
        const t = f.start + k * f.bitNs;
        if (t < from || f.bits[k] !== 0) continue;
        const before = k > 0 ? f.bits[k - 1]! : this.level(t - 1e-6);
        if (before === 1) return { time: t, tag: f.tag };
      }
    }
    return undefined;
  }

  /** Receive one frame whose start edge is at `edge`, sampling mid-cell every `bitNs`. */
  sample(edge: number, bitNs: number, format: FrameFormat): SampledFrame | undefined {
    const at = (k: number) => edge + (k + 0.5) * bitNs;
    if (this.level(at(0)) !== 0) return undefined; // false start: glitch shorter than ½ bit
    let data = 0;
    let k = 1;
    for (let i = 0; i < format.dataBits; i++) data |= this.level(at(k++)) << i;
    let parityError = false;
    let parityLevel = 0;
    if (format.parity !== "none") {
      parityLevel = this.level(at(k++));
      parityError = parityLevel !== parityBit(data, format.dataBits, format.parity);
    }
    const stopSample = at(k);
    const stop = this.level(stopSample);
    const breakCondition = data === 0 && stop === 0 && parityLevel === 0;
    return { data, framingError: stop === 0, parityError, breakCondition, stopSample };
  }

  /** Forget frames that ended before `time`. */
  prune(time: number): void {
    while (this.head < this.frames.length) {
      const f = this.frames[this.head]!;
      if (f.start + f.bits.length * f.bitNs > time) break;
      this.head++;
    }
    if (this.head > 256 && this.head * 2 > this.frames.length) {
      this.frames.splice(0, this.head);
      this.head = 0;
    }
  }
}
