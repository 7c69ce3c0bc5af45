/**
 * Baud divisor arithmetic and character frame timing (pl011 reference §4–§5; sddf-serial §7.6).
 */
import { LcrH } from "./registers.js";

/** Divisor register values: `IBRD + FBRD/64 = UARTCLK / (16 × baud)`. */
export interface BaudDivisor {
  readonly ibrd: number;
  readonly fbrd: number;
}

/**
 * The divisor the TRM prescribes (pl011 reference §4): integer part truncated, fraction
 * rounded to 1/64, carrying into IBRD when it rounds up to 64.
 */
export function trmDivisor(uartClockHz: number, baud: number): BaudDivisor {
  const exact64 = Math.floor((uartClockHz * 4) / baud + 0.5);
  return { ibrd: Math.floor(exact64 / 64), fbrd: exact64 % 64 };
}

/**
 * What the sDDF driver's `set_baud` writes (sddf-serial §7.6): the divisor is truncated by
 * integer division, and the "fraction" written to FBRD is the whole divisor × 64, whose low
 * six bits (the only ones FBRD keeps) are zero. `fbrdWrite` is the raw value written.
 */
export function sddfDivisor(
  uartClockHz: number,
  baud: number,
): { ibrd: number; fbrdWrite: number } {
  const ibrd = Math.floor(uartClockHz / (16 * baud));
  return { ibrd, fbrdWrite: Math.floor(ibrd * 64 + 0.5) };
}

/** The rate a divisor generates (pl011 reference §4), in bits per second. */
export function generatedBaud(uartClockHz: number, divisor: BaudDivisor): number {
  const div64 = divisor.ibrd * 64 + divisor.fbrd;
  return div64 === 0 ? 0 : (uartClockHz * 4) / div64;
}

/**
 * A divisor is usable when 1 ≤ IBRD + FBRD/64 ≤ 65535 (pl011 reference §4): IBRD = 0 is
 * invalid and IBRD = 0xFFFF allows no fraction.
 */
export function divisorValid(divisor: BaudDivisor): boolean {
  if (divisor.ibrd === 0) return false;
  return divisor.ibrd < 0xffff || divisor.fbrd === 0;
}

/** Frame layout decoded from LCR_H (pl011 reference §3.5, §5). */
export interface FrameFormat {
  readonly dataBits: 5 | 6 | 7 | 8;
  readonly parity: "none" | "odd" | "even" | "mark" | "space";
  readonly stopBits: 1 | 2;
}

export function frameFormat(lcrH: number): FrameFormat {
  const dataBits = (5 + ((lcrH & LcrH.WLEN_MASK) >>> LcrH.WLEN_SHIFT)) as 5 | 6 | 7 | 8;
  let parity: FrameFormat["parity"] = "none";
  if (lcrH & LcrH.PEN) {
    const even = (lcrH & LcrH.EPS) !== 0;
    if (lcrH & LcrH.SPS) parity = even ? "space" : "mark";
    else parity = even ? "even" : "odd";
  }
  return { dataBits, parity, stopBits: lcrH & LcrH.STP2 ? 2 : 1 };
}

/** Bits on the line per character: start + data + parity + stop (pl011 reference §5). */
export function frameBits(format: FrameFormat): number {
  return 1 + format.dataBits + (format.parity === "none" ? 0 : 1) + format.stopBits;
}

/** Short name such as `8N1` or `8O1`. */
export function formatName(format: FrameFormat): string {
  const p = { none: "N", odd: "O", even: "E", mark: "M", space: "S" }[format.parity];
  return `${format.dataBits}${p}${format.stopBits}`;
}

/**
 * Duration of `count` bit periods as an exact fraction of nanoseconds:
 * one bit lasts `16 × divisor / UARTCLK` s = `(64·IBRD + FBRD) × 1e9 / (4 × UARTCLK)` ns.
 * Reduced by the gcd so that per-character remainders stay in safe-integer range.
 */
export interface DurationFraction {
  readonly num: number;
  readonly den: number;
}

function gcd(a: number, b: number): number {
  let x = a;
  let y = b;
  while (y !== 0) {
    const t = x % y;
    x = y;
    y = t;
  }
  return x;
}

export function bitPeriods(
  count: number,
  divisor: BaudDivisor,
  uartClockHz: number,
): DurationFraction {
  // Work in half bits so that `count` may end in .5 (the mid-cell stop-bit sample).
  const halves = Math.round(count * 2);
  const div64 = divisor.ibrd * 64 + divisor.fbrd;
  const g = gcd(1_000_000_000, uartClockHz * 4);
  let num = halves * div64 * (1_000_000_000 / g);
  let den = 2 * ((uartClockHz * 4) / g);
  if (!Number.isSafeInteger(num) || !Number.isSafeInteger(den)) {
    // Extreme clocks/divisors: fall back to whole nanoseconds (error < 1 ns per interval).
    return { num: Math.round((halves * div64 * 1e9) / (uartClockHz * 8)), den: 1 };
  }
  const h = gcd(num, den);
  num /= h;
  den /= h;
  return { num, den };
}

/** A duration rounded to whole nanoseconds. */
export function fractionNs(d: DurationFraction): number {
  return Math.round(d.num / d.den);
}

/**
 * A clock that advances by a fractional duration without drift: each step returns whole
 * nanoseconds and carries the remainder into the next step.
 */
export class FractionalClock {
  private remainder = 0;

  /** Forget the carried remainder (the line went idle; the next step starts afresh). */
  reset(): void {
    this.remainder = 0;
  }

  /**
   * Whole nanoseconds that the next `n` steps of `d` will add up to, without taking them:
   * the carried remainders telescope, so the sum is `⌊(remainder + n·num) / den⌋`.
   */
  peekSteps(d: DurationFraction, n: number): number {
    return Math.floor((this.remainder + n * d.num) / d.den);
  }

  /** Whole nanoseconds of one step of `d`, carrying the fractional part. */
  step(d: DurationFraction): number {
    const total = this.remainder + d.num;
    const whole = Math.floor(total / d.den);
    this.remainder = total - whole * d.den;
    return whole;
  }
}
