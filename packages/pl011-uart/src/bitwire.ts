/**
 * The bit-level wire adapter: a peer with its own fixed line settings (pl011 reference §5,
 * §6.3). Its frames go on a {@link BitLine} at the peer's rate; the UART's receiver waits
 * for a falling edge and samples at its own rate and format, so a mismatch produces the
 * errors and garbage hardware shows. It also decodes what the peer makes of each frame
 * the UART transmits.
 */
import type { TimerHandle } from "@vmmux/microkit-pd";
import { BitLine, encodeFrame } from "./bitline.js";
import type { LineCondition, PeerView } from "./device-types.js";
import { divisorValid, type FrameFormat, frameBits } from "./line.js";
import type { RegisterFile } from "./regfile.js";
import { Dr } from "./registers.js";
import type { Receiver } from "./rx.js";
import type { PeerWire } from "./wire.js";

export class BitWire implements PeerWire {
  private readonly line = new BitLine();
  private readonly bitNs: number;
  private searchFrom = 0;
  private sampleTimer: TimerHandle | null = null;

  constructor(
    private readonly regs: RegisterFile,
    private readonly rx: Receiver,
    peerBaud: number,
    private readonly peerFormat: FrameFormat,
  ) {
    this.bitNs = 1e9 / peerBaud;
  }

  send(
    bytes: ArrayLike<number>,
    at: number,
    tagOf: (i: number) => number,
    condition: LineCondition,
  ): void {
    for (let i = 0; i < bytes.length; i++) {
      const start = Math.max(at, this.regs.host.now(), this.line.endTime);
      this.line.append({
        start,
        bitNs: this.bitNs,
        bits: encodeFrame(bytes[i]! & 0xff, this.peerFormat, condition),
        tag: tagOf(i),
      });
      this.armReceiver();
    }
  }

  get backlog(): number {
    return this.line.framesFrom(this.regs.host.now());
  }

  lineChanged(): void {}

  fifoRoom(): void {}

  reset(): void {
    if (this.sampleTimer !== null) this.regs.host.cancel(this.sampleTimer);
    this.sampleTimer = null;
    this.searchFrom = this.regs.host.now();
  }

  /** What the peer's receiver reads from one UART frame (followed by an idle line). */
  decode(byte: number, start: number, end: number): PeerView {
    const bits = encodeFrame(byte, this.regs.format);
    const line = new BitLine();
    line.append({ start, bitNs: (end - start) / bits.length, bits, tag: 0 });
    const got = line.sample(start, this.bitNs, this.peerFormat)!;
    return { byte: got.data, framingError: got.framingError, parityError: got.parityError };
  }

  /** The UART's current bit period in ns, or the peer's while no divisor is latched. */
  private receiverBitNs(): number {
    const { latched, uartClockHz } = this.regs;
    if (!divisorValid(latched)) return this.bitNs;
    return ((latched.ibrd * 64 + latched.fbrd) * 1e9) / (uartClockHz * 4);
  }

  /**
   * Wait for the next start edge on the peer line and schedule the stop-bit sample. All
   * frames that can affect the samples are on the line by then, since sends are never
   * in the past.
   */
  private armReceiver(): void {
    if (this.sampleTimer !== null) return;
    const edge = this.line.nextFallingEdge(this.searchFrom);
    if (!edge) return;
    const host = this.regs.host;
    // The receiver's rate and format are those in force when the start edge arrives.
    this.sampleTimer = host.at(Math.max(host.now(), Math.ceil(edge.time)), () => {
      const bitNs = this.receiverBitNs();
      const format = this.regs.format;
      const stopSample = edge.time + (frameBits(format) - 0.5) * bitNs;
      this.sampleTimer = host.at(Math.max(host.now(), Math.ceil(stopSample)), () => {
        this.sampleTimer = null;
        this.sampleFrame(edge.time, edge.tag, bitNs, format);
        this.armReceiver();
      });
    });
  }

  private sampleFrame(edge: number, tag: number, bitNs: number, format: FrameFormat): void {
    const regs = this.regs;
    const usable = regs.receiverTakesLine && divisorValid(regs.latched);
    const frame = this.line.sample(edge, bitNs, format);
    if (!frame) {
      this.searchFrom = edge + bitNs / 2; // false start bit
      return;
    }
    this.searchFrom = frame.stopSample;
    this.line.prune(frame.stopSample - 64 * bitNs);
    if (!usable) {
      regs.counters.rxWhileDisabled++; // R2
      regs.host.trace(`${regs.name}.rx-lost`, { byte: frame.data, tag });
      return;
    }
    let entry = frame.data;
    if (frame.breakCondition) entry = Dr.BE;
    else {
      if (frame.framingError) entry |= Dr.FE;
      if (frame.parityError) entry |= Dr.PE;
    }
    this.rx.storeEntry(entry, tag);
  }
}
