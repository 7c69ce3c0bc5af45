/**
 * The receive path (pl011 reference §3.1–§3.2, §6.2–§6.3, §7): the RX FIFO with provenance
 * tags, DR reads with their RSR and RIS side effects, overrun, the error flags a line
 * condition sets, and the receive timeout. It updates the register file; the variant's
 * rules come from the {@link RxRules} policy, and it calls the wire back when a read makes
 * room (QEMU's back-pressure).
 */
import type { TimerHandle } from "@vmmux/microkit-pd";
import type { LineCondition } from "./device-types.js";
import type { TaggedFifo } from "./fifo.js";
import type { RegisterFile } from "./regfile.js";
import { Dr, Int, LcrH, Reg, Rsr } from "./registers.js";

/** Where the variants' receivers differ (the `hardware` and `qemu` policies implement it). */
export interface RxRules {
  /** RIS bits a store raises when it takes the FIFO from `before` entries to one more. */
  raisedOnStore(before: number, regs: RegisterFile): number;
  /** RIS bits a DR read clears when it leaves `remaining` entries. */
  clearedByRead(remaining: number, regs: RegisterFile): number;
  /** RSR after a DR read of an entry whose error flags are `status` (bits 11:8 shifted down). */
  rsrAfterRead(rsr: number, status: number): number;
  /** DR error bits a line condition sets on the stored character (break is handled apart). */
  errorBits(condition: LineCondition, regs: RegisterFile): number;
  /** Whether the receiver runs the 32-bit-period timeout (RT). */
  readonly receiveTimeout: boolean;
}

export class Receiver {
  /** OE travels with the next stored character (reference §3.1 modelling choice). */
  private overrunPending = false;
  private lastRead = 0;
  private lastReadTag = 0;
  private rtTimer: TimerHandle | null = null;
  private rtDeadline = 0;

  constructor(
    private readonly regs: RegisterFile,
    private readonly rules: RxRules,
    readonly fifo: TaggedFifo,
    private readonly instant: boolean,
    /** Called after a read popped an entry: the FIFO has room again. */
    private readonly onRoom: () => void,
  ) {}

  /** Provenance tag of the last DR read. */
  get readTag(): number {
    return this.lastReadTag;
  }

  /** DR read pops the oldest RX entry (reference §3.1, §6.2). */
  readDr(): number {
    const regs = this.regs;
    if (this.fifo.length === 0) {
      regs.diagnose("read-empty-rx-fifo", Reg.DR, "read of UARTDR with the RX FIFO empty");
      this.lastReadTag = 0;
      // TRM: undefined. Both behaviours return the stale slot (QEMU does; a real FIFO's
      // output register holds the last entry).
      return this.lastRead;
    }
    const value = this.fifo.peekValue();
    this.lastReadTag = this.fifo.peekTag();
    this.fifo.drop();
    this.lastRead = value;
    regs.rsr = this.rules.rsrAfterRead(regs.rsr, (value >>> 8) & 0xf);
    regs.ris &= ~this.rules.clearedByRead(this.fifo.length, regs);
    regs.updateIrq();
    this.onRoom();
    return value;
  }

  /** A character arrived with the UART's own settings: mask to the word length, flag errors. */
  receive(byte: number, tag: number, condition: LineCondition): void {
    const regs = this.regs;
    let entry = byte & ((1 << regs.format.dataBits) - 1);
    if (condition === "break") entry = Dr.BE;
    else entry |= this.rules.errorBits(condition, regs);
    this.storeEntry(entry, tag);
  }

  /** Put a received 12-bit entry into the RX FIFO, or lose it to overrun (§6.3). */
  storeEntry(value: number, tag: number): void {
    const regs = this.regs;
    const counters = regs.counters;
    counters.rxFrames++;
    if (this.rules.receiveTimeout) this.restartReceiveTimeout();
    const before = this.fifo.length;
    const entry = this.overrunPending ? value | Dr.OE : value;
    if (!this.fifo.push(entry, tag, regs.activeDepth)) {
      // R1: the incoming character is lost; FIFO contents stay valid (reference §6.3).
      counters.rxOverrun++;
      regs.rsr |= Rsr.OE;
      regs.ris |= Int.OE;
      this.overrunPending = true;
      regs.host.trace(`${regs.name}.rx-overrun`, { byte: value & Dr.DATA, tag });
      regs.updateIrq();
      return;
    }
    this.overrunPending = false;
    counters.rxStored++;
    if (entry & Dr.FE) {
      counters.rxFramingErrors++;
      regs.ris |= Int.FE;
    }
    if (entry & Dr.PE) {
      counters.rxParityErrors++;
      regs.ris |= Int.PE;
    }
    if (entry & Dr.BE) {
      counters.rxBreaks++;
      regs.ris |= Int.BE;
    }
    regs.ris |= this.rules.raisedOnStore(before, regs);
    regs.updateIrq();
  }

  /** Discard every unread entry (QEMU's FIFO reset on an FEN toggle, reference §8): R2. */
  flushAll(): void {
    this.regs.counters.rxFlushed += this.fifo.length;
    this.fifo.clear();
  }

  /** RT: 32 bit periods without a new character while data wait (reference §7). */
  private restartReceiveTimeout(): void {
    const regs = this.regs;
    const timeout = this.instant ? 0 : regs.rxTimeoutNs;
    this.rtDeadline = regs.host.now() + timeout;
    // One timer at a time: when it fires early (the deadline moved), it re-arms itself.
    if (this.rtTimer === null) this.armReceiveTimeout();
  }

  private armReceiveTimeout(): void {
    const host = this.regs.host;
    this.rtTimer = host.at(this.rtDeadline, () => {
      this.rtTimer = null;
      if (host.now() < this.rtDeadline) {
        this.armReceiveTimeout();
        return;
      }
      if (this.fifo.length > 0) {
        this.regs.ris |= Int.RT;
        this.regs.updateIrq();
      }
    });
  }

  /** Back to reset: timer cancelled, FIFO empty, no overrun pending. */
  reset(): void {
    if (this.rtTimer !== null) this.regs.host.cancel(this.rtTimer);
    this.rtTimer = null;
    this.fifo.clear();
    this.overrunPending = false;
  }
}

/** Whether the receiver checks parity (LCR_H.PEN), so an injected parity error shows. */
export function parityChecked(regs: RegisterFile): boolean {
  return (regs.lcrH & LcrH.PEN) !== 0;
}
