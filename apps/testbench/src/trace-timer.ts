/**
 * A one-shot compare timer: the clock a trace-replaying client paces itself with. vmmux's
 * own model device (no real part), shaped like the ARM generic timer's virtual timer
 * (CNTV_CVAL / CNTV_CTL): a 64-bit compare value in virtual nanoseconds, an enable bit, and
 * a level interrupt that is asserted while enabled and `now >= compare`. Writing the
 * compare value or the control register re-evaluates the line, which is how the client
 * clears it before acknowledging the IRQ.
 */
import type { AccessWidth, DeviceHost, MmioDevice, TimerHandle } from "@vmmux/microkit-pd";

/** Register offsets (32-bit accesses). */
export const TimerReg = {
  /** Compare value, low and high halves, in ns of virtual time. */
  CVAL_LO: 0x00,
  CVAL_HI: 0x04,
  /** Bit 0 ENABLE (rw), bit 2 ISTATUS (ro: condition met). */
  CTL: 0x08,
  /** Current virtual time in ns; reading NOW_LO latches NOW_HI. */
  NOW_LO: 0x10,
  NOW_HI: 0x14,
} as const;

export const TIMER_CTL_ENABLE = 1 << 0;
export const TIMER_CTL_ISTATUS = 1 << 2;

const TWO_32 = 2 ** 32;

export class TraceTimer implements MmioDevice {
  private compare = 0;
  private enabled = false;
  private pending: TimerHandle | null = null;
  private latchedHigh = 0;
  /** Accesses outside the register set, counted rather than thrown (guest-reachable). */
  badAccesses = 0;

  constructor(
    private readonly host: DeviceHost,
    private readonly irq: number,
  ) {}

  read(offset: number, width: AccessWidth): number {
    if (width !== 4) {
      this.badAccesses++;
      return 0;
    }
    switch (offset) {
      case TimerReg.CVAL_LO:
        return this.compare % TWO_32;
      case TimerReg.CVAL_HI:
        return Math.floor(this.compare / TWO_32);
      case TimerReg.CTL:
        return (
          (this.enabled ? TIMER_CTL_ENABLE : 0) |
          (this.host.now() >= this.compare ? TIMER_CTL_ISTATUS : 0)
        );
      case TimerReg.NOW_LO: {
        const now = this.host.now();
        this.latchedHigh = Math.floor(now / TWO_32);
        return now % TWO_32;
      }
      case TimerReg.NOW_HI:
        return this.latchedHigh;
      default:
        this.badAccesses++;
        return 0;
    }
  }

  write(offset: number, width: AccessWidth, value: number): void {
    if (width !== 4) {
      this.badAccesses++;
      return;
    }
    switch (offset) {
      case TimerReg.CVAL_LO:
        this.compare = Math.floor(this.compare / TWO_32) * TWO_32 + (value >>> 0);
        break;
      case TimerReg.CVAL_HI:
        this.compare = (value >>> 0) * TWO_32 + (this.compare % TWO_32);
        break;
      case TimerReg.CTL:
        this.enabled = (value & TIMER_CTL_ENABLE) !== 0;
        break;
      default:
        this.badAccesses++;
        return;
    }
    this.update();
  }

  private update(): void {
    if (this.pending !== null) {
      this.host.cancel(this.pending);
      this.pending = null;
    }
    const now = this.host.now();
    const fire = this.enabled && now >= this.compare;
    this.host.setIrqLevel(this.irq, fire);
    if (this.enabled && !fire) {
      this.pending = this.host.at(this.compare, () => {
        this.pending = null;
        this.host.setIrqLevel(this.irq, this.enabled);
      });
    }
  }
}
