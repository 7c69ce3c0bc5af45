/**
 * The two behaviours of each driver defect switch (config.ts `DriverDefects`), as separate
 * functions chosen once when the driver is built: the real sDDF driver's ("defective") and
 * the hardened fix. Register accesses go through the driver's `RegisterAccess`, each a
 * preemption point as in the driver itself.
 */
import { type MmioPort, type PdContext, type PdStep, work } from "@vmmux/microkit-pd";
import { chooseBehaviour } from "@vmmux/profiles";
import type { DriverDefects } from "./config.js";
import { sddfDivisor, trmDivisor } from "./line.js";
import { Dr, Fr, Int, LcrH, Reg } from "./registers.js";

const MMIO = work("mmio");

/** Bound on the init BUSY spin of the hardened driver. */
export const BUSY_SPIN_LIMIT = 1_000_000;

/** The divisor register values `set_baud` writes: IBRD, then the raw FBRD write. */
export type BaudWrite = (uartClockHz: number, baud: number) => { ibrd: number; fbrd: number };

/** One choice per switch, made once from the resolved switches. */
export interface DriverBehaviours {
  /** LCR_H after `uart_setup` sets the word length (step 4 of sddf-serial §7.2). */
  readonly wordLength: (lcrH: number) => number;
  /** LCR_H after the parity step (step 8). */
  readonly parity: (lcrH: number) => number;
  readonly baud: BaudWrite;
  /** Status left by earlier software, before enabling the UART. */
  readonly clearStaleStatus: (regs: MmioPort) => PdStep;
  /** What the driver does with a DR read that carries error flags (R4). */
  readonly reportErrors: (value: number, pd: PdContext) => void;
  /** Whether `tx_provide` leaves TXIM set, given that bytes remain in the queue. */
  readonly enableTxIm: (regs: MmioPort, remaining: boolean) => PdStep<boolean>;
  /** FR.BUSY polls before `uart_setup` gives up waiting. */
  readonly busySpinLimit: number;
  /** IRQ-loop passes before `handle_irq` returns with the line still asserted. */
  readonly irqPassLimit: number;
}

/** sddf-serial §7.7: the historical `3 < 5` ORs 1 (BRK) into LCR_H: 5-bit words, break held. */
const wordLengthWithBreak = (v: number) => v | LcrH.BRK;
/** pl011 §3.5: WLEN = 0b11, 8 data bits. */
const wordLength8 = (v: number) => v | (3 << LcrH.WLEN_SHIFT);

/** sddf-serial §7.2 step 8: the driver sets PEN (odd parity, 11-bit frames). */
const parityOn = (v: number) => v | LcrH.PEN;
/** 8N1, what the code comment intends. */
const parityOff = (v: number) => v & ~LcrH.PEN;

/** sddf-serial §7.6: integer-truncated divisor, FBRD written as IBRD × 64 (low bits 0). */
const truncatedBaud: BaudWrite = (clock, baud) => {
  const d = sddfDivisor(clock, baud);
  return { ibrd: d.ibrd, fbrd: d.fbrdWrite };
};
/** pl011 §4: the TRM divisor with its fraction rounded to 1/64. */
const trmBaud: BaudWrite = (clock, baud) => trmDivisor(clock, baud);

/** sddf-serial §7.2: the driver never writes UARTICR. */
function* keepStaleStatus(): PdStep {}
/** Hardened: clear stale status (boot-loader output, old errors) so no spurious IRQ follows. */
function* clearWithIcr(regs: MmioPort): PdStep {
  regs.write(Reg.ICR, 4, Int.ALL);
  yield MMIO;
}

/** sddf-serial §7.4, R4: error flags dropped silently. */
const ignoreErrors = () => {};
/** Hardened: the byte is still delivered, and the flags are reported. */
function logErrors(value: number, pd: PdContext): void {
  const kinds = [
    value & Dr.FE ? "framing" : "",
    value & Dr.PE ? "parity" : "",
    value & Dr.BE ? "break" : "",
    value & Dr.OE ? "overrun" : "",
  ].filter(Boolean);
  pd.debug(`UART|LOG: received 0x${(value & 0xff).toString(16)} with ${kinds.join(", ")} error`);
}

/** sddf-serial §7.7 (until 2025-08): TXIM only if FR.TXFF is still set when re-read. */
function* txImIfStillFull(regs: MmioPort, remaining: boolean): PdStep<boolean> {
  const fr = regs.read(Reg.FR, 4);
  yield MMIO;
  return remaining && (fr & Fr.TXFF) !== 0;
}
/** sddf-serial §7.5 (HEAD): TXIM exactly while bytes remain. */
function* txImWhileRemaining(_regs: MmioPort, remaining: boolean): PdStep<boolean> {
  return remaining;
}

/** Choose each switch's behaviour once (`@vmmux/profiles` `chooseBehaviour`). */
export function driverBehaviours(d: DriverDefects, maxIrqPasses: number): DriverBehaviours {
  return {
    wordLength: chooseBehaviour(d.lcrhWlenBug, wordLengthWithBreak, wordLength8),
    parity: chooseBehaviour(d.parityEnabled, parityOn, parityOff),
    baud: chooseBehaviour(d.baudFractionTruncated, truncatedBaud, trmBaud),
    clearStaleStatus: chooseBehaviour(d.noIcrWrites, keepStaleStatus, clearWithIcr),
    reportErrors: chooseBehaviour(d.errorBitsIgnored, ignoreErrors, logErrors),
    enableTxIm: chooseBehaviour(d.txImRequiresTxff, txImIfStillFull, txImWhileRemaining),
    busySpinLimit: chooseBehaviour(d.busySpinUnbounded, Number.POSITIVE_INFINITY, BUSY_SPIN_LIMIT),
    irqPassLimit: chooseBehaviour(d.irqLoopUnbounded, Number.POSITIVE_INFINITY, maxIrqPasses),
  };
}
