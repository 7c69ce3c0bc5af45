/**
 * The two behaviours of the device as policy objects, chosen once at construction:
 * `hardware` follows the TRM (pl011 reference §3–§7) and `qemu` follows QEMU's model
 * (reference §8, in `qemu.ts`). A policy supplies the receiver's rules, builds the
 * transmitter and the wire adapter, and applies an LCR_H write to the data paths.
 */
import { BitWire } from "./bitwire.js";
import type { LineCondition, Pl011Options, Pl011Variant } from "./device-types.js";
import type { TaggedFifo } from "./fifo.js";
import { divisorValid } from "./line.js";
import type { TransmitOutput } from "./output.js";
import type { RegisterFile } from "./regfile.js";
import { Dr, Int, type Pl011Revision, Reg, Rsr } from "./registers.js";
import { parityChecked, type Receiver, type RxRules } from "./rx.js";
import { FifoTransmitter, type FifoTransmitterOptions, type Transmitter } from "./tx.js";
import { type PeerWire, TimedFrameWire } from "./wire.js";

/** What a policy needs to build the variant's transmitter and wire. */
export interface PartsContext {
  readonly regs: RegisterFile;
  readonly rx: Receiver;
  readonly txFifo: TaggedFifo;
  readonly output: TransmitOutput;
  readonly instant: boolean;
  readonly peerBaud: number;
  readonly options: Pl011Options;
}

/** The device's data paths, as an LCR_H write sees them. */
export interface DeviceParts {
  readonly regs: RegisterFile;
  readonly rx: Receiver;
  readonly tx: Transmitter;
  readonly wire: PeerWire;
}

export interface Pl011Behaviour extends RxRules {
  readonly variant: Pl011Variant;
  readonly defaultRevision: Pl011Revision;
  /** FIFO depth with FEN set, given the revision's depth. */
  fifoDepth(revisionDepth: number): number;
  makeWire(ctx: PartsContext): PeerWire;
  makeTransmitter(ctx: PartsContext, wire: PeerWire): Transmitter;
  /** Side effects of an LCR_H write on the data paths, after the divisor was latched. */
  lineControlWritten(parts: DeviceParts, old: number, value: number): void;
}

/** The hardware transmitter's options from the device options. */
export function transmitterOptions(ctx: PartsContext, wire: PeerWire): FifoTransmitterOptions {
  return {
    instant: ctx.instant,
    decode: wire instanceof BitWire ? wire.decode.bind(wire) : null,
    exactCharacterEvents: ctx.options.exactCharacterEvents ?? false,
  };
}

/** The real PL011 (TRM r1p5): IFLS levels, crossing interrupts, RT, overrun, errors. */
export const HARDWARE_BEHAVIOUR: Pl011Behaviour = {
  variant: "hardware",
  defaultRevision: "r1p5",
  receiveTimeout: true,
  fifoDepth: (revisionDepth) => revisionDepth,
  raisedOnStore(before, regs) {
    // RX on the upward crossing of the level (reference §7).
    const level = regs.iflsRxLevel();
    return before < level && before + 1 >= level ? Int.RX : 0;
  },
  clearedByRead(remaining, regs) {
    return (remaining < regs.iflsRxLevel() ? Int.RX : 0) | (remaining === 0 ? Int.RT : 0);
  },
  // RSR FE/PE/BE describe the character just read; OE is set at the overrun itself (§3.2).
  rsrAfterRead: (rsr, status) => (rsr & Rsr.OE) | (status & 0x7),
  errorBits(condition: LineCondition, regs) {
    if (condition === "framing") return Dr.FE;
    if (condition === "parity" && parityChecked(regs)) return Dr.PE;
    return 0;
  },
  makeWire(ctx) {
    const { options, instant } = ctx;
    if (options.peer && !instant) {
      const format = options.peer.format ?? { dataBits: 8, parity: "none", stopBits: 1 };
      return new BitWire(ctx.regs, ctx.rx, options.peer.baud, format);
    }
    return new TimedFrameWire(ctx.regs, ctx.rx, instant, ctx.peerBaud);
  },
  makeTransmitter(ctx, wire) {
    return new FifoTransmitter(
      ctx.regs,
      ctx.txFifo,
      ctx.rx,
      ctx.output,
      transmitterOptions(ctx, wire),
    );
  },
  lineControlWritten({ regs, tx }, old, value) {
    tx.lineControlWritten(old, value);
    if (!divisorValid(regs.latched)) {
      regs.diagnose(
        "divisor-invalid",
        Reg.LCR_H,
        `latched divisor IBRD=${regs.latched.ibrd} FBRD=${regs.latched.fbrd} is invalid`,
      );
    }
    tx.start();
    regs.updateIrq();
  },
};
