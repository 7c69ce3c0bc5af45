/**
 * A canonical-mode tty line discipline, the part of Linux's `n_tty` a console user sees
 * (termios defaults `ICRNL ECHO ECHOE ECHOK ECHOKE ICANON OPOST ONLCR`): `\r` becomes `\n`
 * on input, erase (DEL or BS) and kill (^U) edit the pending line and are echoed as
 * `\b \b`, a newline completes the line, and on output `\n` becomes `\r\n`.
 */

export const ERASE = 0x7f;
export const BACKSPACE = 0x08;
export const KILL = 0x15;
const CR = 0x0d;
const LF = 0x0a;
const RUBOUT = [BACKSPACE, 0x20, BACKSPACE];
/** N_TTY_BUF_SIZE: a canonical line holds at most 4095 bytes plus the newline. */
export const MAX_CANON = 4095;

export interface TtyOptions {
  readonly echo?: boolean;
  /**
   * Whether a process has the tty open from the start (default true). A tty opened later
   * ({@link Tty.open}) throws away what was typed before: a login program flushes pending
   * input when it takes the terminal (`tcflush(TCIFLUSH)`), and a fresh line discipline starts
   * with empty buffers, so keys typed before the prompt never reach it.
   */
  readonly open?: boolean;
}

export class Tty {
  protected readonly pending: number[] = [];
  private readonly completed: string[] = [];
  /** Bytes of each completed line, its newline included. */
  private readonly completedBytes: number[] = [];
  private readonly echo: boolean;
  private readonly decoder = new TextDecoder();
  private opened: boolean;
  /** Input bytes thrown away because they arrived before the tty was opened (flush on open). */
  flushedOnOpen = 0;

  constructor(options: TtyOptions = {}) {
    this.echo = options.echo ?? true;
    this.opened = options.open ?? true;
  }

  /** Whether a process has the tty open. */
  get isOpen(): boolean {
    return this.opened;
  }

  /**
   * A process opens the tty: input received before, and anything still pending, is flushed
   * (counted in {@link flushedOnOpen}). Opening an open tty changes nothing.
   */
  open(): void {
    if (this.opened) return;
    this.opened = true;
    this.completed.length = 0;
    for (const n of this.completedBytes.splice(0)) this.flushedOnOpen += n;
    this.flushedOnOpen += this.pending.length;
    this.pending.length = 0;
  }

  /** The line typed so far (not yet completed). */
  get line(): string {
    return this.decoder.decode(Uint8Array.from(this.pending));
  }

  /** Feed received bytes; returns what the tty echoes, before output processing. */
  input(bytes: Uint8Array): number[] {
    const echo: number[] = [];
    if (!this.opened) {
      // Nobody reads the tty yet: the bytes go when it opens (see `open`).
      this.flushedOnOpen += bytes.length;
      return echo;
    }
    for (const raw of bytes) {
      const c = raw === CR ? LF : raw;
      if (c === LF) {
        this.completed.push(this.line);
        this.completedBytes.push(this.pending.length + 1);
        this.pending.length = 0;
        echo.push(LF);
      } else if (c === ERASE || c === BACKSPACE) {
        if (this.mayErase()) {
          this.pending.pop();
          echo.push(...RUBOUT);
        }
      } else if (c === KILL) {
        for (let i = this.pending.length; i > 0; i--) echo.push(...RUBOUT);
        this.pending.length = 0;
      } else if (this.pending.length < MAX_CANON) {
        this.pending.push(c);
        echo.push(c);
      }
    }
    return this.echo ? echo : [];
  }

  /** Erase only within the pending line: the prompt before it is not the tty's to rub out. */
  protected mayErase(): boolean {
    return this.pending.length > 0;
  }

  /** The oldest completed line, if any (a canonical `read`). */
  readLine(): string | undefined {
    this.completedBytes.shift();
    return this.completed.shift();
  }

  get linesWaiting(): number {
    return this.completed.length;
  }
}

/** OPOST + ONLCR: `\n` → `\r\n`. */
export function onlcrBytes(bytes: Iterable<number>): number[] {
  const out: number[] = [];
  for (const c of bytes) {
    if (c === LF) out.push(CR);
    out.push(c);
  }
  return out;
}
