/**
 * Paces virtual time to the wall clock (DESIGN.md "Time": live mode's pacing is the only
 * place that reads the wall clock; it is read by the caller and passed in here, so this
 * stays a pure function of its inputs).
 *
 * Virtual time should be `start + (wall − wallStart) × speed`. When the model cannot keep
 * up, the pacer lets virtual time fall behind by at most `maxLagNs` and gives up the rest
 * (`slippedNs`), so a key typed now still arrives close to "now" instead of queuing behind a
 * growing debt of simulation.
 */
export interface PacerOptions {
  /** Virtual seconds per wall second (> 0). */
  readonly speed: number;
  /** Largest backlog of virtual time kept when the model runs slower than asked, ns. */
  readonly maxLagNs: number;
  readonly wallStartMs: number;
  readonly virtualStartNs: number;
}

export class Pacer {
  readonly speed: number;
  readonly maxLagNs: number;
  private wallStartMs: number;
  private virtualStartNs: number;
  private slipped = 0;

  constructor(options: PacerOptions) {
    if (!(options.speed > 0) || !Number.isFinite(options.speed)) {
      throw new RangeError(`pacer speed ${options.speed} is not a positive number`);
    }
    this.speed = options.speed;
    this.maxLagNs = options.maxLagNs;
    this.wallStartMs = options.wallStartMs;
    this.virtualStartNs = options.virtualStartNs;
  }

  /** The virtual time (integer ns) the model should have reached at `wallMs`. */
  target(wallMs: number): number {
    const elapsed = Math.max(0, wallMs - this.wallStartMs);
    return Math.floor(this.virtualStartNs + elapsed * 1e6 * this.speed);
  }

  /** After a turn of simulation: give up any backlog beyond `maxLagNs`. */
  settle(virtualNowNs: number, wallMs: number): void {
    const lag = this.target(wallMs) - virtualNowNs;
    if (lag > this.maxLagNs) {
      const excess = lag - this.maxLagNs;
      this.virtualStartNs -= excess;
      this.slipped += excess;
    }
  }

  /** Virtual ns given up because the model ran slower than `speed`. */
  get slippedNs(): number {
    return this.slipped;
  }
}
