/**
 * The device model's public data types: construction options, what the peer sends and sees
 * on the wire, modem inputs and the observability counters (pl011 reference §11 item 9).
 */
import type { DeviceHost } from "@vmmux/microkit-pd";
import type { FrameFormat } from "./line.js";
import type { TransmitSink } from "./output.js";
import type { Pl011Revision } from "./registers.js";

/** `hardware` follows the TRM; `qemu` follows QEMU's model (pl011 reference §8). */
export type Pl011Variant = "hardware" | "qemu";

export interface Pl011Options {
  readonly host: DeviceHost;
  /** Physical interrupt number driven as a level signal (QEMU virt: SPI 1 = INTID 33). */
  readonly irq: number;
  /** Default `hardware`. */
  readonly variant?: Pl011Variant;
  /** Default `r1p5` (32-entry FIFOs) for hardware, `r1p1` (16, QEMU's IDs) for qemu. */
  readonly revision?: Pl011Revision;
  /** UARTCLK in Hz; default 24 MHz as on QEMU virt (pl011 reference §1). */
  readonly uartClockHz?: number;
  /**
   * `baud` (default): characters take their frame time. `instant`: frame time 0, an
   * infinitely fast line with otherwise unchanged register behaviour (benchmarks).
   */
  readonly timing?: "baud" | "instant";
  /**
   * Keep every transmitted character in `Pl011Device.transmitted`; default true unless a
   * {@link transmitSink} is given (then the device retains nothing per character).
   */
  readonly recordTransmitted?: boolean;
  /** Allocation-free receiver of every transmitted character (see {@link TransmitSink}). */
  readonly transmitSink?: TransmitSink;
  /**
   * `true`: the device's whole state machine runs at each transmitted character's end.
   * `false` (default): arithmetic draining (`tx.ts`): the same timer at each character's end
   * only writes its trace record and arms the next one; characters are accounted at the next
   * register access, modem change, `settle()`, TX level crossing (with TXIM set), drain end,
   * or at each end while loopback or listeners see every character. Wire times, interrupt
   * edges, register reads, counters, trace records and host events are identical. Ignored by
   * the `qemu` variant and with `timing: "instant"`.
   */
  readonly exactCharacterEvents?: boolean;
  /**
   * Baud rate the peer uses while the UART has no valid divisor latched (before the
   * driver programs it); default 115200. Otherwise the peer follows the UART's settings.
   */
  readonly peerBaud?: number;
  /** Name used in device traces; default `pl011`. */
  readonly name?: string;
  /**
   * A peer with its own fixed line settings (a terminal set to 115200 8N1, say). The line is
   * then modelled bit by bit in both directions, so a format or rate mismatch produces the
   * errors and garbage it would on hardware. Default: the peer follows the UART's settings.
   * Ignored by the `qemu` variant and with `timing: "instant"`.
   */
  readonly peer?: PeerSettings;
}

/** Fixed line settings of the peer. */
export interface PeerSettings {
  readonly baud: number;
  /** Default 8N1. */
  readonly format?: FrameFormat;
}

/** What a receiver on the other end decoded from one frame. */
export interface PeerView {
  readonly byte: number;
  readonly framingError: boolean;
  readonly parityError: boolean;
}

/** A character (or a break condition) that left the UART on its TX line. */
export interface WireByte {
  readonly kind: "byte" | "break";
  /** Data bits as sent (masked to the word length); 0 for a break. */
  readonly byte: number;
  /** Provenance tag written with the DR store (0 = untagged). */
  readonly tag: number;
  /** Start-bit edge, ns. */
  readonly start: number;
  /** End of the last stop bit, ns. */
  readonly end: number;
  /** Frame format in force, e.g. `8N1`. */
  readonly format: string;
  /** With a {@link PeerSettings peer}: what its receiver decoded from this frame alone. */
  readonly peer?: PeerView;
}

/** Options of one character sent by the peer towards the UART. */
export interface WireSendOptions {
  /** Time the peer starts sending (start-bit edge); default now. Queued behind earlier frames. */
  readonly at?: number;
  /** Provenance tag carried into the RX FIFO beside every byte of this call. */
  readonly tag?: number;
  /** One provenance tag per byte (overrides `tag`). */
  readonly tags?: ArrayLike<number>;
  /** Line condition injected into this frame (reference §6.3). */
  readonly error?: "framing" | "parity";
}

/** A line condition carried by a received frame. */
export type LineCondition = "framing" | "parity" | "break" | undefined;

/** Modem status inputs (true = asserted, i.e. the active-low pin is low). */
export interface ModemInputs {
  readonly cts: boolean;
  readonly dsr: boolean;
  readonly dcd: boolean;
  readonly ri: boolean;
}

/** Observability counters (pl011 reference §11 item 9); R1/R2/R4 name sddf-serial §10 rows. */
export interface Pl011Counters {
  /** Frames whose stop bit was sampled by an enabled receiver. */
  rxFrames: number;
  /** Characters stored in the RX FIFO. */
  rxStored: number;
  /** R1: characters lost because the RX FIFO was full. */
  rxOverrun: number;
  /** R2: characters lost because the receiver was disabled or had no valid baud clock. */
  rxWhileDisabled: number;
  /** R2: unread characters discarded by an RX FIFO reset (QEMU FEN toggle). */
  rxFlushed: number;
  /** R4 at the device: characters stored with each error flag. */
  rxFramingErrors: number;
  rxParityErrors: number;
  rxBreaks: number;
  /** DR writes accepted into the TX FIFO (or sent, on QEMU). */
  txWritten: number;
  /** DR writes discarded because the TX FIFO was full. */
  txDroppedFull: number;
  /** TX FIFO entries discarded by clearing FEN (TRM: flush). */
  txFlushed: number;
  /** Characters that left on the TX line. */
  txEmitted: number;
  /** Rising edges of the interrupt line. */
  irqAssertions: number;
  /** Ignored register accesses (see diagnostics). */
  badAccesses: number;
}

export function newCounters(): Pl011Counters {
  return {
    rxFrames: 0,
    rxStored: 0,
    rxOverrun: 0,
    rxWhileDisabled: 0,
    rxFlushed: 0,
    rxFramingErrors: 0,
    rxParityErrors: 0,
    rxBreaks: 0,
    txWritten: 0,
    txDroppedFull: 0,
    txFlushed: 0,
    txEmitted: 0,
    irqAssertions: 0,
    badAccesses: 0,
  };
}
