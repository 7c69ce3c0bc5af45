/**
 * The peer's side of the RX line at frame level (pl011 reference §5, §6.2): frames queued
 * by the peer reach the receiver one at a time. {@link TimedFrameWire} is a matched terminal
 * on a real line (each frame is sampled at its stop bit, back to back, without drift);
 * {@link HeldBackWire} is QEMU's chardev, which offers input only while the FIFO has room
 * (reference §8, `can_receive`). The bit-level adapter is `bitwire.ts`.
 */
import type { TimerHandle } from "@vmmux/microkit-pd";
import type { LineCondition } from "./device-types.js";
import {
  bitPeriods,
  type DurationFraction,
  divisorValid,
  FractionalClock,
  fractionNs,
  frameBits,
} from "./line.js";
import type { RegisterFile } from "./regfile.js";
import type { Receiver } from "./rx.js";

/** The device's view of whatever drives its RX line. */
export interface PeerWire {
  /** Queue `bytes` from the peer, the first starting no earlier than `at`. */
  send(
    bytes: ArrayLike<number>,
    at: number,
    tagOf: (i: number) => number,
    condition: LineCondition,
  ): void;
  /** Characters queued by the peer that have not reached the receiver yet. */
  readonly backlog: number;
  /** The UART's control settings changed (CR, LCR_H): frames may move again. */
  lineChanged(): void;
  /** A DR read made room in the RX FIFO. */
  fifoRoom(): void;
  /** Drop the backlog and any frame in flight. */
  reset(): void;
}

interface PeerFrame {
  readonly byte: number;
  readonly tag: number;
  readonly at: number;
  readonly condition: LineCondition;
}

/** A queue of peer frames delivered one at a time by a timer. */
abstract class FrameQueueWire implements PeerWire {
  protected readonly frames: PeerFrame[] = [];
  protected head = 0;
  protected timer: TimerHandle | null = null;

  constructor(
    protected readonly regs: RegisterFile,
    protected readonly rx: Receiver,
  ) {}

  send(
    bytes: ArrayLike<number>,
    at: number,
    tagOf: (i: number) => number,
    condition: LineCondition,
  ): void {
    for (let i = 0; i < bytes.length; i++) {
      this.frames.push({ byte: bytes[i]! & 0xff, tag: tagOf(i), at, condition });
    }
    this.pump();
  }

  get backlog(): number {
    return this.frames.length - this.head;
  }

  lineChanged(): void {
    this.pump();
  }

  fifoRoom(): void {}

  reset(): void {
    if (this.timer !== null) this.regs.host.cancel(this.timer);
    this.timer = null;
    this.frames.length = 0;
    this.head = 0;
  }

  /** Send the next queued frame if the line is free (one frame in flight at a time). */
  protected abstract pump(): void;

  /** The frame at the head has reached the receiver. */
  protected deliverHead(): PeerFrame {
    const frame = this.frames[this.head++]!;
    if (this.head > 1024 && this.head * 2 > this.frames.length) {
      this.frames.splice(0, this.head);
      this.head = 0;
    }
    return frame;
  }
}

/** A matched terminal on a timed line: frames at the UART's latched rate and format. */
export class TimedFrameWire extends FrameQueueWire {
  private lineFreeAt = 0;
  private readonly clock = new FractionalClock();

  constructor(
    regs: RegisterFile,
    rx: Receiver,
    private readonly instant: boolean,
    private readonly peerBaud: number,
  ) {
    super(regs, rx);
  }

  protected pump(): void {
    if (this.timer !== null || this.head >= this.frames.length) return;
    const frame = this.frames[this.head]!;
    const host = this.regs.host;
    const start = Math.max(host.now(), frame.at, this.lineFreeAt);
    if (start > this.lineFreeAt) this.clock.reset();
    const { sample, whole } = this.frameTimes();
    // Times are taken from one fractional clock so back-to-back frames do not drift.
    const frameNs = this.instant ? 0 : this.clock.step(whole);
    const sampleNs = this.instant ? 0 : Math.min(frameNs, fractionNs(sample));
    this.lineFreeAt = start + frameNs;
    this.timer = host.at(start + sampleNs, () => {
      this.timer = null;
      this.deliverHead();
      this.sampled(frame);
      this.pump();
    });
  }

  /** A frame's stop bit has been sampled: store it, or lose it (reference §6.2–§6.3). */
  private sampled(frame: PeerFrame): void {
    const regs = this.regs;
    if (!regs.receiverTakesLine || !divisorValid(regs.latched)) {
      // R2: receiver off, no baud clock, or external input ignored in loopback.
      regs.counters.rxWhileDisabled++;
      regs.host.trace(`${regs.name}.rx-lost`, { byte: frame.byte, tag: frame.tag });
      return;
    }
    this.rx.receive(frame.byte, frame.tag, frame.condition);
  }

  /** Duration of the peer's frame and of its start-edge-to-stop-sample interval. */
  private frameTimes(): { whole: DurationFraction; sample: DurationFraction } {
    const regs = this.regs;
    let divisor = regs.latched;
    let bits = frameBits(regs.format);
    if (!divisorValid(divisor)) {
      const exact64 = Math.max(64, Math.round((regs.uartClockHz * 4) / this.peerBaud));
      divisor = { ibrd: Math.floor(exact64 / 64), fbrd: exact64 % 64 };
      bits = 10;
    }
    return {
      whole: bitPeriods(bits, divisor, regs.uartClockHz),
      // The stop bit is sampled mid-cell: (bits − ½) bit periods after the start edge.
      sample: bitPeriods(bits - 0.5, divisor, regs.uartClockHz),
    };
  }
}

/**
 * QEMU's chardev (reference §8): no line timing, and input is offered only while the FIFO
 * has room, so nothing overruns; excess input waits on the host side.
 */
export class HeldBackWire extends FrameQueueWire {
  protected pump(): void {
    if (this.timer !== null || this.head >= this.frames.length) return;
    const frame = this.frames[this.head]!;
    const host = this.regs.host;
    if (this.rx.fifo.length >= this.regs.activeDepth) return;
    this.timer = host.at(Math.max(host.now(), frame.at), () => {
      this.timer = null;
      if (this.rx.fifo.length >= this.regs.activeDepth) return; // still full: keep holding it back
      this.deliverHead();
      this.rx.receive(frame.byte, frame.tag, frame.condition);
      this.pump();
    });
  }

  override fifoRoom(): void {
    if (this.backlog > 0) this.pump();
  }
}
